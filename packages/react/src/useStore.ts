import type { Store } from '@lensync/store'
import type { StoreState } from './types.ts'
import { useValue } from './useValue.ts'

/**
 * A store's value and its setter, like `useState`: the value re-renders the
 * component only when this store (or this sub-store's slice) changes; the
 * setter is `store.update`, which writes through to the root store at once
 * (and from there to every sync of it). The setter keeps its identity across
 * renders, so it can be passed to memoized children.
 *
 * The setter takes the new value; for a change computed from the current value,
 * make a handler once (`store.handle(v => ...)`) outside the component.
 *
 * @param store - A root store or a sub-store (`person.map(L.name)`).
 * @returns `[value, set]`.
 * @throws TypeError when `store` is not a store (a signal has no setter: use {@link useValue}).
 * @example
 * const L = lenses<Person>()
 * function NameField({ person }: { person: Store<Person> }) {
 *   const [name, setName] = useStore(person.map(L.name)) // re-renders only when the name changes
 *   return <input value={name} onChange={e => setName(e.target.value)} />
 * }
 */
export function useStore<T>(store: Store<T>): StoreState<T> {
  if (typeof (store as Partial<Store<T>> | null)?.update !== 'function')
    throw new TypeError(
      `useStore takes a store (storeOf(...), store.map(L.name)); for a signal use useValue. Got ${String(store)}`,
    )
  const value = useValue(store)
  return [value, store.update]
}
