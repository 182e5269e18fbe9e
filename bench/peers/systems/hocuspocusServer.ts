// Yjs + Hocuspocus: `new Server()` of @hocuspocus/server 4 with no extensions (documents in
// memory, nothing stored), quiet. Hocuspocus 4 declares Node ≥ 22; it runs on Node 20 here.
import { Server } from '@hocuspocus/server'
import type { SystemServer } from '../lib/system.ts'

let running: Server | undefined

/** The Hocuspocus server. */
export const server: SystemServer = {
  async start() {
    running = new Server({ port: 0, address: '127.0.0.1', quiet: true, stopOnSignals: false })
    await running.listen()
    return { url: `ws://127.0.0.1:${running.address.port}` }
  },
  async close() {
    await running?.destroy()
    running = undefined
  },
}
