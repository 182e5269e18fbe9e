import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PROTOCOL_NAME, type ServerMessage } from '@lensync/protocol'
import { createSyncServer, type Logger, type SyncServer, type SyncServerOptions } from '@lensync/sync-server'
import { vi } from 'vitest'
import WebSocket from 'ws'
import { POSTGRES_URL, postgresSchema } from './support/postgres.ts'
import { REDIS_URL, redisPrefix } from './support/redis.ts'

/** A logger that records instead of printing. */
export function quietLogger() {
  return { error: vi.fn(), warn: vi.fn(), info: vi.fn() } satisfies Logger
}

/** A sync server on 127.0.0.1, a free port, memory storage unless told otherwise. */
export function startServer(options: SyncServerOptions = {}): Promise<SyncServer> {
  return createSyncServer({
    port: 0,
    memory: options.storage === undefined && !options.dataFile && !options.redis,
    logger: quietLogger(),
    ...options,
  })
}

/**
 * The storages hub tests run on: local (memory, and a SQLite file — the
 * default), and Redis and PostgreSQL, where answers and broadcasts come back
 * through the change feed; a client must see no difference.
 */
export const STORAGE_KINDS = ['memory', 'sqlite', 'redis', 'postgres'] as const

const tmpDirs: string[] = []

/** A fresh SQLite file in a temporary directory (the directories go when the process exits). */
function tmpDataFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lensync-hub-'))
  if (tmpDirs.length === 0)
    process.once('exit', () => {
      for (const made of tmpDirs) rmSync(made, { recursive: true, force: true })
    })
  tmpDirs.push(dir)
  return join(dir, 'lensync.db')
}

/**
 * {@link startServer} on one of the {@link STORAGE_KINDS} (Redis under a
 * fresh key prefix, PostgreSQL in a fresh schema).
 */
export function startServerOn(
  kind: (typeof STORAGE_KINDS)[number],
  options: SyncServerOptions = {},
): Promise<SyncServer> {
  if (kind === 'postgres')
    return createSyncServer({
      port: 0,
      logger: quietLogger(),
      ...options,
      postgres: { url: POSTGRES_URL, schema: postgresSchema() },
    })
  if (kind === 'sqlite') return startServer({ ...options, dataFile: tmpDataFile() })
  return startServer(
    kind === 'redis' ? { ...options, redis: { url: REDIS_URL, prefix: redisPrefix() } } : options,
  )
}

/** A raw protocol client over `ws`: sends envelopes, collects every envelope received (batches flattened). */
export interface RawClient {
  readonly ws: WebSocket
  /** Every envelope received so far, in order. */
  readonly received: ServerMessage[]
  /** Every raw frame received so far. */
  readonly frames: string[]
  /** Sends an envelope (JSON-encoded), an array of them, or raw text / bytes as is. */
  send(data: object | string | Uint8Array): void
  /** The next envelope not taken yet that matches, waiting for it when needed. */
  next<T extends ServerMessage = ServerMessage>(
    match?: Partial<ServerMessage> | ((m: ServerMessage) => boolean),
  ): Promise<T>
  /** Resolves with the close code when the connection closed. */
  readonly closed: Promise<number>
  /** Resolves with the close reason when the connection closed. */
  readonly closeReason: Promise<string>
  close(): Promise<number>
}

/**
 * Opens a raw client (subprotocol `lensync.v1`) and waits for the open.
 *
 * @param url - The sync URL.
 * @param options - Extra handshake headers.
 */
export async function rawClient(
  url: string,
  options: { headers?: Record<string, string> } = {},
): Promise<RawClient> {
  const ws = new WebSocket(url, PROTOCOL_NAME, { headers: options.headers })
  const received: ServerMessage[] = []
  const frames: string[] = []
  const taken = new Set<number>()
  const waiters = new Set<() => void>()
  const closed = new Promise<number>(resolve => ws.on('close', code => resolve(code)))
  const closeReason = new Promise<string>(resolve =>
    ws.on('close', (_code, reason) => resolve(String(reason))),
  )
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? '' : data.toString()
    frames.push(text)
    const parsed = JSON.parse(text) as ServerMessage | ServerMessage[]
    if (Array.isArray(parsed)) received.push(...parsed)
    else received.push(parsed)
    for (const wake of [...waiters]) wake()
  })
  ws.on('close', () => {
    for (const wake of [...waiters]) wake()
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const matches = (m: ServerMessage, match: Parameters<RawClient['next']>[0]) => {
    if (match === undefined) return true
    if (typeof match === 'function') return match(m)
    return Object.entries(match).every(
      ([k, v]) => JSON.stringify((m as unknown as Record<string, unknown>)[k]) === JSON.stringify(v),
    )
  }
  const client: RawClient = {
    ws,
    received,
    frames,
    send(data) {
      ws.send(typeof data === 'string' || data instanceof Uint8Array ? data : JSON.stringify(data))
    },
    next(match) {
      return new Promise((resolve, reject) => {
        const look = () => {
          for (let i = 0; i < received.length; i++) {
            if (!taken.has(i) && matches(received[i] as ServerMessage, match)) {
              taken.add(i)
              waiters.delete(look)
              resolve(received[i] as never)
              return
            }
          }
          if (ws.readyState === WebSocket.CLOSED) {
            waiters.delete(look)
            reject(new Error(`closed before a matching envelope arrived; got ${JSON.stringify(received)}`))
          }
        }
        waiters.add(look)
        look()
      })
    },
    closed,
    closeReason,
    close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000)
      return closed
    },
  }
  return client
}

/** A superjson-style envelope of plain JSON. */
export function enc(json: unknown): { json: unknown } {
  return { json }
}
