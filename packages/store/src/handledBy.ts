import type { ReadonlySignal } from '@preact/signals-core'
import { Signal } from '@preact/signals-core'
import type { Handler, Source, Store } from './types.ts'

/** Options of {@link handledBy}. */
export interface HandledByOptions {
  /**
   * Receives what a plain-function handler throws and what an async iterable
   * rejects with. Default: the store's `onError` for a store handler (which
   * reports its own errors anyway), else `console.error`.
   */
  readonly onError?: (error: unknown) => void
}

function isSignal(source: unknown): source is ReadonlySignal<unknown> {
  return source instanceof Signal
}

function hasSubscribe(source: unknown): source is { subscribe(next: (value: unknown) => void): () => void } {
  return typeof (source as { subscribe?: unknown }).subscribe === 'function'
}

function isAsyncIterable(source: unknown): source is AsyncIterable<unknown> {
  return typeof (source as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
}

/**
 * Connects a source to a handler: every event of a {@link Stream}, every change of a
 * signal (not its current value) or every item of an async iterable is passed to the
 * handler. A handler that throws is reported and stays connected.
 *
 * @param source - A `Stream`, a `ReadonlySignal` or an `AsyncIterable`.
 * @param handler - A store handler or any function of the value.
 * @param options - `onError` for errors of plain-function handlers and of the iterable.
 * @returns A disposer that disconnects (and ends the iteration of an async iterable).
 * @example
 * const off = handledBy(input.events, person.map(L.name).update)
 * off()
 */
export function handledBy<T>(
  source: Source<T>,
  // One function type, not `Handler<T> | …`: a union of call signatures would lose the
  // contextual type of `n => …`, and every Handler<T> (a Handler<void> too) is such a function.
  handler: (value: T) => unknown,
  options: HandledByOptions = {},
): () => void {
  if (typeof handler !== 'function')
    throw new TypeError('handledBy(source, handler): handler must be a function')
  const store = (handler as Partial<Handler<T>>).store as Store<unknown> | undefined
  const report =
    options.onError ??
    ((error: unknown) => {
      console.error(error)
    })
  const call = (value: T): void => {
    try {
      const result = handler(value)
      // A store handler's promise never rejects; a plain async function's may.
      if (store === undefined && result instanceof Promise) result.catch(report)
    } catch (error) {
      report(error)
    }
  }

  if (isSignal(source)) {
    let first = true
    return source.subscribe(value => {
      if (first) {
        first = false
        return
      }
      call(value as T)
    })
  }
  if (hasSubscribe(source)) return source.subscribe(value => call(value as T))
  if (isAsyncIterable(source)) return pump(source as AsyncIterable<T>, call, report)
  throw new TypeError('handledBy(source, handler): source must be a Stream, a signal or an AsyncIterable')
}

function pump<T>(
  source: AsyncIterable<T>,
  call: (value: T) => void,
  report: (error: unknown) => void,
): () => void {
  const iterator = source[Symbol.asyncIterator]()
  let stopped = false
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const result = await iterator.next()
      if (stopped || result.done === true) return
      call(result.value)
    }
  }
  loop().catch(error => {
    if (!stopped) report(error)
  })
  return () => {
    if (stopped) return
    stopped = true
    iterator.return?.()?.catch(report)
  }
}
