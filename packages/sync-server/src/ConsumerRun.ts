import type { _FrameConsumer } from './FrameQueue.ts'
import type { Frame } from './types.ts'

/** @internal Counts the runs it was handed: told once each one ended. */
export interface _RunCounter {
  /** A counted run ended. */
  _runEnded(): void
}

/**
 * @internal
 * A frame consumer that is a route handler's whole run (the sync route, fed
 * by `session._consume`): the handler returns it, and it ends once the
 * session closed and every frame was taken. The app counts such runs
 * instead of keeping a promise and its reactions for each connection; a
 * promise is made only when something awaits the run (a handler that wraps
 * the route's), so an idle connection holds none.
 */
export abstract class _ConsumerRun implements _FrameConsumer<Frame>, PromiseLike<void> {
  private _ended = false
  private _counter: _RunCounter | undefined = undefined
  private _promise: Promise<void> | undefined = undefined
  private _resolve: (() => void) | undefined = undefined

  abstract take(frame: Frame): Promise<void> | undefined

  /** The session closed and every frame was taken: what the run does last. */
  protected abstract _end(): void

  end(): void {
    try {
      this._end()
    } finally {
      this._ended = true
      this._resolve?.()
      this._counter?._runEnded()
    }
  }

  /**
   * Hands the run to `counter`, which is told when it ended.
   *
   * @returns `false` when it already ended (nothing will be told).
   */
  _countBy(counter: _RunCounter): boolean {
    if (this._ended) return false
    this._counter = counter
    return true
  }

  /** Resolves once the run ended (a promise made at the first call). */
  // biome-ignore lint/suspicious/noThenProperty: a handler's result is awaited, as the promise other handlers return.
  then<A = void, B = never>(
    onfulfilled?: ((value: void) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this._promise ??= this._ended
      ? Promise.resolve()
      : new Promise<void>(resolve => {
          this._resolve = resolve
        })
    return this._promise.then(onfulfilled, onrejected)
  }
}
