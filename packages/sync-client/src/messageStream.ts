import type { Stream } from '@lensync/store'
import { toArrayBuffer, toBlob, toText } from './convert.ts'
import type { MessageStream } from './types.ts'

/** Where a producer delivers events. @internal */
export interface Sink<T> {
  next(value: T): void
  end(): void
}

/** Starts delivering to `sink`; returns what stops it. @internal */
export type Producer<T> = (sink: Sink<T>) => () => void

const reportError = (error: unknown): void => console.error(error)

/**
 * A cold stream: `produce` runs for each subscriber, so nothing is consumed
 * before someone subscribes. The session's `messages` need that (they are kept
 * for the first subscriber, including one that subscribes through `map` or
 * `body()`), which `createStream` from `@lensync/store` — hot by design — cannot
 * express. Same contract as the store's `Stream`.
 *
 * @internal
 */
export class _LazyStream<T> implements Stream<T> {
  /** @param _produce - Starts delivering to one subscriber. */
  constructor(private readonly _produce: Producer<T>) {}

  subscribe(next: (value: T) => void, onEnd?: () => void): () => void {
    let active = true
    let stop: (() => void) | undefined
    const sink: Sink<T> = {
      next: value => {
        if (!active) return
        // A throwing subscriber must not break the session's event handling.
        try {
          next(value)
        } catch (error) {
          reportError(error)
        }
      },
      end: () => {
        if (!active) return
        active = false
        stop?.()
        onEnd?.()
      },
    }
    stop = this._produce(sink)
    // The producer may end the stream while starting (a session already closed).
    if (!active) stop()
    return () => {
      if (!active) return
      active = false
      stop?.()
    }
  }

  map<U>(fn: (value: T) => U): Stream<U> {
    return new _LazyStream<U>(sink => this.subscribe(value => sink.next(fn(value)), sink.end))
  }

  filter<S extends T>(predicate: (value: T) => value is S): Stream<S>
  filter(predicate: (value: T) => boolean): Stream<T>
  filter(predicate: (value: T) => boolean): Stream<T> {
    return new _LazyStream<T>(sink =>
      this.subscribe(value => {
        if (predicate(value)) sink.next(value)
      }, sink.end),
    )
  }

  /** Iterates the events; the loop ends when the stream ends. Events wait (unbounded) until the loop takes them. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    const queue: T[] = []
    const waiting: ((result: IteratorResult<T>) => void)[] = []
    let ended = false
    const finish = (): void => {
      ended = true
      for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true })
    }
    // Subscribing at once (not on the first `next()`) so nothing is missed in between.
    const unsubscribe = this.subscribe(value => {
      const resolve = waiting.shift()
      if (resolve) resolve({ value, done: false })
      else queue.push(value)
    }, finish)
    const iterator: AsyncIterableIterator<T> = {
      next: () => {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift() as T, done: false })
        if (ended) return Promise.resolve({ value: undefined, done: true })
        return new Promise(resolve => waiting.push(resolve))
      },
      return: () => {
        unsubscribe()
        queue.length = 0
        finish()
        return Promise.resolve({ value: undefined, done: true })
      },
      [Symbol.asyncIterator]: () => iterator,
    }
    return iterator
  }
}

/**
 * Maps a stream through a conversion that may be asynchronous, keeping the
 * order: a result waits for the results of earlier events.
 */
function convertInOrder<T, U>(source: Stream<T>, convert: (value: T) => U | Promise<U>): Stream<U> {
  return new _LazyStream<U>(sink => {
    let tail: Promise<void> | undefined
    let stopped = false
    const stop = source.subscribe(
      value => {
        let result: U | Promise<U>
        try {
          result = convert(value)
        } catch (error) {
          reportError(error)
          return
        }
        if (tail === undefined && !(result instanceof Promise)) {
          sink.next(result)
          return
        }
        const current: Promise<void> = (tail ?? Promise.resolve())
          .then(() => result)
          .then(converted => {
            if (!stopped) sink.next(converted)
          }, reportError)
          .then(() => {
            if (tail === current) tail = undefined
          })
        tail = current
      },
      () => {
        if (tail === undefined) sink.end()
        else void tail.then(() => sink.end())
      },
    )
    return () => {
      stopped = true
      stop()
    }
  })
}

/** The session's `messages`: a lazy stream of MessageEvents with converting views. @internal */
export class _MessageStream extends _LazyStream<MessageEvent> implements MessageStream {
  body(): Stream<string> {
    return convertInOrder(this, event => toText(event.data))
  }

  data(): Stream<unknown> {
    return this.map(event => event.data as unknown)
  }

  blob(): Stream<Blob> {
    return convertInOrder(this, event => toBlob(event.data))
  }

  arrayBuffer(): Stream<ArrayBuffer> {
    return convertInOrder(this, event => toArrayBuffer(event.data))
  }
}

/**
 * Fans incoming messages out to the subscribers of `messages`. Until the
 * first subscriber comes, messages are kept (at most `maxBuffer`, the oldest
 * dropped) and handed to it; after that, a message with no subscriber is gone,
 * as with any event.
 *
 * @internal
 */
export class _MessageHub {
  readonly stream: _MessageStream
  private readonly _sinks = new Set<Sink<MessageEvent>>()
  private _buffer: MessageEvent[] | undefined = []
  private _ended = false

  /** @param _maxBuffer - Most messages kept for the first subscriber. */
  constructor(private readonly _maxBuffer: number) {
    this.stream = new _MessageStream(sink => this._attach(sink))
  }

  /** Delivers a message (or keeps it for the first subscriber). */
  emit(message: MessageEvent): void {
    if (this._ended) return
    if (this._buffer) {
      this._buffer.push(message)
      if (this._buffer.length > this._maxBuffer) this._buffer.shift()
      return
    }
    // One subscriber (the sync connection) is the usual case: no copy of the set.
    const only = this._sinks.size === 1 ? this._sinks.values().next().value : undefined
    if (only) {
      only.next(message)
      return
    }
    for (const sink of [...this._sinks]) sink.next(message)
  }

  /** Ends every subscription; later subscribers get the kept messages (if nobody took them) and the end. */
  end(): void {
    if (this._ended) return
    this._ended = true
    const sinks = [...this._sinks]
    this._sinks.clear()
    for (const sink of sinks) sink.end()
  }

  private _attach(sink: Sink<MessageEvent>): () => void {
    const kept = this._buffer
    this._buffer = undefined
    if (kept) for (const message of kept) sink.next(message)
    if (this._ended) {
      sink.end()
      return () => {}
    }
    this._sinks.add(sink)
    return () => this._sinks.delete(sink)
  }
}
