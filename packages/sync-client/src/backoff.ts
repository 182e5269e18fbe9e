import type { ReconnectOptions, ResolvedReconnectOptions } from './types.ts'

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
 * The retry schedule of one session: each `next()` is the wait before the
 * next attempt; `reset()` starts over after a connection stayed up.
 *
 * @internal
 */
export class Backoff {
  private _attempt = 0

  /**
   * @param _options - The reconnect settings.
   * @param _random - Random numbers in [0, 1).
   */
  constructor(
    private readonly _options: ResolvedReconnectOptions,
    private readonly _random: () => number,
  ) {}

  /** The wait (ms) before the next attempt; each call moves one step up the schedule. */
  next(): number {
    return backoffDelay(this._attempt++, this._options, this._random())
  }

  /** Starts the schedule over. */
  reset(): void {
    this._attempt = 0
  }
}
