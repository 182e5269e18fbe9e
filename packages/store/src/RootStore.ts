import { type ReadonlySignal, type Signal, signal } from '@preact/signals-core'
import { _BaseStore } from './BaseStore.ts'
import { _HandlerQueue } from './HandlerQueue.ts'
import { SubStore } from './SubStore.ts'
import type { ErrorHandler, Lens, StoreOptions } from './types.ts'

let lastId = 0
const reportToConsole: ErrorHandler = error => console.error(error)

function resolveOptions(options: StoreOptions): { id: string; onError: ErrorHandler } {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('storeOf(initial, options): options must be an object such as { id: "person" }')
  const { id = `store-${++lastId}`, onError = reportToConsole } = options
  if (typeof id !== 'string') throw new TypeError(`storeOf: options.id must be a string, got ${typeof id}`)
  if (typeof onError !== 'function')
    throw new TypeError(
      `storeOf: options.onError must be a function (error, store) => void, got ${typeof onError}`,
    )
  return { id, onError }
}

/**
 * A store that holds its value in a signal (fritz2's `RootStore`). Handlers are
 * synchronous unless their function returns a promise; they run one at a time
 * through the store's queue, shared with its sub-stores. Errors never kill it:
 * they go to `onError` and the value stays.
 *
 * @example
 * const person = new RootStore(initial, { id: 'person' })
 * const birthday = person.handle(p => ({ ...p, age: p.age + 1 }))
 * birthday()
 */
export class RootStore<T> extends _BaseStore<T> {
  readonly id: string
  readonly path = ''
  /** The value as a signal; `update(x)` stores exactly `x` and notifies only when `x !== current`. */
  readonly data: ReadonlySignal<T>
  /** @internal */
  readonly _root: this = this
  /** @internal */
  readonly _rootLens = null
  /**
   * @internal The value, kept beside the signal: `current` and every
   * sub-store read it from here, because `signal.peek()` costs a closure and
   * a try/finally per call in signals-core 1.x (bench P3).
   */
  _value: T
  /** @internal */
  _version = 0
  private readonly _state: Signal<T>

  /**
   * @param initial - The first value.
   * @param options - `id` (default `'store-<n>'`) and `onError` (default `console.error`).
   */
  constructor(initial: T, options: StoreOptions = {}) {
    const { id, onError } = resolveOptions(options)
    super(new _HandlerQueue(onError))
    this.id = id
    this._value = initial
    this._state = signal(initial)
    this.data = this._state
  }

  /** The current value, read without tracking. */
  get current(): T {
    return this._value
  }

  /** @internal */
  _write(value: T): void {
    if (value === this._value) return
    this._value = value
    this._version++
    try {
      this._state.value = value
    } catch (error) {
      // The signal refused the value (a cycle) or an effect threw while reacting:
      // keep `current` equal to what the signal holds either way.
      this._value = this._state.peek()
      throw error
    }
  }

  protected _child<C>(lens: Lens<T, C>): SubStore<C> {
    return new SubStore<C>(this as unknown as _BaseStore<unknown>, lens as Lens<unknown, C>)
  }
}

/**
 * Creates a {@link RootStore}: `storeOf(initial, { id })` is `new RootStore(initial, { id })`.
 *
 * @param initial - The first value.
 * @param options - `id` (default `'store-<n>'`) and `onError` (default `console.error`).
 * @returns The store.
 * @example
 * const counter = storeOf(0, { id: 'counter' })
 * const add = counter.handle((n, by: number) => n + by)
 * add(41)
 */
export function storeOf<T>(initial: T, options: StoreOptions = {}): RootStore<T> {
  return new RootStore(initial, options)
}
