import {
  indexedDbCache,
  memoryCache,
  type Socket,
  type SyncCache,
  type WebSocketOptions,
  websocket,
} from '@lensync/sync-client'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach } from 'vitest'
import { WebSocket } from 'ws'
import { fastReconnect, frameReader } from '../helpers.ts'
import { type InstrumentedFactory, instrumented, uniqueName } from './cacheHelpers.ts'
import { type LocksShim, locksShim } from './locksShim.ts'

/** A protocol message as sent or received. */
export type Envelope = { t: string } & Record<string, unknown>

/** The envelopes of a text frame (one envelope or an array of them). */
export const envelopesOf = (frame: string): Envelope[] => {
  const parsed = JSON.parse(frame) as Envelope | Envelope[]
  return Array.isArray(parsed) ? parsed : [parsed]
}

/**
 * A tab's network: a `ws` WebSocket that records what each of the tab's
 * connections sent (with the client id of its `hello`), and can be cut
 * (`offline()`: connections dropped, new ones refused) until `online()`.
 */
export function tabNetwork() {
  let cut = false
  const live = new Set<WebSocket>()
  /** Every write sent, with the client id of the connection's hello (or the write's `client`). */
  const writes: Array<Envelope & { sender: string }> = []
  /** Every envelope sent, in order. */
  const sent: Envelope[] = []
  class TabWebSocket extends WebSocket {
    private hello: string | undefined
    private readonly reader = frameReader()
    constructor(url: string | URL, protocols?: string | string[]) {
      // Port 1 on the loopback refuses the connection.
      super(cut ? 'ws://127.0.0.1:1/' : url, protocols)
      live.add(this)
      this.once('close', () => live.delete(this))
      this.on('message', data => this.reader.received(String(data)))
    }
    override send(data: unknown, ...rest: unknown[]): void {
      for (const envelope of envelopesOf(this.reader.sent(String(data)))) {
        sent.push(envelope)
        if (envelope.t === 'hello') this.hello = envelope.client as string
        if (envelope.t === 'put' || envelope.t === 'patch' || envelope.t === 'del')
          writes.push({ ...envelope, sender: (envelope.client as string | undefined) ?? this.hello ?? '' })
      }
      // biome-ignore lint/suspicious/noExplicitAny: forwarding ws's overloads
      ;(super.send as any)(data, ...rest)
    }
  }
  return {
    WebSocket: TabWebSocket as unknown as typeof WebSocket,
    writes,
    sent,
    get isOffline(): boolean {
      return cut
    },
    offline(): void {
      cut = true
      for (const ws of live) ws.terminate()
    },
    online(): void {
      cut = false
    },
  }
}

/** A tab's network (see {@link tabNetwork}). */
export type TabNetwork = ReturnType<typeof tabNetwork>

/** How a test browser keeps its cache. */
export type CacheKind = 'memory' | 'indexeddb'

/** A tab: its cache object, socket and network. */
export interface Tab {
  readonly cache: SyncCache
  readonly socket: Socket
  readonly net: TabNetwork
  /** The lock a tab holds for its client id (Web Locks). */
  readonly lockName: string
}

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Runs `cleanup` after the test (newest first). */
export function afterTest(cleanup: () => unknown): void {
  cleanups.push(cleanup)
}

/**
 * One browser for sync tests: its tabs share a cache — one `memoryCache`
 * object (`memory`), or `indexedDbCache` objects on one fake IndexedDB
 * (`indexeddb`, one object per tab, as pages have) — and Web Locks (a
 * shim; `locks: false` for the heartbeat fallback).
 */
export function testBrowser(kind: CacheKind, { locks = true }: { locks?: boolean } = {}) {
  const name = uniqueName(`browser-${kind}`)
  const shim: LocksShim | undefined = locks ? locksShim() : undefined
  const idb: InstrumentedFactory = instrumented(new IDBFactory())
  const shared = kind === 'memory' ? memoryCache({ name, locks: shim ?? null }) : undefined
  return {
    name,
    locks: shim,
    idb,
    /** A new tab (or the page after a reload) on `url`; its syncs are the caller's. */
    tab(url: string, options: WebSocketOptions = {}): Tab {
      const cache = shared ?? indexedDbCache(name, { indexedDB: idb.factory, locks: shim ?? null })
      if (!shared) afterTest(() => cache.close())
      const net = tabNetwork()
      const socket = websocket(url, {
        WebSocket: net.WebSocket as never,
        reconnect: fastReconnect,
        cache,
        ...options,
      })
      afterTest(() => net.offline())
      return { cache, socket, net, lockName: `lensync:${name}:client:${socket.clientId}` }
    },
  }
}

/** A test browser (see {@link testBrowser}). */
export type TestBrowser = ReturnType<typeof testBrowser>
