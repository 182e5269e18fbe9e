import { computed, type ReadonlySignal, signal } from '@preact/signals-core'
import { _toLens } from './Lens.ts'
import type { Inspector, LensLike, Message, Store, Validation, ValidationRule } from './types.ts'

class PathInspector<T> implements Inspector<T> {
  constructor(
    readonly data: T,
    readonly path: string,
  ) {}

  map<C>(lens: LensLike<T, C>): Inspector<C> {
    const resolved = _toLens(lens, 'inspector.map(lens)')
    return new PathInspector(
      resolved.get(this.data),
      resolved.id === '' ? this.path : `${this.path}.${resolved.id}`,
    )
  }
}

function covers(prefix: string, path: string): boolean {
  return (
    prefix === '' || path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 46)
  )
}

/**
 * Validates every change of a store with a rule (fritz2's `validation`). Messages
 * carry the `path` of the field they are about, as in `subStore.path`; build them
 * with the inspector (`inspector.map(L.name).path` is `'.name'`). The initial value
 * is not validated; call `check()` to validate the current value now.
 *
 * @param store - The store to validate (paths are relative to its root).
 * @param rule - The messages for a value.
 * @returns The messages and their filters; `dispose()` stops validating.
 * @example
 * const v = validate(person, (p, i) => p.name === '' ? [{ path: i.map(L.name).path, text: 'Name is required' }] : [])
 * v.messagesFor(person.map(L.name)).value
 */
export function validate<T, M extends Message = Message>(
  store: Store<T>,
  rule: ValidationRule<T, M>,
): Validation<M> {
  if (typeof rule !== 'function')
    throw new TypeError('validate(store, rule): rule must be a function (value, inspector) => messages')
  const messages = signal<readonly M[]>([])
  const check = (value: T): readonly M[] => {
    const found = rule(value, new PathInspector(value, store.path))
    messages.value = found
    return found
  }
  let first = true
  const dispose = store.data.subscribe(value => {
    if (first) {
      first = false
      return
    }
    check(value)
  })
  return {
    messages,
    valid: computed(() => messages.value.length === 0),
    messagesFor(target): ReadonlySignal<readonly M[]> {
      const prefix = typeof target === 'string' ? target : target.path
      return computed(() => messages.value.filter(message => covers(prefix, message.path)))
    },
    check: () => check(store.current),
    dispose,
  }
}
