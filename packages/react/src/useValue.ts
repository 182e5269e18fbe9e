import { useCallback, useSyncExternalStore } from 'react'
import { signalOf, subscribeTo } from './readable.ts'
import type { Readable } from './types.ts'

/**
 * Reads a signal or a store in a component and re-renders it when — and only
 * when — that value changes (identity, as the signal notifies). A sub-store
 * (`person.map(L.name)`) notifies only when its own slice changes, so a
 * component reading `name` does not re-render when `age` changes.
 *
 * Built on `useSyncExternalStore`: no tearing under concurrent rendering, and
 * on the server (`renderToString`) it returns the current value.
 *
 * @param source - A `ReadonlySignal<T>` (`sync.status`, a `computed`) or a `Store<T>`.
 * @returns The current value.
 * @throws TypeError when `source` is neither a signal nor a store; a sub-store
 *   whose part is gone throws its `LensError` here, for an error boundary.
 * @example
 * function Indicator({ sync }: { sync: Sync }) {
 *   const status = useValue(sync.status)
 *   const pending = useValue(sync.pending)
 *   return <span className={status}>{status} · {pending} pending</span>
 * }
 */
export function useValue<T>(source: Readable<T>): T {
  const signal = signalOf(source)
  const subscribe = useCallback((onChange: () => void) => subscribeTo(signal, onChange), [signal])
  // `peek()` of a computed is its cached value: the same object until it changes,
  // as useSyncExternalStore requires of a snapshot.
  const read = useCallback(() => signal.peek(), [signal])
  return useSyncExternalStore(subscribe, read, read)
}
