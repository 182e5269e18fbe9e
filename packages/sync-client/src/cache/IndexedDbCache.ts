import { SyncError } from '../SyncError.ts'
import { cacheError, unavailable } from './cacheError.ts'
import {
  BY_CLIENT,
  BY_ENTITY,
  BY_RESOURCE,
  CLIENTS,
  COLLECTIONS,
  createSchema,
  DB_VERSION,
  ENTITIES,
  hasSchema,
  OUTBOX,
  onResult,
  type TxResult,
  transact,
} from './idb.ts'
import { defaultLocks, MemoryCache } from './MemoryCache.ts'
import { NoticeBus } from './NoticeBus.ts'
import {
  type ClientRecord,
  type CollectionRecord,
  checkEntry,
  claimDecision,
  nextCollection,
  releasedRecord,
  replacesEntity,
} from './records.ts'
import type {
  BroadcastChannelConstructor,
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

/** Options of {@link indexedDbCache}: the browser APIs it uses, injectable for tests and other environments. */
export interface IndexedDbCacheOptions {
  /**
   * The IndexedDB factory. Default `globalThis.indexedDB`; without one the
   * cache works in memory and reports `CACHE_UNAVAILABLE` (in Node, pass
   * `indexedDB` from `fake-indexeddb`, or use `memoryCache()`).
   */
  indexedDB?: IDBFactory
  /**
   * The BroadcastChannel constructor that tells other tabs of changes.
   * Default `globalThis.BroadcastChannel`; `null` keeps notices in this cache object.
   */
  BroadcastChannel?: BroadcastChannelConstructor | null
  /**
   * Web Locks for tab coordination. Default `globalThis.navigator.locks`;
   * `null` (or none present) uses the heartbeat fallback.
   */
  locks?: LockManagerLike | null
}

const OK: CacheWriteResult = Object.freeze({ ok: true })

/**
 * A {@link SyncCache} in an IndexedDB database named `lensync:<name>`.
 * Until the database is open, operations wait for it; when it cannot be
 * opened (or is lost later) the cache goes on in memory, with the error in `state`.
 *
 * @internal
 */
export class IndexedDbCache implements SyncCache {
  readonly name: string
  readonly opened: Promise<CacheState>
  readonly locks: LockManagerLike | undefined
  private current: CacheState = { kind: 'opening' }
  private db: IDBDatabase | undefined
  private fallback: MemoryCache | undefined
  private closed = false
  private readonly bus: NoticeBus

  /**
   * @param name - The cache name.
   * @param factory - The IndexedDB factory, or `undefined` when there is none.
   * @param BroadcastChannel - The channel constructor, or `undefined` for none.
   * @param locks - Web Locks, or `undefined` for the heartbeat fallback.
   */
  constructor(
    name: string,
    factory: IDBFactory | undefined,
    BroadcastChannel: BroadcastChannelConstructor | undefined,
    locks: LockManagerLike | undefined,
  ) {
    this.name = name
    this.locks = locks
    this.bus = new NoticeBus(name, BroadcastChannel)
    this.opened = this.open(factory)
  }

  get state(): CacheState {
    return this.current
  }

  async readEntity(resource: string, id: string, version: number): Promise<CachedEntity | undefined> {
    const db = await this.database()
    if (db === undefined) return this.memory().readEntity(resource, id, version)
    return this.read('reading a cached value', [ENTITIES], tx => {
      const store = tx.objectStore(ENTITIES)
      let found: CachedEntity | undefined
      onResult(store.get([resource, id]) as IDBRequest<CachedEntity | undefined>, stored => {
        if (stored === undefined) return
        if (stored.version === version) found = stored
        else store.delete([resource, id])
      })
      return () => found
    })
  }

  async readCollection(resource: string, version: number): Promise<CachedCollection | undefined> {
    const db = await this.database()
    if (db === undefined) return this.memory().readCollection(resource, version)
    return this.read('reading a cached collection', [COLLECTIONS, ENTITIES], tx => {
      const collections = tx.objectStore(COLLECTIONS)
      const entities = tx.objectStore(ENTITIES)
      let result: CachedCollection | undefined
      onResult(collections.get(resource) as IDBRequest<CollectionRecord | undefined>, stored => {
        if (stored === undefined) return
        if (stored.version !== version) {
          // Values of another version are dropped with their collection; outbox entries stay.
          collections.delete(resource)
          const cursor = entities.index(BY_RESOURCE).openCursor(resource)
          onResult(cursor, at => {
            if (at === null) return
            if ((at.value as CachedEntity).version === stored.version) at.delete()
            at.continue()
          })
          return
        }
        const found: CachedEntity[] = []
        result = { ...stored, entities: found }
        for (const id of stored.ids) {
          onResult(entities.get([resource, id]) as IDBRequest<CachedEntity | undefined>, entity => {
            if (entity !== undefined && entity.version === version) found.push(entity)
          })
        }
      })
      return () => result
    })
  }

  async writeConfirmed(
    entities: readonly CachedEntity[],
    collection?: CollectionUpdate,
  ): Promise<CacheWriteResult> {
    const db = await this.database()
    if (db === undefined) return this.memory().writeConfirmed(entities, collection)
    const result = await transact(db, [ENTITIES, COLLECTIONS], 'readwrite', tx => {
      putEntities(tx, entities)
      if (collection !== undefined) {
        const store = tx.objectStore(COLLECTIONS)
        onResult(store.get(collection.resource) as IDBRequest<CollectionRecord | undefined>, stored => {
          const next = nextCollection(stored, collection)
          if (next !== undefined) store.put(next)
        })
      }
      return () => undefined
    })
    const rev =
      collection === undefined
        ? undefined
        : { resource: collection.resource, version: collection.version, rev: collection.rev }
    this.publish(
      rev === undefined ? { kind: 'confirmed', entities } : { kind: 'confirmed', entities, collection: rev },
    )
    return this.outcome(result, 'writing confirmed values')
  }

  enqueue(entry: OutboxEntry): Promise<CacheWriteResult> {
    checkEntry(entry)
    const db = this.db
    if (db === undefined) {
      if (this.fallback !== undefined) return this.fallback.enqueue(entry)
      // Still opening: queued behind the open, in call order.
      return this.opened.then(() => this.enqueue(entry))
    }
    // The request is issued now, in the caller's task (transact's body runs synchronously).
    const pending = transact(db, [OUTBOX], 'readwrite', tx => {
      tx.objectStore(OUTBOX).put(entry)
      return () => undefined
    })
    const notice: CacheNotice = { kind: 'enqueued', entry: structuredClone(entry) }
    return pending.then(result => {
      this.publish(notice)
      return this.outcome(result, 'writing the outbox')
    })
  }

  async ack(client: string, op: number, confirmed?: CachedEntity, rev?: number): Promise<CacheWriteResult> {
    const db = await this.database()
    if (db === undefined) return this.memory().ack(client, op, confirmed, rev)
    let acked: OutboxEntry | undefined
    const result = await transact(db, [OUTBOX, ENTITIES], 'readwrite', tx => {
      const outbox = tx.objectStore(OUTBOX)
      onResult(outbox.get([client, op]) as IDBRequest<OutboxEntry | undefined>, entry => {
        acked = entry
        if (entry !== undefined) outbox.delete([client, op])
      })
      if (confirmed !== undefined) putEntities(tx, [confirmed])
      return () => undefined
    })
    const target = acked ?? confirmed
    if (target !== undefined) {
      const { resource, id } = target
      this.publish({ kind: 'acked', client, op, resource, id, ...(rev === undefined ? {} : { rev }) })
    }
    if (confirmed !== undefined) this.publish({ kind: 'confirmed', entities: [confirmed] })
    return this.outcome(result, 'removing an acknowledged write')
  }

  async readOutbox(query: OutboxQuery = {}): Promise<OutboxEntry[]> {
    const db = await this.database()
    if (db === undefined) return this.memory().readOutbox(query)
    return this.read(
      'reading the outbox',
      [OUTBOX],
      tx => {
        const store = tx.objectStore(OUTBOX)
        // Index entries with one key come in primary key order: client id, then op id.
        const request =
          'client' in query
            ? store.index(BY_CLIENT).getAll(query.client)
            : 'resource' in query
              ? store.index(BY_ENTITY).getAll([query.resource, query.id])
              : store.getAll()
        let entries: OutboxEntry[] = []
        onResult(request as IDBRequest<OutboxEntry[]>, found => {
          entries = found
        })
        return () => entries
      },
      'readonly',
    )
  }

  async outboxClients(): Promise<string[]> {
    const db = await this.database()
    if (db === undefined) return this.memory().outboxClients()
    return this.read(
      'reading the outbox',
      [OUTBOX],
      tx => {
        const clients: string[] = []
        onResult(tx.objectStore(OUTBOX).index(BY_CLIENT).openKeyCursor(null, 'nextunique'), cursor => {
          if (cursor === null) return
          clients.push(cursor.key as string)
          cursor.continue()
        })
        return () => clients
      },
      'readonly',
    )
  }

  async claimClient(client: string, holder: string, now: number, rule: ClaimRule): Promise<boolean> {
    const db = await this.database()
    if (db === undefined) return this.memory().claimClient(client, holder, now, rule)
    // Read and write in one transaction: a compare-and-set that readwrite transactions serialize across tabs.
    return this.read('writing a liveness record', [CLIENTS], tx => {
      const store = tx.objectStore(CLIENTS)
      let claimed = false
      onResult(store.get(client) as IDBRequest<ClientRecord | undefined>, stored => {
        const decision = claimDecision(stored, holder, now, rule)
        if (decision === 'refuse') return
        claimed = decision === 'write'
        store.put({ client, holder: claimed ? holder : '', beat: now } satisfies ClientRecord)
      })
      return () => claimed
    })
  }

  async releaseClient(client: string, holder: string): Promise<void> {
    const db = await this.database()
    if (db === undefined) return this.memory().releaseClient(client, holder)
    await this.read('removing a liveness record', [CLIENTS], tx => {
      const store = tx.objectStore(CLIENTS)
      onResult(store.get(client) as IDBRequest<ClientRecord | undefined>, stored => {
        if (stored?.holder === holder) store.put(releasedRecord(client))
      })
      return () => undefined
    })
  }

  async pruneClients(before: number): Promise<void> {
    const db = await this.database()
    if (db === undefined) return this.memory().pruneClients(before)
    await this.read('pruning liveness records', [CLIENTS, OUTBOX], tx => {
      const byClient = tx.objectStore(OUTBOX).index(BY_CLIENT)
      const clients = tx.objectStore(CLIENTS)
      onResult(clients.openCursor(), cursor => {
        if (cursor === null) return
        const record = cursor.value as ClientRecord
        if (record.beat < before) {
          onResult(byClient.count(record.client), count => {
            if (count === 0) clients.delete(record.client)
          })
        }
        cursor.continue()
      })
      return () => undefined
    })
  }

  subscribe(listener: (notice: CacheNotice) => void): () => void {
    return this.bus.subscribe(listener)
  }

  notify(notice: CacheNotice): void {
    this.bus.publish(notice)
  }

  async clear(): Promise<number> {
    const db = await this.database()
    if (db === undefined) return this.memory().clear()
    const dropped = await this.read('clearing the cache', [ENTITIES, COLLECTIONS, OUTBOX], tx => {
      let count = 0
      onResult(tx.objectStore(OUTBOX).count(), n => {
        count = n
      })
      for (const name of [ENTITIES, COLLECTIONS, OUTBOX]) tx.objectStore(name).clear()
      return () => count
    })
    this.publish({ kind: 'cleared', dropped })
    return dropped
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.db?.close()
    this.db = undefined
    this.bus.close()
    // Later calls do not reach the database: they work on an empty memory cache.
    if (this.fallback === undefined) this.fallBack(unavailable(`The cache "${this.name}" was closed`))
  }

  private open(factory: IDBFactory | undefined): Promise<CacheState> {
    if (factory === undefined) {
      return Promise.resolve(
        this.fallBack(
          unavailable(
            'No IndexedDB here: pass indexedDbCache(name, { indexedDB }) (e.g. from fake-indexeddb in Node) or use memoryCache()',
          ),
        ),
      )
    }
    return new Promise<CacheState>(resolve => {
      let request: IDBOpenDBRequest
      try {
        request = factory.open(`lensync:${this.name}`, DB_VERSION)
      } catch (error) {
        resolve(this.fallBack(unavailable(`IndexedDB refused to open the cache "${this.name}"`, error)))
        return
      }
      let settled = false
      const fail = (error: SyncError) => {
        if (settled) return
        settled = true
        resolve(this.fallBack(error))
      }
      request.onupgradeneeded = () => createSchema(request.result)
      request.onblocked = () =>
        fail(
          unavailable(
            `Opening the cache "${this.name}" is blocked by another tab holding an older version open`,
          ),
        )
      request.onerror = event => {
        // Handled here: keep the browser from reporting it as uncaught as well.
        event.preventDefault?.()
        fail(unavailable(`IndexedDB could not open the cache "${this.name}"`, request.error))
      }
      request.onsuccess = () => {
        const db = request.result
        if (settled || this.closed) {
          // We moved on (blocked, then opened after all; or closed meanwhile): do not hold it open.
          db.close()
          if (!settled) fail(unavailable(`The cache "${this.name}" was closed while it opened`))
          return
        }
        if (!hasSchema(db)) {
          db.close()
          fail(unavailable(`The database "lensync:${this.name}" exists but is not a lensync cache`))
          return
        }
        // A newer page upgrading the database, or the browser clearing site data: go on in memory.
        db.onversionchange = () => this.lose(db, 'Another page upgraded the cache database')
        db.onclose = () => this.lose(db, 'The browser closed the cache database')
        settled = true
        this.db = db
        this.current = { kind: 'indexeddb' }
        resolve(this.current)
      }
    })
  }

  private lose(db: IDBDatabase, why: string): void {
    db.close()
    if (this.db !== db) return
    this.db = undefined
    this.fallBack(unavailable(why))
  }

  private fallBack(error: SyncError): CacheState {
    this.current = { kind: 'memory', error }
    this.fallback = new MemoryCache(this.name, this.locks, this.current, this.bus)
    return this.current
  }

  /** The open database, or `undefined` once the cache works in memory. */
  private async database(): Promise<IDBDatabase | undefined> {
    if (this.db === undefined && this.fallback === undefined) await this.opened
    return this.db
  }

  private memory(): MemoryCache {
    // database() returned undefined: the open settled without a database, so the fallback exists.
    return this.fallback!
  }

  /** Runs a transaction whose failure rejects (reads, and the writes that return a value). */
  private async read<T>(
    doing: string,
    stores: readonly string[],
    body: (tx: IDBTransaction) => () => T,
    mode: IDBTransactionMode = 'readwrite',
  ): Promise<T> {
    const db = this.db
    if (db === undefined)
      throw cacheError(new DOMException('The cache database is gone', 'InvalidStateError'), doing)
    const result = await transact(db, stores, mode, body)
    if (!result.ok) throw cacheError(result.error, doing)
    return result.value
  }

  private outcome(result: TxResult<unknown>, doing: string): CacheWriteResult {
    return result.ok ? OK : { ok: false, error: cacheError(result.error, doing) }
  }

  private publish(notice: CacheNotice): void {
    this.bus.publish(notice)
  }
}

/** Puts each entity unless the stored record is newer (inside the caller's transaction). */
function putEntities(tx: IDBTransaction, entities: readonly CachedEntity[]): void {
  const store = tx.objectStore(ENTITIES)
  for (const entity of entities) {
    onResult(store.get([entity.resource, entity.id]) as IDBRequest<CachedEntity | undefined>, stored => {
      if (replacesEntity(stored, entity)) store.put(entity)
    })
  }
}

/**
 * A {@link SyncCache} kept in IndexedDB (database `lensync:<name>`), shared by
 * every tab of the origin that opens the same name: confirmed values, cached
 * collections and the outbox survive reloads and closed tabs. Tabs tell each
 * other of changes through a BroadcastChannel. When IndexedDB cannot be opened
 * (private mode, blocked, missing) the cache works in memory and its `state`
 * carries the `CACHE_UNAVAILABLE` error; the sync reports it and goes on.
 *
 * @param name - The cache name (e.g. the app's name): a non-empty string.
 * @param options - Injected `indexedDB`, `BroadcastChannel` and `locks` (see {@link IndexedDbCacheOptions}).
 * @returns The cache; it opens in the background (`cache.opened`).
 * @throws SyncError (`BAD_ARGUMENT`) when `name` is not a non-empty string.
 * @example
 * const socket = websocket('/sync', { cache: indexedDbCache('my-app') })
 * // Node tests: indexedDbCache('t', { indexedDB: new IDBFactory() }) with fake-indexeddb
 */
export function indexedDbCache(name: string, options: IndexedDbCacheOptions = {}): SyncCache {
  if (typeof name !== 'string' || name.length === 0) {
    throw new SyncError(
      'BAD_ARGUMENT',
      "indexedDbCache(): `name` must be a non-empty string, e.g. indexedDbCache('my-app')",
    )
  }
  const g = globalThis as { indexedDB?: IDBFactory; BroadcastChannel?: BroadcastChannelConstructor }
  const factory = options.indexedDB ?? g.indexedDB
  const channel =
    options.BroadcastChannel === null ? undefined : (options.BroadcastChannel ?? g.BroadcastChannel)
  const locks = options.locks === null ? undefined : (options.locks ?? defaultLocks())
  return new IndexedDbCache(name, factory, channel, locks)
}
