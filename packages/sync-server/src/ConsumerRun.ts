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
  /** Told when the run ended; `ENDED` once it did. */
  private _counter: _RunCounter | typeof ENDED | undefined = undefined
  /** What `then` waits for, made at its first call while the run goes on. */
  private _waited: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined = undefined

  abstract take(frame: Frame): Promise<void> | undefined

  /** The session closed and every frame was taken: what the run does last. */
  protected abstract _end(): void

  end(): void {
    try {
      this._end()
    } finally {
      const counter = this._counter
      this._counter = ENDED
      this._waited?.resolve()
      if (counter !== undefined && counter !== ENDED) counter._runEnded()
    }
  }

  /**
   * Hands the run to `counter`, which is told when it ended.
   *
   * @returns `false` when it already ended (nothing will be told).
   */
  _countBy(counter: _RunCounter): boolean {
    if (this._counter === ENDED) return false
    this._counter = counter
    return true
  }

  /** Resolves once the run ended (a promise made at the first call). */
  // biome-ignore lint/suspicious/noThenProperty: a handler's result is awaited, as the promise other handlers return.
  then<A = void, B = never>(
    onfulfilled?: ((value: void) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    if (this._counter === ENDED && this._waited === undefined)
      return Promise.resolve().then(onfulfilled, onrejected)
    if (this._waited === undefined) {
      let resolve = (): void => {}
      const promise = new Promise<void>(settle => {
        resolve = settle
      })
      this._waited = { promise, resolve }
    }
    return this._waited.promise.then(onfulfilled, onrejected)
  }
}

/** The counter of a run that ended. */
const ENDED: _RunCounter = Object.freeze({ _runEnded() {} })
