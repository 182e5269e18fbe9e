import type { ReadonlySignal } from '@preact/signals-core'
import { effect, Signal, untracked } from '@preact/signals-core'
import { _BaseStore } from './BaseStore.ts'
import type { Handler, Source } from './types.ts'

/** Options of {@link handledBy}. */
export interface HandledByOptions {
  /**
   * Receives what the source throws or rejects with (a throwing signal, a
   * rejecting async iterable) and what the handler throws. Default: the
   * handler's store's `onError` (called with the error and the store) when the
   * handler has a store, else `console.error`.
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
 * handler. A handler that throws, a signal whose computation throws and an async
 * iterable that rejects are reported (to the handler's store's `onError` by default)
 * and stay connected; an async iterable that rejected has ended, though.
 *
 * @param source - A `Stream`, a `ReadonlySignal` or an `AsyncIterable`.
 * @param handler - A store handler or any function of the value.
 * @param options - `onError`, to report somewhere else than the store's `onError`.
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
  const store = (handler as Partial<Handler<T>>).store
  const report = options.onError ?? reporterOf(store)
  const call = (value: T): void => {
    try {
      const result = handler(value)
      // A store handler's promise never rejects; a plain async function's may.
      if (store === undefined && result instanceof Promise) result.catch(report)
    } catch (error) {
      report(error)
    }
  }

  if (isSignal(source)) return watch(source as ReadonlySignal<T>, call, report)
  if (hasSubscribe(source)) return source.subscribe(value => call(value as T))
  if (isAsyncIterable(source)) return pump(source as AsyncIterable<T>, call, report)
  throw new TypeError('handledBy(source, handler): source must be a Stream, a signal or an AsyncIterable')
}

/** The store's own error reporting (its `onError`, guarded), or `console.error` without a store. */
function reporterOf(store: unknown): (error: unknown) => void {
  if (store instanceof _BaseStore) return error => store._queue.report(error, store)
  return error => console.error(error)
}

/**
 * `signal.subscribe`, minus the current value, and catching what reading the signal
 * throws: a `computed` that throws would otherwise throw out of whoever wrote its
 * source, and the handler's store would never hear of it.
 */
function watch<T>(
  source: ReadonlySignal<T>,
  call: (value: T) => void,
  report: (error: unknown) => void,
): () => void {
  let first = true
  return effect(() => {
    let value: T
    try {
      value = source.value
    } catch (error) {
      // Reported even at connect time: an error is never swallowed. The signal stays
      // tracked (a computed records its dependencies before it throws).
      first = false
      report(error)
      return
    }
    if (first) {
      first = false
      return
    }
    // The handler's reads must not become dependencies of this effect.
    untracked(() => call(value))
  })
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
