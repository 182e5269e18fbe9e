import type { ReadonlySignal, Store } from '@lensync/store'

/**
 * Anything {@link useValue} can read: a signal (`sync.status`, a `computed`)
 * or a store, root or sub-store (its `data` signal is read).
 */
export type Readable<T> = ReadonlySignal<T> | Store<T>

/** The value and the setter {@link useStore} returns, like React's `useState`. */
export type StoreState<T> = readonly [value: T, set: Store<T>['update']]
