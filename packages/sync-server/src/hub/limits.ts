import type { ErrorLimitOptions, RateLimitOptions } from './syncTypes.ts'

/**
 * @internal
 * A token bucket: `burst` tokens, refilled at `perSecond`. Counts the
 * consecutive refusals so a client that keeps pushing can be closed.
 */
export class _TokenBucket {
  private _tokens: number
  private _last: number
  private _refused = 0

  constructor(
    private readonly _options: Required<RateLimitOptions>,
    private readonly _now: () => number,
  ) {
    this._tokens = _options.burst
    this._last = _now()
  }

  /** Takes a token. @returns `true` when there was one. */
  take(): boolean {
    const now = this._now()
    const { perSecond, burst } = this._options
    this._tokens = Math.min(burst, this._tokens + ((now - this._last) * perSecond) / 1000)
    this._last = now
    if (this._tokens >= 1) {
      this._tokens -= 1
      this._refused = 0
      return true
    }
    this._refused++
    return false
  }

  /**
   * Takes `count` tokens whether or not there are that many (the bucket may
   * go below zero): for work whose cost is known only once it is done.
   */
  charge(count: number): void {
    if (count > 0) this._tokens -= count
  }

  /** Whether the refusals in a row reached `closeAfter`. */
  get exhausted(): boolean {
    return this._refused >= this._options.closeAfter
  }
}

/**
 * @internal
 * Counts errors in a sliding window; `add()` says when there were too many.
 */
export class _ErrorWindow {
  private readonly _times: number[] = []

  constructor(
    private readonly _options: Required<ErrorLimitOptions>,
    private readonly _now: () => number,
  ) {}

  /** Records an error. @returns `true` when this makes `count` errors within `windowMs`. */
  add(): boolean {
    const now = this._now()
    const times = this._times
    times.push(now)
    while (times.length > 0 && (times[0] as number) <= now - this._options.windowMs) times.shift()
    return times.length >= this._options.count
  }
}
