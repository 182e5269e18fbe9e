import type { Stream, StreamController, StreamOptions } from './types.ts'

type Subscribe<T> = (next: (value: T) => void, onEnd: () => void) => () => void

interface Subscription<T> {
  readonly next: (value: T) => void
  readonly onEnd: () => void
  active: boolean
}

const DEFAULT_BUFFER = 1024
const noop = (): void => {}
const reportToConsole = (error: unknown): void => console.error(error)

/**
 * A stream over a subscribe function; `map`/`filter` make lazy derived streams.
 *
 * @internal
 */
export class _Stream<T> implements Stream<T> {
  constructor(
    private readonly _subscribe: Subscribe<T>,
    private readonly _bufferSize: number,
  ) {}

  subscribe(next: (value: T) => void, onEnd?: () => void): () => void {
    return this._subscribe(next, onEnd ?? noop)
  }

  map<U>(fn: (value: T) => U): Stream<U> {
    return new _Stream<U>((next, onEnd) => this._subscribe(value => next(fn(value)), onEnd), this._bufferSize)
  }

  filter<S extends T>(predicate: (value: T) => value is S): Stream<S>
  filter(predicate: (value: T) => boolean): Stream<T>
  filter(predicate: (value: T) => boolean): Stream<T> {
    return new _Stream<T>(
      (next, onEnd) =>
        this._subscribe(value => {
          if (predicate(value)) next(value)
        }, onEnd),
      this._bufferSize,
    )
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return iterate(this, this._bufferSize)
  }
}

function iterate<T>(stream: _Stream<T>, bufferSize: number): AsyncIterableIterator<T> {
  const buffer: T[] = []
  const waiting: ((result: IteratorResult<T>) => void)[] = []
  let done = false
  const finish = (): void => {
    done = true
    for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true })
  }
  // Subscribing now, not on the first `next()`, so nothing emitted in between is lost.
  const unsubscribe = stream.subscribe(value => {
    const resolve = waiting.shift()
    if (resolve !== undefined) return resolve({ value, done: false })
    buffer.push(value)
    // A consumer that never catches up must not grow memory without limit.
    if (buffer.length > bufferSize) buffer.shift()
  }, finish)
  const iterator: AsyncIterableIterator<T> = {
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false })
      if (done) return Promise.resolve({ value: undefined, done: true })
      return new Promise(resolve => waiting.push(resolve))
    },
    return() {
      unsubscribe()
      buffer.length = 0
      finish()
      return Promise.resolve({ value: undefined, done: true })
    },
    [Symbol.asyncIterator]() {
      return iterator
    },
  }
  return iterator
}

/**
 * The subscriber list behind {@link createStream}: copy-on-write, so `emit` walks a
 * stable array and costs one length check when nobody listens.
 */
class Hub<T> {
  subscriptions: readonly Subscription<T>[] = []
  ended = false

  constructor(private readonly _onError: (error: unknown) => void) {}

  subscribe: Subscribe<T> = (next, onEnd) => {
    if (this.ended) {
      onEnd()
      return noop
    }
    const subscription: Subscription<T> = { next, onEnd, active: true }
    this.subscriptions = [...this.subscriptions, subscription]
    return () => {
      if (!subscription.active) return
      subscription.active = false
      this.subscriptions = this.subscriptions.filter(s => s !== subscription)
    }
  }

  emit = (value: T): void => {
    const subscriptions = this.subscriptions
    if (subscriptions.length === 0) return
    for (let i = 0; i < subscriptions.length; i++) {
      const subscription = subscriptions[i]!
      if (!subscription.active) continue
      try {
        subscription.next(value)
      } catch (error) {
        this._onError(error)
      }
    }
  }

  end = (): void => {
    if (this.ended) return
    this.ended = true
    const subscriptions = this.subscriptions
    this.subscriptions = []
    for (const subscription of subscriptions) {
      if (!subscription.active) continue
      subscription.active = false
      try {
        subscription.onEnd()
      } catch (error) {
        this._onError(error)
      }
    }
  }
}

/**
 * Creates a push stream of events and the functions that drive it.
 *
 * @param options - `bufferSize` (default 1024): how far a `for await` loop may fall
 *   behind before the oldest events are dropped; `onError` (default `console.error`):
 *   receives errors thrown by subscribers (the others still get the event).
 * @returns `{ stream, emit, end }`.
 * @example
 * const { stream, emit, end } = createStream<string>()
 * const off = stream.map(s => s.toUpperCase()).subscribe(console.log)
 * emit('hi')   // logs 'HI'
 * off(); end()
 */
export function createStream<T>(options: StreamOptions = {}): StreamController<T> {
  const bufferSize = options.bufferSize ?? DEFAULT_BUFFER
  if (!Number.isInteger(bufferSize) || bufferSize < 1)
    throw new RangeError(
      `createStream: bufferSize must be a positive integer, got ${String(options.bufferSize)}`,
    )
  const onError = options.onError ?? reportToConsole
  if (typeof onError !== 'function') throw new TypeError('createStream: onError must be a function')
  const hub = new Hub<T>(onError)
  return { stream: new _Stream(hub.subscribe, bufferSize), emit: hub.emit, end: hub.end }
}
