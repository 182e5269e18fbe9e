/**
 * @internal
 * The `pset` token bucket of one connection: `burst` tokens, refilled at
 * `perSecond`. An update that finds it empty is coalesced, not refused, so
 * the bucket also says how long until the next token.
 */
export class _PresenceBucket {
  private _tokens: number
  private _last: number

  constructor(
    private readonly _perSecond: number,
    private readonly _burst: number,
    private readonly _now: () => number,
  ) {
    this._tokens = _burst
    this._last = _now()
  }

  /** Takes a token. @returns `true` when there was one. */
  take(): boolean {
    this._refill()
    if (this._tokens < 1) return false
    this._tokens -= 1
    return true
  }

  /** Milliseconds until a token is there (at least 1). */
  wait(): number {
    this._refill()
    return Math.max(1, Math.ceil(((1 - this._tokens) * 1000) / this._perSecond))
  }

  private _refill(): void {
    const now = this._now()
    this._tokens = Math.min(this._burst, this._tokens + ((now - this._last) * this._perSecond) / 1000)
    this._last = now
  }
}
