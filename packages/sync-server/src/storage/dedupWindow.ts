import type { OpId } from '@lensync/protocol'

/** @internal How long storage remembers an applied write by default (ms): 7 days. */
export const _DEFAULT_DEDUP_WINDOW = 604_800_000

/**
 * @internal
 * At most this many expired records are deleted by one pruning step, so a
 * step never holds a commit up for long; a full step lets the next commit
 * prune again, so pruning keeps up with any write rate.
 */
export const _PRUNE_BATCH = 1_000

/** @internal At most one pruning step this often (ms), unless the last one was full. */
const PRUNE_INTERVAL_MS = 60_000

/** @internal The dedup options every storage takes. */
export interface _DedupOptions {
  /**
   * How long a write applied with an `origin` is remembered (ms), so a resent
   * copy is recognized. Default 7 days (`604_800_000`).
   */
  dedupWindow?: number
  /** The clock records are stamped and aged with (ms since the epoch). Default `Date.now`; tests inject one. */
  now?: () => number
}

/** @internal {@link _DedupOptions} with the defaults filled in. */
export interface _ResolvedDedup {
  readonly dedupWindow: number
  readonly now: () => number
}

/**
 * @internal
 * Merges the dedup options over their defaults and validates them.
 *
 * @param caller - The factory, for messages (`'memoryStorage'`).
 * @throws TypeError naming the bad option.
 */
export function _dedupOptions(caller: string, options: _DedupOptions): _ResolvedDedup {
  const { dedupWindow = _DEFAULT_DEDUP_WINDOW, now = Date.now } = options
  if (!Number.isSafeInteger(dedupWindow) || dedupWindow < 1)
    throw new TypeError(
      `${caller}(options): dedupWindow must be a whole number of milliseconds >= 1 (default 604_800_000, 7 days), got ${String(dedupWindow)}`,
    )
  if (typeof now !== 'function')
    throw new TypeError(`${caller}(options): now must be a function returning milliseconds, such as Date.now`)
  return { dedupWindow, now }
}

/**
 * @internal
 * An op id as stored text: its JSON, so op `1` (`'1'`) and op `"1"`
 * (`'"1"'`) stay different ops.
 */
export function _opKey(op: OpId): string {
  return JSON.stringify(op)
}

/**
 * @internal
 * Whether a record stamped `at` is still inside the window at `now`: a
 * record lives for `dedupWindow` milliseconds, whether or not pruning has
 * deleted it yet.
 */
export function _isFresh(at: number, now: number, dedupWindow: number): boolean {
  return now - at < dedupWindow
}

/**
 * @internal
 * Decides when a commit also prunes expired records: at most once per
 * minute (or per window, when shorter), and again at the next commit while
 * steps come back full (a backlog).
 */
export class _PruneSchedule {
  private _last = Number.NEGATIVE_INFINITY
  private _backlog = false
  private readonly _interval: number

  constructor(dedupWindow: number) {
    this._interval = Math.min(PRUNE_INTERVAL_MS, dedupWindow)
  }

  /** Whether a pruning step is due at `now`; when it is, it counts as started. */
  due(now: number): boolean {
    if (!this._backlog && now - this._last < this._interval && now >= this._last) return false
    this._last = now
    this._backlog = false
    return true
  }

  /** Reports how many records a step deleted: a full step means more are waiting. */
  pruned(deleted: number): void {
    this._backlog = deleted >= _PRUNE_BATCH
  }
}
