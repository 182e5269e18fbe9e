import { randomUUID } from 'node:crypto'
import { createApp } from './createApp.ts'
import type { SyncServer, SyncServerOptions } from './hub/syncTypes.ts'
import { redisPresenceBus } from './presence/redisPresenceBus.ts'
import { memoryStorage } from './storage/memoryStorage.ts'
import { type PostgresStorageOptions, postgresStorage } from './storage/postgresStorage.ts'
import { redisStorage } from './storage/redisStorage.ts'
import type { Storage } from './storage/Storage.ts'
import { DEFAULT_DATA_FILE, sqliteStorage } from './storage/sqliteStorage.ts'
import { syncRoute } from './syncRoute.ts'

/** The options of {@link createSyncServer}: every {@link SyncServerOptions} field, and `postgres`. */
export interface CreateSyncServerOptions extends SyncServerOptions {
  /**
   * PostgreSQL holds the entities, shared by every server node that uses
   * it: a URL (`'postgres://app@127.0.0.1:5432/app'`) or `postgresStorage`
   * options. The server creates and migrates its tables. `dataFile` and
   * `memory` are then unused; not together with `redis`. Default: none (SQLite).
   */
  postgres?: string | PostgresStorageOptions
  /**
   * How long the storage the server makes remembers an applied write (ms),
   * so a write a client resends (after a lost ack) is answered without
   * being applied twice. Passed to that storage (a `dedupWindow` in `redis`
   * or `postgres` options wins); unused with `storage`. Default 7 days
   * (`604_800_000`).
   */
  dedupWindow?: number
}

/**
 * Starts a whole sync server in one call: an app with the sync route
 * (`/sync`) and `GET /health` (`{ ok: true, node, connections }`), listening.
 *
 * Storage: `options.storage` when given (the caller closes it), else
 * Redis with `redis` (a URL or `redisStorage` options: several nodes on one
 * Redis serve the same entities), else PostgreSQL with `postgres` (a URL or
 * `postgresStorage` options: the same for several nodes on one database), else `memoryStorage()` with
 * `memory: true`, else SQLite at `dataFile` (default `'./data/lensync.db'`;
 * `':memory:'` keeps nothing on disk).
 *
 * @param options - `port` (8787; 0 picks a free one), `host` ('127.0.0.1'),
 *   `dataFile`, `memory`, `storage`, `dedupWindow` (7 days), `path` ('/sync'), and every `createApp`
 *   and `syncRoute` option.
 * @returns The running server: `port`, `url`, `node`, `hub`, `disconnect()`, `close()`.
 * @throws TypeError for a bad option; the Node error when the port is taken.
 * @example
 * const server = await createSyncServer({ port: 0, memory: true })
 * console.log(server.url) // ws://127.0.0.1:54321/sync
 * await server.close()
 */
export async function createSyncServer(options: CreateSyncServerOptions = {}): Promise<SyncServer> {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('createSyncServer(options): options must be an object')
  const { port = 8787, host = '127.0.0.1', path = '/sync', memory = false, redis, postgres } = options
  if (redis !== undefined && typeof redis !== 'string' && (typeof redis !== 'object' || redis === null))
    throw new TypeError(
      `createSyncServer(options): redis must be a URL such as 'redis://127.0.0.1:6379' or redisStorage options`,
    )
  if (
    postgres !== undefined &&
    typeof postgres !== 'string' &&
    (typeof postgres !== 'object' || postgres === null)
  )
    throw new TypeError(
      `createSyncServer(options): postgres must be a URL such as 'postgres://app@127.0.0.1:5432/app' or postgresStorage options`,
    )
  if (redis !== undefined && postgres !== undefined)
    throw new TypeError('createSyncServer(options): redis and postgres cannot be used together; choose one')
  if (typeof memory !== 'boolean') throw new TypeError('createSyncServer(options): memory must be a boolean')
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new TypeError(`createSyncServer(options): path must start with '/', such as '/sync'`)

  let storage: Storage | undefined = options.storage
  const owned = storage === undefined
  if (!storage) {
    const dedup = options.dedupWindow === undefined ? {} : { dedupWindow: options.dedupWindow }
    if (redis !== undefined)
      storage = redisStorage({
        logger: options.logger ?? console,
        ...dedup,
        ...(typeof redis === 'string' ? { url: redis } : redis),
      })
    else if (postgres !== undefined)
      storage = postgresStorage({
        logger: options.logger ?? console,
        ...dedup,
        ...(typeof postgres === 'string' ? { url: postgres } : postgres),
      })
    else
      storage = memory
        ? memoryStorage(dedup)
        : sqliteStorage({ file: options.dataFile ?? DEFAULT_DATA_FILE, ...dedup })
  }
  // Presence across the nodes of one Redis: the same URL and prefix, named after the hub's node.
  let { node, presenceBus } = options
  if (presenceBus === undefined && owned && redis !== undefined) {
    const given = typeof redis === 'string' ? { url: redis } : redis
    node ??= randomUUID().slice(0, 8)
    presenceBus = redisPresenceBus({
      url: given.url,
      prefix: given.prefix,
      node,
      redisOptions: given.redisOptions,
      logger: options.logger ?? console,
    })
  }
  let started: ReturnType<typeof syncRoute> | undefined
  try {
    const app = createApp(options)
    const sync = syncRoute({ ...options, storage, logger: app.options.logger, node, presenceBus })
    started = sync
    app.webSocket(path, sync)
    app.get('/health', () => ({ ok: true, node: sync.hub.node, connections: sync.hub.connections }))
    // Shared storage: follow its change feed before taking connections.
    await sync.hub.ready
    const address = await app.listen({ port, host })
    let closing: Promise<void> | undefined
    const urlHost = address.host.includes(':') ? `[${address.host}]` : address.host
    return {
      port: address.port,
      url: `ws://${urlHost}:${address.port}${path}`,
      node: sync.hub.node,
      hub: sync.hub,
      disconnect: (predicate, reason) => sync.hub.disconnect(predicate, reason),
      close() {
        closing ??= (async () => {
          // Drains: nothing more is accepted; what was is committed and
          // acknowledged before each session gets 1001, so no client has to
          // resend a write this process stored.
          await sync.hub.close()
          await app.close()
          await sync.close()
          if (owned) await storage.close()
        })()
        return closing
      },
    }
  } catch (error) {
    // Its presence bus may hold connections (Redis).
    await started?.hub.close().catch(() => {})
    if (owned) await storage.close()
    throw error
  }
}
