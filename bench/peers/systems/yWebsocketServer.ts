// Yjs + y-websocket: the reference server of y-websocket 3 (`@y/websocket-server`'s
// `setupWSConnection`, documents in memory, no persistence) on a `ws` server.
// @y/websocket-server 0.1.5 targets the Yjs 14 prereleases (its y-protocols needs `@y/y`, which
// the registry does not have); 0.1.1 is the same server for Yjs 13, which y-websocket 3 uses.
import { setupWSConnection } from '@y/websocket-server/utils'
import { type AddressInfo, WebSocketServer } from 'ws'
import type { SystemServer } from '../lib/system.ts'

let wss: WebSocketServer | undefined

/** The y-websocket server. */
export const server: SystemServer = {
  async start() {
    const created = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    wss = created
    await new Promise<void>(resolve => created.once('listening', () => resolve()))
    created.on('connection', (socket, request) => setupWSConnection(socket, request))
    return { url: `ws://127.0.0.1:${(created.address() as AddressInfo).port}` }
  },
  async close() {
    const server = wss
    wss = undefined
    if (!server) return
    for (const client of server.clients) client.terminate()
    await new Promise<void>(resolve => server.close(() => resolve()))
  },
}
