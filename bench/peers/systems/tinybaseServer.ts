// TinyBase: `createWsServer` on a `ws` server, with a MergeableStore of its own per path (the
// optional `createPersisterForPath`; a custom persister that keeps it in memory only), so the
// server holds the data as the other servers do and a late joiner syncs from it. Without it
// the TinyBase server only relays between clients.
import { createMergeableStore } from 'tinybase'
import { createCustomPersister } from 'tinybase/persisters'
import { createWsServer, type WsServer } from 'tinybase/synchronizers/synchronizer-ws-server'
import { type AddressInfo, WebSocketServer } from 'ws'
import type { SystemServer } from '../lib/system.ts'
import { REQUEST_TIMEOUT_S } from './tinybaseShared.ts'

let running: { wss: WebSocketServer; server: WsServer } | undefined

const inMemory = () =>
  createCustomPersister(
    createMergeableStore(),
    async () => undefined,
    async () => {},
    () => 0,
    () => {},
    undefined,
    2, // Persists.MergeableStoreOnly (a const enum, which verbatimModuleSyntax cannot import)
  )

/** The TinyBase server. */
export const server: SystemServer = {
  async start() {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await new Promise<void>(resolve => wss.once('listening', () => resolve()))
    running = { wss, server: createWsServer(wss, inMemory, undefined, REQUEST_TIMEOUT_S) }
    return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` }
  },
  async close() {
    await running?.server.destroy()
    running = undefined
  },
}
