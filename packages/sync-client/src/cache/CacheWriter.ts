import type { ConflictPolicy, Encoded } from '@lensync/protocol'
import type { EntityReplica } from '../EntityReplica.ts'
import { SyncError } from '../SyncError.ts'
import { type EntryDetection, type EntryTarget, entryOf } from './outboxEntries.ts'
import type { CachedEntity, CacheWriteResult, CollectionUpdate, OutboxEntry, SyncCache } from './types.ts'

/** What was last written to the cache for one replica. */
interface Written {
  /** Own writes queued, by op: the JSON of the entry as queued. */
  readonly ops: Map<number, string>
  /** The confirmed state last written: `kind:rev`, or '' for none. */
  confirmed: string
}

/**
 * Keeps a sync's replicas in a cache: queues each replica's own writes not
 * yet acknowledged (the one still open is queued again, under the same op,
 * whenever it changes), removes the answered ones, and writes the confirmed
 * values. Every method issues its cache request in the caller's task, so an
 * edit is queued in the task that made it. Results are handed to `report`
 * (failures go on `sync.errors`; nothing else changes).
 *
 * @internal
 */
export class CacheWriter {
  private readonly written = new WeakMap<EntityReplica, Written>()

  /**
   * @param cache - The socket's cache.
   * @param resource - The resource name and version written under, and the
   *   conflict policy its writes are sent with (kept with each entry, with the write's base).
   * @param encode - The resource's serializer.
   * @param report - Gets every write's result, and errors met encoding.
   */
  constructor(
    private readonly cache: SyncCache,
    private readonly resource: {
      readonly name: string
      readonly version: number
      readonly onConflict: ConflictPolicy
    },
    private readonly encode: (value: unknown) => Encoded,
    private readonly report: (result: CacheWriteResult) => void,
  ) {}

  private target(replica: EntityReplica): EntryTarget {
    return { resource: this.resource.name, id: replica.id, version: this.resource.version }
  }

  private detection(base: number | undefined): EntryDetection {
    return { base, onConflict: this.resource.onConflict }
  }

  private state(replica: EntityReplica): Written {
    let written = this.written.get(replica)
    if (!written) {
      written = { ops: new Map(), confirmed: '' }
      this.written.set(replica, written)
    }
    return written
  }

  /** Queues what changed of the replica's own writes, removes the answered ones, and writes its confirmed value. */
  persist(replica: EntityReplica): void {
    const removed = this.outbox(replica)
    const record = this.confirmedChange(replica)
    const [first, ...rest] = removed
    if (first) {
      this.track(this.cache.ack(first.client, first.op, record, record?.rev))
      for (const entry of rest) this.track(this.cache.ack(entry.client, entry.op))
    } else if (record) {
      this.track(this.cache.writeConfirmed([record]))
    }
  }

  /**
   * Confirmed values of several replicas and a collection update, in one
   * transaction (a collection snapshot or change), after queueing their outboxes.
   */
  persistMany(replicas: Iterable<EntityReplica>, collection: CollectionUpdate | undefined): void {
    const records: CachedEntity[] = []
    const acks: OutboxEntry[] = []
    for (const replica of replicas) {
      acks.push(...this.outbox(replica))
      const record = this.confirmedChange(replica)
      if (record) records.push(record)
    }
    for (const entry of acks) this.track(this.cache.ack(entry.client, entry.op))
    if (records.length > 0 || collection) this.track(this.cache.writeConfirmed(records, collection))
  }

  /**
   * A replica's own writes as entries, queued where new or changed.
   * @returns the stamps of writes that were queued and are answered now (to remove).
   */
  private outbox(replica: EntityReplica): OutboxEntry[] {
    const written = this.state(replica)
    const live = new Set<number>()
    try {
      for (const write of replica.inFlight) {
        const op = write.op as number
        live.add(op)
        if (written.ops.has(op) && write.cached !== undefined) continue
        const stamp = { client: write.client, op, detection: this.detection(replica.baseRevOf(write)) }
        const entry = entryOf(write, stamp, this.target(replica), this.encode)
        write.cached = JSON.stringify(entry)
        this.queue(written, entry, write.cached)
      }
      const open = replica.openContent()
      if (open) {
        const { client, op } = replica.reserve()
        live.add(op as number)
        const stamp = { client, op, detection: this.detection(replica.openBase) }
        const entry = entryOf(open, stamp, this.target(replica), this.encode)
        this.queue(written, entry, JSON.stringify(entry))
      }
    } catch (cause) {
      this.report({
        ok: false,
        error: new SyncError('CACHE_UNAVAILABLE', 'An edit could not be encoded for the cache', {
          resource: this.resource.name,
          id: replica.id,
          cause,
        }),
      })
    }
    const removed: OutboxEntry[] = []
    for (const op of [...written.ops.keys()]) {
      if (live.has(op)) continue
      const entry = JSON.parse(written.ops.get(op) as string) as OutboxEntry
      written.ops.delete(op)
      removed.push(entry)
    }
    return removed
  }

  private queue(written: Written, entry: OutboxEntry, json: string): void {
    if (written.ops.get(entry.op) === json) return
    written.ops.set(entry.op, json)
    this.track(this.cache.enqueue(entry))
  }

  /** The replica's confirmed record, when it differs from what was last written. */
  private confirmedChange(replica: EntityReplica): CachedEntity | undefined {
    const server = replica.server
    if (server.kind === 'unknown') return undefined
    const written = this.state(replica)
    const mark = `${server.kind}:${server.rev}`
    if (written.confirmed === mark) return undefined
    let value: Encoded | null = null
    if (server.kind === 'present') {
      try {
        value = this.encode(server.value)
      } catch {
        return undefined
      }
    }
    written.confirmed = mark
    return {
      resource: this.resource.name,
      id: replica.id,
      value,
      rev: server.rev,
      version: this.resource.version,
    }
  }

  /** The replica's server state is in the cache as it is (it was just read from there). */
  markConfirmed(replica: EntityReplica): void {
    const server = replica.server
    if (server.kind !== 'unknown') this.state(replica).confirmed = `${server.kind}:${server.rev}`
  }

  /** The replica's own writes as queued, not acknowledged yet, in op order. */
  entries(replica: EntityReplica): OutboxEntry[] {
    const written = this.written.get(replica)
    if (!written) return []
    return [...written.ops.values()].map(json => JSON.parse(json) as OutboxEntry).sort((a, b) => a.op - b.op)
  }

  /** Forgets what was written for a replica (the cache was cleared). */
  forget(replica: EntityReplica): void {
    this.written.delete(replica)
  }

  private track(result: Promise<CacheWriteResult>): void {
    result.then(this.report, error =>
      this.report({
        ok: false,
        error:
          error instanceof SyncError
            ? error
            : new SyncError('CACHE_UNAVAILABLE', 'A cache write failed', { cause: error }),
      }),
    )
  }
}
