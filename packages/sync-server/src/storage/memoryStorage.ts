import type { OpId } from '@lensync/protocol'
import { _dedupOptions, _isFresh, _PRUNE_BATCH, _PruneSchedule, type _ResolvedDedup } from './dedupWindow.ts'
import { _fillRevisions } from './fillRevisions.ts'
import type {
  AppliedWrite,
  CommitResult,
  ListedEntity,
  ListOptions,
  ListPage,
  Storage,
  StorageWrite,
  StoredEntity,
} from './Storage.ts'

interface MemoryEntity {
  rev: number
  value: string | null
  /** The field revisions (`undefined`: none), their placeholders filled in from `revisionOf` when it is set. */
  fields: string | undefined
  /**
   * The revisions of the batch that wrote `fields` (see `_fillRevisions`),
   * until they are filled in: at the first read, since the hub caches what
   * it wrote and seldom reads it back.
   */
  revisionOf: ((index: number) => number | undefined) | undefined
  /** Position in creation order. */
  seq: number
}

interface MemoryResource {
  rev: number
  /** Entity ids in creation order (tombstones keep their place; a compacted one leaves a hole). */
  readonly order: (string | undefined)[]
  readonly entities: Map<string, MemoryEntity>
  /** Tombstones by id → when deleted, oldest first. */
  readonly tombstones: Map<string, number>
  /** The highest revision of a compacted tombstone ({@link Storage.coveredSince}). */
  covered: number
}

/** Options of {@link memoryStorage}. */
export interface MemoryStorageOptions {
  /**
   * How long a write applied with an `origin` is remembered (ms), so a
   * resent copy is recognized ({@link Storage.applied}). Default 7 days
   * (`604_800_000`).
   */
  dedupWindow?: number
  /** The clock applied writes are stamped and aged with. Default `Date.now`; tests inject one. */
  now?: () => number
}

/** An applied write with an origin, and when it was committed. */
interface AppliedRecord extends AppliedWrite {
  readonly at: number
  /** The origin's client id and op (its place in {@link MemoryStorage._applied}). */
  readonly client: string
  readonly op: OpId
}

/**
 * Keeps entities in memory: nothing survives the process. For tests,
 * demos and servers whose data may be lost on restart.
 *
 * Writes applied with an `origin` are remembered in a map for `dedupWindow`
 * (oldest first; commits delete expired ones, at most 1 000 per commit).
 *
 * @param options - `dedupWindow` (default 7 days), `now` (default `Date.now`).
 * @returns A {@link Storage} that answers synchronously.
 * @throws TypeError naming a bad option.
 * @example
 * app.webSocket('/sync', syncRoute({ storage: memoryStorage() }))
 */
export function memoryStorage(options: MemoryStorageOptions = {}): Storage {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('memoryStorage(options): options must be an object')
  return new MemoryStorage(_dedupOptions('memoryStorage', options))
}

/** @internal The {@link memoryStorage} implementation. */
class MemoryStorage implements Storage {
  private readonly _resources = new Map<string, MemoryResource>()
  /**
   * Applied writes by client id, then op (a number and a string are
   * different keys, as op `1` and op `"1"` are different ops): a lookup
   * hashes no string made for it, and a busy client's ops are numbers.
   */
  private readonly _applied = new Map<string, ClientOps>()
  /** Every record of {@link MemoryStorage._applied} in commit order (oldest first) from `_oldest` on, for pruning. */
  private _log: AppliedRecord[] = []
  private _oldest = 0
  private readonly _dedup: _ResolvedDedup
  private readonly _prune: _PruneSchedule

  constructor(dedup: _ResolvedDedup) {
    this._dedup = dedup
    this._prune = new _PruneSchedule(dedup.dedupWindow)
  }

  get(resource: string, id: string): StoredEntity | undefined {
    const entity = this._resources.get(resource)?.entities.get(id)
    if (!entity) return undefined
    if (entity.revisionOf) {
      entity.fields = _fillRevisions(entity.fields, entity.revisionOf)
      entity.revisionOf = undefined
    }
    return entity.fields === undefined
      ? { id, rev: entity.rev, value: entity.value }
      : { id, rev: entity.rev, value: entity.value, fields: entity.fields }
  }

  revision(resource: string): number {
    return this._resources.get(resource)?.rev ?? 0
  }

  list(resource: string, options: ListOptions): ListPage {
    const found = this._resources.get(resource)
    const entities: ListedEntity[] = []
    if (!found) return { entities, more: false }
    const { since, limit } = options
    const start = typeof options.after === 'number' ? options.after + 1 : 0
    for (let seq = start; seq < found.order.length; seq++) {
      const id = found.order[seq]
      if (id === undefined) continue
      const entity = found.entities.get(id) as MemoryEntity
      if (since === undefined ? entity.value === null : entity.rev <= since) continue
      if (entities.length === limit) return { entities, more: true }
      entities.push({ id, rev: entity.rev, value: entity.value, cursor: seq })
    }
    return { entities, more: false }
  }

  applied(client: string, op: OpId): AppliedWrite | undefined {
    const ops = this._applied.get(client)
    // Clients number their ops upwards: a new write's op is above every one recorded.
    const record = ops?.get(op)
    if (!record || !_isFresh(record.at, this._dedup.now(), this._dedup.dedupWindow)) return undefined
    return { resource: record.resource, id: record.id, rev: record.rev }
  }

  commit(writes: readonly StorageWrite[]): CommitResult[] {
    const at = this._dedup.now()
    if (this._prune.due(at)) this._prune.pruned(this._pruneApplied(at))
    const batch: CommitBatch = { at, revs: [], revisionOf: undefined, conflicted: undefined }
    const results: CommitResult[] = new Array(writes.length)
    for (let index = 0; index < writes.length; index++)
      results[index] = this._commitOne(writes[index] as StorageWrite, batch, index)
    return results
  }

  private _commitOne(write: StorageWrite, batch: CommitBatch, index: number): CommitResult {
    const { at, revs } = batch
    let found = this._resources.get(write.resource)
    const current = found?.entities.get(write.id)
    // The entities of this batch whose write failed: their later writes (without expectedRev) fail too.
    if (
      write.expectedRev === undefined
        ? batch.conflicted?.has(entityKey(write)) === true
        : (current?.rev ?? 0) !== write.expectedRev
    ) {
      batch.conflicted ??= new Set()
      batch.conflicted.add(entityKey(write))
      return { conflict: true }
    }
    if (!found) {
      found = { rev: 0, order: [], entities: new Map(), tombstones: new Map(), covered: 0 }
      this._resources.set(write.resource, found)
    }
    const rev = ++found.rev
    found.tombstones.delete(write.id)
    if (write.value === null) found.tombstones.set(write.id, at)
    // A tombstone keeps no field revisions.
    revs[index] = rev
    const fields = write.value === null ? undefined : write.fields
    // Filled in at the first read (a placeholder names this write or one before it: their revisions are known now).
    let revisionOf: CommitBatch['revisionOf']
    if (fields?.includes('\u0000')) {
      batch.revisionOf ??= k => revs[k]
      revisionOf = batch.revisionOf
    }
    if (current) {
      current.rev = rev
      current.value = write.value
      current.fields = fields
      current.revisionOf = revisionOf
    } else {
      found.entities.set(write.id, { rev, value: write.value, fields, revisionOf, seq: found.order.length })
      found.order.push(write.id)
    }
    if (write.origin) this._record(write, rev, at)
    return { rev }
  }

  /** Remembers an applied write's origin. The first record of an op is kept (a duplicate the hub let through does not move it). */
  private _record(write: StorageWrite, rev: number, at: number): void {
    const { client, op } = write.origin as { readonly client: string; readonly op: OpId }
    let ops = this._applied.get(client)
    if (!ops) {
      ops = new ClientOps()
      this._applied.set(client, ops)
    }
    const record: AppliedRecord = { resource: write.resource, id: write.id, rev, at, client, op }
    if (ops.add(record)) this._log.push(record)
  }

  compactTombstones(maxAge: number, limit: number): number {
    const cutoff = this._dedup.now() - maxAge
    let removed = 0
    for (const found of this._resources.values()) {
      for (const [id, at] of found.tombstones) {
        if (removed === limit || at > cutoff) break
        const entity = found.entities.get(id) as MemoryEntity
        found.tombstones.delete(id)
        found.entities.delete(id)
        found.order[entity.seq] = undefined
        found.covered = Math.max(found.covered, entity.rev)
        removed++
      }
      if (removed === limit) break
    }
    return removed
  }

  coveredSince(resource: string): number {
    return this._resources.get(resource)?.covered ?? 0
  }

  close(): void {}

  /** Deletes up to a batch of expired records, oldest first; returns how many. */
  private _pruneApplied(now: number): number {
    let deleted = 0
    const log = this._log
    while (this._oldest < log.length && deleted < _PRUNE_BATCH) {
      const record = log[this._oldest] as AppliedRecord
      if (_isFresh(record.at, now, this._dedup.dedupWindow)) break
      const ops = this._applied.get(record.client) as ClientOps
      ops.removeOldest(record)
      if (ops.size === 0) this._applied.delete(record.client)
      this._oldest++
      deleted++
    }
    // The pruned front is dropped once it is most of the log (amortized: each record is copied at most once more).
    if (this._oldest > 1024 && this._oldest * 2 > log.length) {
      this._log = log.slice(this._oldest)
      this._oldest = 0
    }
    return deleted
  }
}

/** Records dropped from the front of a {@link ClientOps} before its lists are copied down. */
const DROPPED_FRONT = 1024

/**
 * One client's applied writes, by op. Clients number their ops upwards, so
 * an op above every earlier one is appended to a list (no hashing, and a
 * new write's lookup is one comparison); a resend is found by binary
 * search. Other ops (strings, numbers out of order) are kept in a map.
 */
class ClientOps {
  /** Numeric ops in increasing order from `_first` on, each recorded in `_inOrder` at the same index. */
  private _ops: number[] = []
  private _inOrder: AppliedRecord[] = []
  private _first = 0
  /** The other records by op (a number and a string are different keys, as op `1` and `"1"` are different ops). */
  private _other: Map<OpId, AppliedRecord> | undefined = undefined
  /** The highest op ever appended (pruned ones included): nothing above it is recorded. */
  private _highest = Number.NEGATIVE_INFINITY

  /** How many records it holds. */
  get size(): number {
    return this._ops.length - this._first + (this._other?.size ?? 0)
  }

  /** The record of an op, if any. */
  get(op: OpId): AppliedRecord | undefined {
    if (typeof op !== 'number') return this._other?.get(op)
    if (op > this._highest) return undefined
    const ops = this._ops
    let low = this._first
    let high = ops.length - 1
    while (low <= high) {
      const mid = (low + high) >>> 1
      const at = ops[mid] as number
      if (at === op) return this._inOrder[mid]
      if (at < op) low = mid + 1
      else high = mid - 1
    }
    return this._other?.get(op)
  }

  /**
   * Adds a record unless its op has one (the first record of an op is kept:
   * a duplicate the hub let through does not move it).
   *
   * @returns Whether it was added.
   */
  add(record: AppliedRecord): boolean {
    const { op } = record
    if (typeof op === 'number' && op > this._highest) {
      this._ops.push(op)
      this._inOrder.push(record)
      this._highest = op
      return true
    }
    if (this.get(op)) return false
    this._other ??= new Map()
    this._other.set(op, record)
    return true
  }

  /** Removes a record that is this client's oldest (pruning goes in commit order). */
  removeOldest(record: AppliedRecord): void {
    if (this._inOrder[this._first] !== record) {
      this._other?.delete(record.op)
      return
    }
    this._inOrder[this._first] = undefined as unknown as AppliedRecord
    this._first++
    if (this._first > DROPPED_FRONT && this._first * 2 > this._ops.length) {
      this._ops = this._ops.slice(this._first)
      this._inOrder = this._inOrder.slice(this._first)
      this._first = 0
    }
  }
}

/** What one `commit()` keeps across its writes. */
interface CommitBatch {
  /** When the batch is committed (stamped on its applied records). */
  readonly at: number
  /** Each applied write's revision, by batch index, for the placeholders of field revisions. */
  readonly revs: (number | undefined)[]
  /** `revs` as `_fillRevisions` reads it (made at the first write that needs it). */
  revisionOf: ((index: number) => number | undefined) | undefined
  /** The entities whose write failed in this batch (made at the first conflict). */
  conflicted: Set<string> | undefined
}

/** An entity's key within one batch. */
function entityKey(write: StorageWrite): string {
  return `${write.resource}\u0000${write.id}`
}
