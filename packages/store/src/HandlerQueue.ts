import type { ErrorHandler, Store } from './types.ts'

/** @internal The handler function's result is the new value; a thenable makes it async. */
export const _HANDLE = 0
/** @internal The action is the new value, stored as is (never awaited). */
export const _UPDATE = 1
/** @internal The result is ignored (awaited when it is a thenable); the value stays. */
export const _ONLY_EMIT = 2

type Mode = typeof _HANDLE | typeof _UPDATE | typeof _ONLY_EMIT

/**
 * What the queue needs from a store.
 *
 * @internal
 */
export interface _Target {
  readonly current: unknown
  _write(value: unknown): void
}

/** @internal */
export type _HandlerFn = (
  value: unknown,
  action: unknown,
  emit: ((event: unknown) => void) | undefined,
) => unknown

interface Job {
  readonly target: _Target
  readonly fn: _HandlerFn | undefined
  readonly action: unknown
  readonly emit: ((event: unknown) => void) | undefined
  readonly mode: Mode
  readonly resolve: () => void
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/**
 * The one handler queue of a root store (shared by its sub-stores). A handler runs
 * at once when nothing is pending; while a handler function runs or an async one is
 * pending, later calls wait in order, so each sees the result of those called before.
 *
 * @internal
 */
export class _HandlerQueue {
  /** A handler function is running, or an async one has not settled. */
  busy = false
  private _jobs: (Job | undefined)[] = []
  private _head = 0

  constructor(private readonly _onError: ErrorHandler) {}

  /** Nothing running and nothing waiting: a call may apply at once. */
  get idle(): boolean {
    return !this.busy && this._head === this._jobs.length
  }

  run(
    target: _Target,
    fn: _HandlerFn | undefined,
    action: unknown,
    emit: ((event: unknown) => void) | undefined,
    mode: Mode,
  ): void | Promise<void> {
    if (!this.idle)
      return new Promise<void>(resolve => {
        this._jobs.push({ target, fn, action, emit, mode, resolve })
      })
    const pending = this._exec(target, fn, action, emit, mode)
    if (pending !== undefined) return pending
    // Handlers called from inside the handler function were queued behind it.
    this._drain()
  }

  report(error: unknown, target: _Target): void {
    try {
      this._onError(error, target as unknown as Store<unknown>)
    } catch (failure) {
      // The error handler itself failed: say so, but never let it break the queue.
      console.error(failure, { while: 'reporting', error })
    }
  }

  private _write(target: _Target, value: unknown): void {
    try {
      target._write(value)
    } catch (error) {
      this.report(error, target)
    }
  }

  private _exec(
    target: _Target,
    fn: _HandlerFn | undefined,
    action: unknown,
    emit: ((event: unknown) => void) | undefined,
    mode: Mode,
  ): Promise<void> | undefined {
    if (mode === _UPDATE) {
      this._write(target, action)
      return
    }
    let result: unknown
    this.busy = true
    try {
      result = fn!(target.current, action, emit)
    } catch (error) {
      this.busy = false
      this.report(error, target)
      return
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        value => {
          this.busy = false
          if (mode === _HANDLE) this._write(target, value)
          this._drain()
        },
        error => {
          this.busy = false
          this.report(error, target)
          this._drain()
        },
      )
    }
    // Not busy while writing: effects that call handlers from here see the new value.
    this.busy = false
    if (mode === _HANDLE) this._write(target, result)
  }

  private _drain(): void {
    while (!this.busy && this._head < this._jobs.length) {
      const job = this._jobs[this._head]!
      this._jobs[this._head++] = undefined
      if (this._head === this._jobs.length) {
        this._jobs = []
        this._head = 0
      }
      const pending = this._exec(job.target, job.fn, job.action, job.emit, job.mode)
      if (pending !== undefined) {
        pending.then(job.resolve)
        return
      }
      job.resolve()
    }
  }
}
