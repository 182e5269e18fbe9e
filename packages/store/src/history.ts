import { computed, signal } from '@preact/signals-core'
import type { History, HistoryOptions, Store } from './types.ts'

/**
 * Records the values of a store for undo (fritz2's `history`). `entries` starts with
 * the current value and grows with every change; a value equal to the newest entry is
 * not pushed, and past `capacity` the oldest entries drop out.
 *
 * @param store - The store to record.
 * @param options - `capacity` (default unlimited) and `equals` (default `Object.is`).
 * @returns The history; `dispose()` stops recording.
 * @example
 * const h = history(editor, { capacity: 50 })
 * const undo = () => { if (h.available.value) editor.update(h.back()) }
 */
export function history<T>(store: Store<T>, options: HistoryOptions<T> = {}): History<T> {
  const capacity = options.capacity ?? Number.POSITIVE_INFINITY
  if (!(capacity === Number.POSITIVE_INFINITY || (Number.isInteger(capacity) && capacity >= 1)))
    throw new RangeError(
      `history: capacity must be a positive integer (or omitted), got ${String(options.capacity)}`,
    )
  const equals = options.equals ?? Object.is
  if (typeof equals !== 'function')
    throw new TypeError('history: equals must be a function (a, b) => boolean')

  const entries = signal<readonly T[]>([store.current])
  let first = true
  const dispose = store.data.subscribe(value => {
    if (first) {
      first = false
      return
    }
    const list = entries.peek()
    if (list.length > 0 && equals(list[list.length - 1]!, value)) return
    const next = [...list, value]
    entries.value = next.length > capacity ? next.slice(next.length - capacity) : next
  })

  return {
    entries,
    available: computed(() => entries.value.length > 1),
    back() {
      const list = entries.peek()
      if (list.length <= 1) return list[0]!
      const next = list.slice(0, -1)
      entries.value = next
      return next[next.length - 1]!
    },
    clear() {
      const list = entries.peek()
      if (list.length > 1) entries.value = list.slice(-1)
    },
    dispose,
  }
}
