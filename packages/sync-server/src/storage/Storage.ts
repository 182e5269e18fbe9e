import type { OpId } from '@lensync/protocol'

/** A value, or a promise of it: storage may answer synchronously (SQLite, memory) or not (Redis). */
export type MaybePromise<T> = T | Promise<T>

/**
 * One entity as storage keeps it. `value` is the JSON text of the entity's
 * wire envelope (`{"json":…,"meta":…}`), opaque to storage; `null` is a
 * tombstone: the entity was deleted at `rev`.
 */
export interface StoredEntity {
  /** The entity id. */
  readonly id: string
  /** The resource revision of the entity's last write. */
  readonly rev: number
  /** JSON text of the encoded value, or `null` for a tombstone. */
  readonly value: string | null
  /**
   * The entity's field revisions as the last write stored them
   * ({@link StorageWrite.fields}); absent for a tombstone and for data
   * written before field revisions existed (every field is then unknown).
   */
  readonly fields?: string | undefined
}

/** An opaque position in a collection listing, handed back by {@link Storage.list}. */
export type ListCursor = string | number

/** A {@link StoredEntity} in a listing, with the cursor that resumes right after it. */
export interface ListedEntity extends StoredEntity {
  /** Pass as `after` to continue the listing behind this entity. */
  readonly cursor: ListCursor
}

/** What {@link Storage.list} is asked for. */
export interface ListOptions {
  /** Resume behind this entity (a cursor from an earlier page); absent: from the start. */
  readonly after?: ListCursor
  /**
   * Absent: every live entity (no tombstones). A resource revision: only
   * entities written after it, tombstones included.
   */
  readonly since?: number
  /** At most this many entities. */
  readonly limit: number
}

/** One page of a listing. */
export interface ListPage {
  /** Entities in creation order (the order they were first written). */
  readonly entities: readonly ListedEntity[]
  /** `true` when more entities follow (ask again with the last entity's cursor). */
  readonly more: boolean
}

/**
 * One write of a {@link Storage.commit} batch: the entity's complete new
 * state, already merged and validated by the hub.
 */
export interface StorageWrite {
  /** The resource name. */
  readonly resource: string
  /** The entity id. */
  readonly id: string
  /** JSON text of the encoded value, or `null` to delete (leave a tombstone). */
  readonly value: string | null
  /**
   * The entity's field revisions after this write (who wrote each field
   * last, at which revision): JSON text, opaque to storage but for one
   * thing — it may contain placeholders `\u0000<k>\u0000` (a NUL, the index
   * `k` of a write of this batch, at most this write's own, a NUL) where
   * that write's revision belongs: storage replaces each with the revision
   * write `k` gets (`_fillRevisions`) and stores the result beside the
   * value, and hands it out in {@link StoredEntity.fields} and
   * {@link CommittedChange.fields}. Absent (a delete, or nothing known):
   * the entity keeps none.
   */
  readonly fields?: string | undefined
  /**
   * The entity revision the hub based this write on (`0`: the entity did not
   * exist). When storage holds another revision, the write fails with a
   * conflict (another server node wrote first). `undefined`: the write builds
   * on the previous write of the same entity in this batch, and fails with it.
   */
  readonly expectedRev?: number
  /**
   * The envelope the other subscribers get for this write, split around its
   * revision (`head + rev + tail`). Storage that is shared between server
   * nodes ({@link Storage.watch}) hands it to every node with the change;
   * other storage ignores it. Read it as a property (`write.change`): for a
   * patch it is made at its first read (an accessor, not an own property), so
   * a copy made by spreading the write or by `JSON.stringify` leaves it out.
   */
  readonly change?: readonly [head: string, tail: string]
  /**
   * Who sent the write: the client id of its connection (`hello.client`) and
   * the write's `op`. When present and the write applies, storage records
   * `(client, op) → { resource, id, rev }` in the same transaction as the
   * write, and {@link Storage.applied} finds it for `dedupWindow`; a write
   * that fails its compare-and-set records nothing. Both ids come from the
   * client.
   */
  readonly origin?: { readonly client: string; readonly op: OpId }
}

/** Where a write with an `origin` landed, as {@link Storage.applied} reports it. */
export interface AppliedWrite {
  /** The resource name. */
  readonly resource: string
  /** The entity id. */
  readonly id: string
  /** The revision the write was committed at. */
  readonly rev: number
}

/** One committed write, as {@link Storage.watch} reports it to every server node. */
export interface CommittedChange {
  /** The resource name. */
  readonly resource: string
  /** The entity id. */
  readonly id: string
  /** The revision the write got. */
  readonly rev: number
  /** JSON text of the entity's new encoded value, or `null` (deleted). */
  readonly value: string | null
  /** The entity's field revisions as stored with the write (placeholders filled in); absent when none. */
  readonly fields?: string | undefined
  /** The envelope to send to subscribers: the write's `change` with its revision filled in. */
  readonly change: string
  /**
   * The {@link StorageWrite} object given to `commit()` of this same storage
   * object when the write came from here; `undefined` for a write of another node.
   */
  readonly write: StorageWrite | undefined
}

/** What {@link Storage.watch} calls. */
export interface ChangeListener {
  /** A committed write, from this node or another one. Called in commit order. */
  change(change: CommittedChange): void
  /**
   * Changes were lost (the feed fell behind, or the shared store lost data):
   * whatever the listener derived from earlier changes may be stale.
   */
  reset(reason: string): void
}

/** The outcome of one {@link StorageWrite}: its new revision, or a conflict. */
export type CommitResult = { readonly rev: number } | { readonly conflict: true }

/**
 * Where the sync hub keeps entities. The hub is the only one that merges
 * and validates; storage only has to keep values, hand out revisions and
 * refuse a write whose base moved, so an adapter for a shared store (Redis)
 * fits the same interface: methods may return promises, and
 * {@link Storage.commit} is a compare-and-set.
 *
 * Contract:
 * - every resource has a revision counter starting at 0; each applied write
 *   gets the next one, atomically (across server nodes for a shared store);
 * - `commit` applies a batch in order and, once it returns (or resolves), the
 *   batch is durable — the hub acknowledges writes only after that;
 * - a write whose `expectedRev` does not match fails alone with `{ conflict }`
 *   (together with the later writes of the same entity in the batch), the
 *   other writes of the batch still apply; a thrown error fails the whole batch;
 * - an applied write with an `origin` is recorded in the same transaction,
 *   kept for the storage's `dedupWindow` (default 7 days) and found by
 *   {@link Storage.applied}; the first record of a `(client, op)` is kept.
 *
 * @example
 * const storage = sqliteStorage({ file: './data/lensync.db' })
 * app.webSocket('/sync', syncRoute({ storage }))
 */
export interface Storage {
  /**
   * Reads one entity.
   *
   * @param resource - The resource name.
   * @param id - The entity id.
   * @returns The entity or its tombstone; `undefined` when it never existed.
   */
  get(resource: string, id: string): MaybePromise<StoredEntity | undefined>
  /**
   * Reads a resource's revision counter.
   *
   * @param resource - The resource name.
   * @returns The revision of the resource's last write; `0` before the first.
   */
  revision(resource: string): MaybePromise<number>
  /**
   * Lists a resource's entities in creation order, one page at a time.
   *
   * @param resource - The resource name.
   * @param options - Where to start, `since`, and the page size.
   * @returns One page.
   */
  list(resource: string, options: ListOptions): MaybePromise<ListPage>
  /**
   * Applies a batch of writes in one transaction (a group commit).
   *
   * @param writes - In the order the hub accepted them.
   * @returns One result per write, in the same order.
   */
  commit(writes: readonly StorageWrite[]): MaybePromise<CommitResult[]>
  /**
   * Optional, for storage shared by several server nodes (Redis): reports
   * every committed write of every node, in commit order, so each node can
   * send its subscribers the changes made through other nodes. When present,
   * the hub acknowledges and broadcasts a write when its change comes back
   * through the feed (not when `commit` returns), so every connection gets
   * one entity's acks and changes in revision order on every node.
   *
   * @param listener - Gets the changes and the resets.
   * @returns Resolves, once the feed is read from the current end, with the disposer.
   */
  watch?(listener: ChangeListener): Promise<() => void>
  /**
   * Optional: finds a write committed with this `origin` ({@link StorageWrite.origin})
   * within the dedup window, so the hub can answer a resent write with an
   * `ack` instead of applying it again. Records of one commit are visible as
   * soon as `commit` returns; with shared storage, through every node.
   * Op `1` and op `"1"` are different ops.
   *
   * @param client - The client id the write came with.
   * @param op - Its op id.
   * @returns Where and at which revision it was committed; `undefined` when
   *   no such write was committed, or longer than the window ago.
   */
  applied?(client: string, op: OpId): MaybePromise<AppliedWrite | undefined>
  /**
   * Optional: tombstone compaction. Removes up to `limit` tombstones of
   * deleted entities that were deleted at least `maxAge` ms ago (by the
   * storage's clock), oldest first, and raises each affected resource's
   * {@link Storage.coveredSince} to the highest revision removed — in the
   * same step, so no listing can miss a removed tombstone unnoticed. The hub
   * calls it periodically (`tombstoneTtl`); storage shared by several nodes
   * may be compacted by all of them at once.
   *
   * @param maxAge - How old a tombstone must be (ms).
   * @param limit - At most this many are removed per call.
   * @returns How many were removed (`limit`: more may be waiting).
   */
  compactTombstones?(maxAge: number, limit: number): MaybePromise<number>
  /**
   * Optional, with {@link Storage.compactTombstones}: the oldest `since` a
   * listing of the resource still answers completely — the highest revision
   * of a tombstone removed from it (`0` when none was). A `since` below it
   * may miss deletions: the hub answers such a `sub` with a full snapshot.
   *
   * @param resource - The resource name.
   */
  coveredSince?(resource: string): MaybePromise<number>
  /**
   * Releases the storage (closes files and connections). Idempotent.
   */
  close(): MaybePromise<void>
}
