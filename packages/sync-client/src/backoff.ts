import type { ReconnectOptions, ResolvedReconnectOptions, SocketOptions } from './types.ts'

/** The reconnect settings used when `reconnect: true` or an object leaves some out. */
export const defaultReconnect: Readonly<Required<ReconnectOptions>> = Object.freeze({
  minDelay: 250,
  maxDelay: 10_000,
  factor: 2,
  jitter: 1,
  resetAfter: 5_000,
})

/**
 * The wait before retry number `attempt` (0-based): uniform between
 * `minDelay` and `min(maxDelay, minDelay · factor^(attempt+1))` under full
 * jitter; with less jitter the lower end moves up towards that bound.
 *
 * @param attempt - How many retries were already made since the last reset.
 * @param options - The reconnect settings.
 * @param random - A number in [0, 1).
 * @returns The wait in whole ms.
 * @internal
 */
export function backoffDelay(
  attempt: number,
  options: Readonly<Required<ReconnectOptions>>,
  random: number,
): number {
  const { minDelay, maxDelay, factor, jitter } = options
  // Capping the exponent keeps factor^n finite; past maxDelay it no longer matters.
  const upper = Math.min(maxDelay, minDelay * factor ** Math.min(attempt + 1, 64))
  const lower = upper - jitter * (upper - minDelay)
  // Whole milliseconds: timers truncate fractions anyway, and a schedule in whole ms is easier to reason about.
  return Math.round(lower + random * (upper - lower))
}

/**
 * The reconnect timing of one session: waits the backoff delay (or for the
 * `online` event) before each retry, and starts the schedule over once a
 * connection stayed open for `resetAfter`. `stop()` clears every timer and
 * listener it holds.
 *
 * @internal
 */
export class Backoff {
  private _attempt = 0
  private _retry: (() => void) | undefined
  private _retryTimer: unknown
  private _stableTimer: unknown
  private _stable = false

  /**
   * @param _settings - The reconnect settings.
   * @param _env - Timers, random numbers and the `online` event source.
   */
  constructor(
    private readonly _settings: ResolvedReconnectOptions,
    private readonly _env: Pick<SocketOptions, 'timers' | 'random' | 'online'>,
  ) {}

  /**
   * Calls `retry` after the next delay of the schedule, or at once on `online`.
   * @param retry - Starts the next attempt.
   * @returns The delay in ms.
   */
  schedule(retry: () => void): number {
    this.stop()
    const delay = backoffDelay(this._attempt++, this._settings, this._env.random())
    this._retry = retry
    this._retryTimer = this._env.timers.setTimeout(this._fire, delay)
    this._env.online?.addEventListener('online', this._fire)
    return delay
  }

  /** A connection opened: once it stays open for `resetAfter`, the schedule starts over. */
  opened(): void {
    this._stopStable()
    this._stable = true
    this._stableTimer = this._env.timers.setTimeout(() => {
      this._stable = false
      this._attempt = 0
    }, this._settings.resetAfter)
  }

  /** The connection ended: it no longer counts towards a reset. */
  ended(): void {
    this._stopStable()
  }

  /** Clears the retry timer, the reset timer and the `online` listener. */
  stop(): void {
    this._stopRetry()
    this._stopStable()
  }

  // An arrow property, so the same function is added and removed as the `online` listener.
  private readonly _fire = (): void => {
    const retry = this._retry
    this._stopRetry()
    retry?.()
  }

  private _stopRetry(): void {
    if (this._retry === undefined) return
    this._retry = undefined
    this._env.timers.clearTimeout(this._retryTimer)
    this._env.online?.removeEventListener('online', this._fire)
  }

  private _stopStable(): void {
    if (!this._stable) return
    this._stable = false
    this._env.timers.clearTimeout(this._stableTimer)
  }
}
