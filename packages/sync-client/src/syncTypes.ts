import type { ReadonlySignal, Stream } from '@lensync/store'
import type { Conflict } from './Conflict.ts'
import type { FieldRef } from './fieldPathOf.ts'
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

/**
 * Where the value a sync's store shows came from: `initial` (the store's own
 * value, nothing read yet), `cache` (the socket's cache: the last value known
 * to be on the server with the unsent edits on top), `server` (a snapshot
 * from the server, with the unsent edits on top).
 */
export type SyncSource = 'initial' | 'cache' | 'server'

/** A running `syncWith` or `syncList`, with where its value came from. */
export interface CachedSync extends Sync {
  /**
   * Resolves once the store shows the cached value or the server's (the
   * first of the two); never rejects. Without a cache: once the first snapshot was applied.
   */
  readonly ready: Promise<void>
  /** Where the value the store shows came from (see {@link SyncSource}). */
  readonly source: ReadonlySignal<SyncSource>
}

/**
 * Options of `syncList`: bounds on what it holds while a collection snapshot
 * arrives (its pages, and the changes that come meanwhile, are kept until the
 * last page). A snapshot past either bound is dropped: the sync reports
 * `SNAPSHOT_TOO_LARGE`, unsubscribes, shows `offline` (`flush()` rejects),
 * keeps its local items and edits, and subscribes again when the connection
 * reopens. So a server that sends pages without end cannot grow the
 * client's memory without bound, and nothing is dropped without a word.
 */
export interface SyncListOptions {
  /**
   * The most items a snapshot may hold before its last page: entities, ids
   * in `gone`, and changes held meanwhile. A positive integer, or `Infinity`.
   * @default 100_000
   */
  maxSnapshotItems?: number
  /**
   * The most characters of frame text a snapshot may take before its last
   * page (the frames holding its pages and the changes held meanwhile, each
   * frame counted once; about bytes for ASCII JSON). A positive integer, or `Infinity`.
   * @default 64 * 1024 * 1024 (64 MiB)
   */
  maxSnapshotBytes?: number
}

/**
 * Where one field's local edits stand: `pending` while an edit of it (or of
 * a field above or below it) is not acknowledged, `rejected` after the server
 * refused it (until the next edit of it), else `synced`.
 */
export type FieldStatus = 'synced' | 'pending' | 'rejected'

/** A running `syncWith`: a {@link CachedSync} that also tells where each field stands, and its conflicts. */
export interface EntitySyncHandle extends CachedSync {
  /**
   * Every field of an acknowledged write that met another client's newer
   * write of it, with how the resource's `onConflict` resolved it. Emitted
   * after the store shows the resolution.
   */
  readonly conflicts: Stream<Conflict>
  /**
   * The status of a field and everything below it, as a signal (one per
   * asked path, cached; recomputed only when writes, acks or rejects change).
   * @param field - A store path (`'.address.street'`, as `subStore.path`) or a
   *   lens / `lenses<T>()` path (`L.address.street`); `''` for the whole entity.
   * @throws SyncError `BAD_ARGUMENT` for anything else.
   */
  fieldStatus(field: FieldRef): ReadonlySignal<FieldStatus>
}

/** A running `syncList`: a {@link CachedSync} that also tells where each field of an item stands, and its conflicts. */
export interface ListSyncHandle extends CachedSync {
  /**
   * Every field of an acknowledged write of an item that met another
   * client's newer write of it, with how the resource's `onConflict`
   * resolved it; `id` names the item. Emitted after the store shows the resolution.
   */
  readonly conflicts: Stream<Conflict>
  /**
   * The status of a field of the item `id` and everything below it (see
   * {@link FieldStatus}), as a cached signal; `synced` for an id the sync
   * does not hold.
   * @param id - The item's resource id.
   * @param field - A store path within the item (`'.title'`) or a lens /
   *   `lenses<Item>()` path; `''` (default) for the whole item.
   * @throws SyncError `BAD_ARGUMENT` for anything else.
   */
  fieldStatus(id: string, field?: FieldRef): ReadonlySignal<FieldStatus>
}
