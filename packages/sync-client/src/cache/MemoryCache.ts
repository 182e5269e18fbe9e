import { SyncError } from '../SyncError.ts'
import { NoticeBus } from './NoticeBus.ts'
import {
  type ClientRecord,
  type CollectionRecord,
  checkEntry,
  claimDecision,
  entityKey,
  nextCollection,
  releasedRecord,
  replacesEntity,
} from './records.ts'
import type {
  CachedCollection,
  CachedEntity,
  CacheNotice,
  CacheState,
  CacheWriteResult,
  ClaimRule,
  CollectionUpdate,
  LockManagerLike,
  OutboxEntry,
  OutboxQuery,
  SyncCache,
} from './types.ts'

/** Options of {@link memoryCache}. */
export interface MemoryCacheOptions {
  /** The cache name, used in lock names of tab coordination. Default `'memory'`. */
  name?: string
  /**
   * Web Locks for tab coordination. Default `globalThis.navigator.locks` when
   * present; `null` (or none present, as in Node 20) uses the heartbeat fallback.
   */
  locks?: LockManagerLike | null
}

const OK: CacheWriteResult = Object.freeze({ ok: true })
const copy: <T>(value: T) => T = value => structuredClone(value)
const byClientThenOp = (a: OutboxEntry, b: OutboxEntry): number =>
  a.client < b.client ? -1 : a.client > b.client ? 1 : a.op - b.op

/** The Web Locks of this environment, if any. @internal */
export function defaultLocks(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator
  return nav?.locks ?? undefined
}

/**
 * A {@link SyncCache} in memory: the semantics of the IndexedDB cache (values
 * are copied in and out, as IndexedDB clones them) without durability. Every
 * socket given the same object shares it; nothing crosses processes or tabs.
 * Also what an IndexedDB cache falls back to when it cannot be opened.
 *
 * @internal
 */
export class MemoryCache implements SyncCache {
  readonly name: string
  readonly state: CacheState
  readonly opened: Promise<CacheState>
  readonly locks: LockManagerLike | undefined
  private readonly bus: NoticeBus
  private readonly ownsBus: boolean
  private readonly entities = new Map<string, CachedEntity>()
  private readonly collections = new Map<string, CollectionRecord>()
  private readonly outbox = new Map<string, OutboxEntry>()
  private readonly clients = new Map<string, ClientRecord>()

  /**
   * @param name - The cache name.
   * @param locks - Web Locks, or `undefined` for the heartbeat fallback.
   * @param state - What `state` reports (`memory`, with the error an IndexedDB cache fell back on).
   * @param bus - The notice bus to publish on; default a new one of this cache alone.
   */
  constructor(
    name: string,
    locks: LockManagerLike | undefined,
    state: CacheState = { kind: 'memory' },
    bus?: NoticeBus,
  ) {
    this.name = name
    this.locks = locks
    this.state = state
    this.opened = Promise.resolve(state)
    this.ownsBus = bus === undefined
    this.bus = bus ?? new NoticeBus(name, undefined)
  }

  async readEntity(resource: string, id: string, version: number): Promise<CachedEntity | undefined> {
    const key = entityKey(resource, id)
    const stored = this.entities.get(key)
    if (stored === undefined) return undefined
    if (stored.version !== version) {
      this.entities.delete(key)
      return undefined
    }
    return copy(stored)
  }

  async readCollection(resource: string, version: number): Promise<CachedCollection | undefined> {
    const stored = this.collections.get(resource)
    if (stored === undefined) return undefined
    if (stored.version !== version) {
      this.collections.delete(resource)
      for (const [key, entity] of this.entities) {
        if (entity.resource === resource && entity.version === stored.version) this.entities.delete(key)
      }
      return undefined
    }
    const entities: CachedEntity[] = []
    for (const id of stored.ids) {
      const entity = this.entities.get(entityKey(resource, id))
      if (entity !== undefined && entity.version === version) entities.push(copy(entity))
    }
    return { ...copy(stored), entities }
  }

  async writeConfirmed(
    entities: readonly CachedEntity[],
    collection?: CollectionUpdate,
  ): Promise<CacheWriteResult> {
    const written = entities.map(copy)
    for (const entity of written) this.putEntity(entity)
    let rev: { resource: string; version: number; rev: number } | undefined
    if (collection !== undefined) {
      const next = nextCollection(this.collections.get(collection.resource), collection)
      if (next !== undefined) this.collections.set(next.resource, copy(next))
      rev = { resource: collection.resource, version: collection.version, rev: collection.rev }
    }
    this.publish(
      rev === undefined
        ? { kind: 'confirmed', entities: written }
        : { kind: 'confirmed', entities: written, collection: rev },
    )
    return OK
  }

  enqueue(entry: OutboxEntry): Promise<CacheWriteResult> {
    checkEntry(entry)
    const stored = copy(entry)
    this.outbox.set(entityKey(stored.client, String(stored.op)), stored)
    this.publish({ kind: 'enqueued', entry: stored })
    return Promise.resolve(OK)
  }

  async ack(client: string, op: number, confirmed?: CachedEntity, rev?: number): Promise<CacheWriteResult> {
    const key = entityKey(client, String(op))
    const entry = this.outbox.get(key)
    this.outbox.delete(key)
    if (confirmed !== undefined) this.putEntity(copy(confirmed))
    const target = entry ?? confirmed
    if (target !== undefined) {
      const { resource, id } = target
      this.publish({ kind: 'acked', client, op, resource, id, ...(rev === undefined ? {} : { rev }) })
    }
    if (confirmed !== undefined) this.publish({ kind: 'confirmed', entities: [copy(confirmed)] })
    return OK
  }

  async readOutbox(query: OutboxQuery = {}): Promise<OutboxEntry[]> {
    const result: OutboxEntry[] = []
    for (const entry of this.outbox.values()) {
      if ('client' in query && entry.client !== query.client) continue
      if ('resource' in query && (entry.resource !== query.resource || entry.id !== query.id)) continue
      result.push(copy(entry))
    }
    return result.sort(byClientThenOp)
  }

  async outboxClients(): Promise<string[]> {
    const clients = new Set<string>()
    for (const entry of this.outbox.values()) clients.add(entry.client)
    return [...clients].sort()
  }

  async claimClient(client: string, holder: string, now: number, rule: ClaimRule): Promise<boolean> {
    const decision = claimDecision(this.clients.get(client), holder, now, rule)
    if (decision === 'refuse') return false
    this.clients.set(client, { client, holder: decision === 'write' ? holder : '', beat: now })
    return decision === 'write'
  }

  async releaseClient(client: string, holder: string): Promise<void> {
    if (this.clients.get(client)?.holder === holder) this.clients.set(client, releasedRecord(client))
  }

  async pruneClients(before: number): Promise<void> {
    const busy = new Set(await this.outboxClients())
    for (const [client, record] of this.clients) {
      if (record.beat < before && !busy.has(client)) this.clients.delete(client)
    }
  }

  subscribe(listener: (notice: CacheNotice) => void): () => void {
    return this.bus.subscribe(listener)
  }

  notify(notice: CacheNotice): void {
    this.bus.publish(notice)
  }

  async clear(): Promise<number> {
    const dropped = this.outbox.size
    this.entities.clear()
    this.collections.clear()
    this.outbox.clear()
    this.publish({ kind: 'cleared', dropped })
    return dropped
  }

  close(): void {
    if (this.ownsBus) this.bus.close()
  }

  private putEntity(entity: CachedEntity): void {
    const key = entityKey(entity.resource, entity.id)
    if (replacesEntity(this.entities.get(key), entity)) this.entities.set(key, entity)
  }

  private publish(notice: CacheNotice): void {
    this.bus.publish(notice)
  }
}

/**
 * A {@link SyncCache} in memory, with the semantics of {@link indexedDbCache}
 * but nothing kept across a reload: for tests, Node, and several sockets of
 * one page that should act as one browser.
 *
 * @param options - Name and Web Locks (see {@link MemoryCacheOptions}).
 * @returns The cache.
 * @example
 * const cache = memoryCache()
 * const a = websocket(url, { cache }), b = websocket(url, { cache }) // two "tabs"
 */
export function memoryCache(options: MemoryCacheOptions = {}): SyncCache {
  const { name = 'memory', locks } = options
  if (typeof name !== 'string' || name.length === 0) {
    throw new SyncError('BAD_ARGUMENT', 'memoryCache(): `name` must be a non-empty string')
  }
  return new MemoryCache(name, locks === null ? undefined : (locks ?? defaultLocks()))
}
