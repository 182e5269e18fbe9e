import type { ReadonlySignal, Stream } from '@lensync/store'
import type { SyncError } from './SyncError.ts'

/**
 * Where a sync stands:
 * - `connecting`: before the first open;
 * - `syncing`: connected, snapshot or writes outstanding;
 * - `synced`: snapshot applied and nothing pending;
 * - `offline`: disconnected, refused or stopped.
 */
export type SyncStatus = 'connecting' | 'syncing' | 'synced' | 'offline'

/** A running `syncWith` or `syncList`. */
export interface Sync {
  /** Where the sync stands (see {@link SyncStatus}). */
  readonly status: ReadonlySignal<SyncStatus>
  /** Local changes (fields, creations, deletions) not yet acknowledged by the server. */
  readonly pending: ReadonlySignal<number>
  /** Rejected writes, bad frames, refused connections. The sync goes on after each. */
  readonly errors: Stream<SyncError>
  /**
   * Resolves once subscribed (snapshot applied) and every local change made so
   * far is acknowledged; rejects with a {@link SyncError} after `stop()`, a
   * 4401/4403 refusal or a refused subscription (for `syncWith`, until the id
   * changes). While offline it waits for the connection to return.
   */
  flush(): Promise<void>
  /** Ends the sync: unsubscribes, stops watching the store; the shared connection closes when no sync uses it. */
  stop(): void
}
