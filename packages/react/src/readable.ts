import { effect, type ReadonlySignal, type Store, untracked } from '@lensync/store'
import type { Readable } from './types.ts'

function isStore<T>(source: Readable<T>): source is Store<T> {
  return typeof (source as Store<T>).update === 'function' && 'data' in source
}

function isSignal<T>(source: Readable<T>): source is ReadonlySignal<T> {
  return typeof (source as ReadonlySignal<T>).peek === 'function' && 'value' in source
}

/**
 * The signal behind a {@link Readable}: a store's `data`, or the signal itself.
 *
 * @throws TypeError when `source` is neither.
 * @internal
 */
export function signalOf<T>(source: Readable<T>): ReadonlySignal<T> {
  if (source !== null && typeof source === 'object') {
    if (isStore(source)) return source.data
    if (isSignal(source)) return source
  }
  throw new TypeError(
    `useValue/useStore take a store (storeOf(...), store.map(L.name)) or a signal (sync.status), got ${String(source)}`,
  )
}

/**
 * Calls `onChange` after every change of `signal` (not for its current value);
 * returns the disposer. The shape `useSyncExternalStore` wants for `subscribe`.
 *
 * @internal
 */
export function subscribeTo<T>(signal: ReadonlySignal<T>, onChange: () => void): () => void {
  let first = true
  return effect(() => {
    try {
      signal.value
    } catch {
      // A sub-store whose part is gone throws when read. The component's next
      // render reads it again and throws there, where an error boundary sees
      // it; thrown here it would go to whoever wrote the store.
    }
    if (first) {
      first = false
      return
    }
    // React reads the snapshot in here; those reads must not become
    // dependencies of this effect.
    untracked(onChange)
  })
}
