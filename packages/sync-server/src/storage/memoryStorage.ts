import type { OpId } from '@lensync/protocol'
import {
  _dedupOptions,
  _isFresh,
  _opKey,
  _PRUNE_BATCH,
  _PruneSchedule,
  type _ResolvedDedup,
} from './dedupWindow.ts'
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
  /** The field revisions (`undefined`: none). */
  fields: string | undefined
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
  /** Applied writes by `[client, op]` JSON, in commit order (so oldest first). */
  private readonly _applied = new Map<string, AppliedRecord>()
  private readonly _dedup: _ResolvedDedup
  private readonly _prune: _PruneSchedule

  constructor(dedup: _ResolvedDedup) {
    this._dedup = dedup
    this._prune = new _PruneSchedule(dedup.dedupWindow)
  }

  get(resource: string, id: string): StoredEntity | undefined {
    const entity = this._resources.get(resource)?.entities.get(id)
    if (!entity) return undefined
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
    const record = this._applied.get(appliedKey(client, op))
    if (!record || !_isFresh(record.at, this._dedup.now(), this._dedup.dedupWindow)) return undefined
    return { resource: record.resource, id: record.id, rev: record.rev }
  }

  commit(writes: readonly StorageWrite[]): CommitResult[] {
    const conflicted = new Set<string>()
    const at = this._dedup.now()
    if (this._prune.due(at)) this._prune.pruned(this._pruneApplied(at))
    // Each applied write's revision, by batch index, for the placeholders of field revisions.
    const revs: (number | undefined)[] = []
    return writes.map((write, index) => this._commitOne(write, conflicted, at, revs, index))
  }

  private _commitOne(
    write: StorageWrite,
    conflicted: Set<string>,
    at: number,
    revs: (number | undefined)[],
    index: number,
  ): CommitResult {
    const key = `${write.resource}\u0000${write.id}`
    let found = this._resources.get(write.resource)
    const current = found?.entities.get(write.id)
    if (write.expectedRev === undefined ? conflicted.has(key) : (current?.rev ?? 0) !== write.expectedRev) {
      conflicted.add(key)
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
    const fields = write.value === null ? undefined : _fillRevisions(write.fields, k => revs[k])
    if (current) {
      current.rev = rev
      current.value = write.value
      current.fields = fields
    } else {
      found.entities.set(write.id, { rev, value: write.value, fields, seq: found.order.length })
      found.order.push(write.id)
    }
    if (write.origin) {
      const key = appliedKey(write.origin.client, write.origin.op)
      // The first record of an op is kept (a duplicate the hub let through does not move it).
      if (!this._applied.has(key)) this._applied.set(key, { resource: write.resource, id: write.id, rev, at })
    }
    return { rev }
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
    for (const [key, record] of this._applied) {
      if (deleted === _PRUNE_BATCH || _isFresh(record.at, now, this._dedup.dedupWindow)) break
      this._applied.delete(key)
      deleted++
    }
    return deleted
  }
}

function appliedKey(client: string, op: OpId): string {
  return `${JSON.stringify(client)}\u0000${_opKey(op)}`
}
