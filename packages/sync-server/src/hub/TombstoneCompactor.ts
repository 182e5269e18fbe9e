import type { Storage } from '../storage/Storage.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'

/** Tombstones removed per storage call. */
const BATCH = 1_000

/** Storage calls per run at most; what is left waits for the next run. */
const MAX_BATCHES_PER_RUN = 100

/** A run at least this often (ms), or every `tombstoneTtl` when that is shorter. */
const MAX_INTERVAL_MS = 3_600_000

/**
 * @internal
 * Runs tombstone compaction ({@link Storage.compactTombstones}) for the hub:
 * once per `min(tombstoneTtl, 1 hour)`, in batches of 1 000, at most 100
 * batches a run, yielding to the event loop between batches. Nothing runs
 * without `tombstoneTtl` or without a storage that compacts. On shared
 * storage every node runs it; storage makes that safe. Timers are the hub's.
 */
export class _TombstoneCompactor {
  private _timer: unknown
  private _running: Promise<void> | undefined
  private _stopped = false

  constructor(
    private readonly _storage: Storage,
    private readonly _options: _ResolvedSyncOptions,
  ) {}

  /** Schedules the runs (the first one an interval from now). */
  start(): void {
    if (this._stopped || this._options.tombstoneTtl === false || !this._storage.compactTombstones) return
    this._schedule()
  }

  /** Stops the runs; resolves when a run in progress has finished its batch. */
  async stop(): Promise<void> {
    this._stopped = true
    this._options.timers.clearTimeout(this._timer)
    await this._running
  }

  /** Runs once now (also what each timer does). */
  run(): Promise<void> {
    this._running ??= this._compact().finally(() => {
      this._running = undefined
    })
    return this._running
  }

  private _schedule(): void {
    const ttl = this._options.tombstoneTtl as number
    this._timer = this._options.timers.setTimeout(
      () => {
        void this.run().finally(() => {
          if (!this._stopped) this._schedule()
        })
      },
      Math.min(ttl, MAX_INTERVAL_MS),
    )
  }

  private async _compact(): Promise<void> {
    const { tombstoneTtl, logger, timers } = this._options
    const compact = this._storage.compactTombstones?.bind(this._storage)
    if (tombstoneTtl === false || !compact) return
    try {
      for (let batch = 0; batch < MAX_BATCHES_PER_RUN && !this._stopped; batch++) {
        if ((await compact(tombstoneTtl, BATCH)) < BATCH) return
        await new Promise<void>(resolve => timers.setImmediate(resolve))
      }
    } catch (error) {
      logger.warn?.('lensync hub: compacting tombstones failed; retrying at the next run', error)
    }
  }
}
