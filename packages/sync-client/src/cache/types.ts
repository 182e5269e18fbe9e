import type { ConflictPolicy, Encoded, FieldPath, FieldSet } from '@lensync/protocol'
import type { SyncError } from '../SyncError.ts'

/**
 * The last value of one entity known to be on the server, as the cache keeps it.
 */
export interface CachedEntity {
  /** The resource name. */
  readonly resource: string
  /** The entity id. */
  readonly id: string
  /** The value as the wire carries it; `null` when the server has no such entity (absent or deleted). */
  readonly value: Encoded | null
  /** The server revision of `value`. */
  readonly rev: number
  /** The `resource({ version })` the value was written under. */
  readonly version: number
}

/**
 * What the cache knows of a whole collection (a `syncList` of one resource):
 * the revision to ask `since`, and the entities it held.
 */
export interface CachedCollection {
  /** The resource name. */
  readonly resource: string
  /** The `resource({ version })` the collection was written under. */
  readonly version: number
  /** The resource revision the collection is consistent with: the `since` of the next subscription. */
  readonly rev: number
  /** The ids the collection holds, in the order they were first added. */
  readonly ids: readonly string[]
  /** The cached entities among `ids` (an id whose record is missing or of another version is left out). */
  readonly entities: readonly CachedEntity[]
}

/**
 * An update of a collection, written with {@link SyncCache.writeConfirmed}:
 * a new revision and either the whole id list (after a full snapshot) or the
 * ids added and removed (after a `since` snapshot or a change).
 */
export interface CollectionUpdate {
  /** The resource name. */
  readonly resource: string
  /** The `resource({ version })` in use. */
  readonly version: number
  /** The resource revision the collection is now consistent with. */
  readonly rev: number
  /** `replace`: the collection holds exactly these ids; otherwise ids to add and to remove. */
  readonly ids:
    | { readonly replace: readonly string[] }
    | { readonly add?: readonly string[]; readonly remove?: readonly string[] }
}

/** The kind of a queued write: `create` is a create-only put (an offer). */
export type OutboxKind = 'put' | 'create' | 'patch' | 'del'

/**
 * A local write not yet acknowledged by the server, with values encoded as
 * on the wire. Keyed by (`client`, `op`); a client's entries are kept in op order.
 */
export interface OutboxEntry {
  /** The client id (`socket.clientId`) that made the edit: the write is sent under it, by whoever sends it. */
  readonly client: string
  /** The op id: a non-negative integer, increasing per client. */
  readonly op: number
  /** The resource name. */
  readonly resource: string
  /** The entity id. */
  readonly id: string
  /** `put` / `create` carry `value`; `patch` carries `set` and `unset`; `del` carries nothing. */
  readonly kind: OutboxKind
  /** Fields set by a `patch`. */
  readonly set?: readonly FieldSet[]
  /** Fields removed by a `patch`. */
  readonly unset?: readonly FieldPath[]
  /** The whole value of a `put` or `create`. */
  readonly value?: Encoded
  /**
   * A `patch` or `put`: the entity revision the writer had confirmed when the
   * write's first edit was made, sent as the write's `base` so the server
   * reports (and with `'keep-theirs'` skips) the fields another client wrote
   * after it, whoever sends the entry. Absent (entries queued before it was
   * kept, creates, deletes): sent without `base`, never a conflict.
   */
  readonly base?: number
  /** Sent with `base`: what the server does with a conflicting field. Absent: `'overwrite'`. */
  readonly onConflict?: ConflictPolicy
  /** The `resource({ version })` the edit was made under (kept, and sent, whatever the version on read). */
  readonly version: number
}

/** Which outbox entries {@link SyncCache.readOutbox} returns: all, one client's, or one entity's. */
export type OutboxQuery =
  | { readonly client: string }
  | { readonly resource: string; readonly id: string }
  | Readonly<Record<string, never>>

/**
 * The outcome of a write to the cache. A write never throws into the task
 * that made it; a failure comes back here (`CACHE_FULL`: the browser's quota;
 * `CACHE_UNAVAILABLE`: the database cannot be written), to be reported on
 * `sync.errors`. The in-memory state of the sync is unaffected either way.
 */
export type CacheWriteResult = { readonly ok: true } | { readonly ok: false; readonly error: SyncError }

/**
 * Where a cache keeps its data: `opening` until the database is open,
 * `indexeddb` once it is, `memory` when it could not be opened (then `error`
 * is the `CACHE_UNAVAILABLE` to report) or for a {@link memoryCache}.
 */
export type CacheState =
  | { readonly kind: 'opening' }
  | { readonly kind: 'indexeddb' }
  | { readonly kind: 'memory'; readonly error?: SyncError }

/**
 * A change made to a cache, delivered to every listener of every cache object
 * on the same cache name (other tabs through a BroadcastChannel), after the
 * write is visible to reads of the cache (or failed: the notice still tells
 * what the writer holds in memory). Notices carry their data, so a listener
 * need not read the cache.
 */
export type CacheNotice =
  | {
      readonly kind: 'confirmed'
      readonly entities: readonly CachedEntity[]
      readonly collection?: { readonly resource: string; readonly version: number; readonly rev: number }
    }
  | { readonly kind: 'enqueued'; readonly entry: OutboxEntry }
  | {
      readonly kind: 'acked'
      readonly client: string
      readonly op: number
      readonly resource: string
      readonly id: string
      /** The revision the server acknowledged the write at, when the acknowledging tab gave it. */
      readonly rev?: number
    }
  | { readonly kind: 'cleared'; readonly dropped: number }
  | { readonly kind: 'client-gone'; readonly client: string }

/**
 * How the heartbeat fallback of tab coordination (no Web Locks) writes a
 * client's liveness record, in one transaction (a compare-and-set):
 * `force` always (a live client beating for itself); `renew` only while
 * `holder` holds it (a tab keeping a client it took over); `ifStale` only when
 * the record is older than `staleAfter` ms (a takeover claim) — a missing
 * record is not claimed but noted as first seen now, and claimable once that is stale.
 */
export type ClaimRule =
  | { readonly kind: 'force' }
  | { readonly kind: 'renew' }
  | { readonly kind: 'ifStale'; readonly staleAfter: number }

/**
 * The parts of the Web Locks API (`navigator.locks`) tab coordination uses:
 * exclusive locks, `ifAvailable` and `steal`.
 */
export interface LockManagerLike {
  request<T>(name: string, callback: (lock: { readonly name: string } | null) => T | Promise<T>): Promise<T>
  request<T>(
    name: string,
    options: { ifAvailable?: boolean; steal?: boolean; mode?: 'exclusive' },
    callback: (lock: { readonly name: string } | null) => T | Promise<T>,
  ): Promise<T>
}

/** The BroadcastChannel constructor (the global one in browsers and Node ≥ 18). */
export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike

/** The parts of a BroadcastChannel a cache uses. */
export interface BroadcastChannelLike {
  postMessage(message: unknown): void
  close(): void
  onmessage: ((event: MessageEvent) => void) | null
}

/**
 * A local copy of synced entities and an outbox of unacknowledged writes,
 * shared by every sync of the sockets given it, and by every tab on the same
 * name ({@link indexedDbCache}). Create one with {@link indexedDbCache} or
 * {@link memoryCache}; apps usually call only {@link SyncCache.clear}. The
 * other methods are what `syncWith` / `syncList` and tab coordination use.
 *
 * Reads of values written under another `version` drop them (their outbox
 * entries stay). Writes resolve to a {@link CacheWriteResult} and never
 * reject; reads (and `clear()`) reject with a `SyncError` (`CACHE_UNAVAILABLE`)
 * when the database fails under them.
 *
 * @example
 * const cache = indexedDbCache('my-app')
 * const socket = websocket('/sync', { cache })
 * await cache.clear() // on logout
 */
export interface SyncCache {
  /** The cache name: the IndexedDB database is `lensync:<name>`, the BroadcastChannel and lock names start with it. */
  readonly name: string
  /** Where the data is kept now. */
  readonly state: CacheState
  /** Resolves once the cache is open (or fell back to memory), with the state then. Never rejects. */
  readonly opened: Promise<CacheState>
  /** The Web Locks tab coordination uses, or `undefined` for the heartbeat fallback. */
  readonly locks: LockManagerLike | undefined

  /**
   * The cached value of one entity, or `undefined` when none is cached under
   * `version` (a record of another version is dropped).
   */
  readEntity(resource: string, id: string, version: number): Promise<CachedEntity | undefined>
  /**
   * The cached collection of a resource with its entities, or `undefined`
   * when none is cached under `version` (one of another version is dropped,
   * with the resource's entity records of that version).
   */
  readCollection(resource: string, version: number): Promise<CachedCollection | undefined>
  /**
   * Writes confirmed server values, and a collection's new revision and ids,
   * in one transaction. An entity record with a higher `rev` under the same
   * version is kept (another tab got there first); so is a collection's.
   */
  writeConfirmed(entities: readonly CachedEntity[], collection?: CollectionUpdate): Promise<CacheWriteResult>

  /**
   * Queues a write in the outbox. When the cache is open, the database
   * request is issued before this returns (so the edit is queued in the task
   * that made it); the promise resolves once it is durable or failed. An
   * entry with the same (`client`, `op`) is replaced: how a caller coalesces
   * an edit into a write it has not sent yet.
   *
   * @throws SyncError (`BAD_ARGUMENT`) when the entry is malformed (e.g. `op` not a non-negative integer).
   */
  enqueue(entry: OutboxEntry): Promise<CacheWriteResult>
  /**
   * Removes an acknowledged write from the outbox and, in the same
   * transaction, records the value the ack confirmed. `rev`, the revision
   * the server acknowledged the write at, goes with the `acked` notice: other
   * tabs keep showing the write until their value is that new.
   */
  ack(client: string, op: number, confirmed?: CachedEntity, rev?: number): Promise<CacheWriteResult>
  /** Outbox entries (all, one client's, or one entity's), ordered by client id, then op id. */
  readOutbox(query?: OutboxQuery): Promise<OutboxEntry[]>
  /** The client ids that have entries in the outbox. */
  outboxClients(): Promise<string[]>

  /**
   * Writes a client's liveness record (heartbeat fallback) if `rule` allows.
   * @returns whether it was written.
   */
  claimClient(client: string, holder: string, now: number, rule: ClaimRule): Promise<boolean>
  /** Marks a client's liveness record as released (claimable at once) if `holder` holds it. */
  releaseClient(client: string, holder: string): Promise<void>
  /** Deletes liveness records last written before `before` whose client has no outbox entries. */
  pruneClients(before: number): Promise<void>

  /** Listens to changes made through any cache object on this name (this tab's included). @returns a disposer. */
  subscribe(listener: (notice: CacheNotice) => void): () => void
  /** Sends a notice to every listener on this name (tab coordination's `client-gone`). */
  notify(notice: CacheNotice): void

  /**
   * Drops everything: values, collections and the outbox, unsent edits
   * included (e.g. on logout). Other tabs are told (`cleared`).
   * @returns how many unsent writes were dropped.
   */
  clear(): Promise<number>
  /**
   * Closes the database connection and the notice channel. Idempotent. Calls
   * made after it no longer reach the database (they work on an empty memory store).
   */
  close(): void
}
