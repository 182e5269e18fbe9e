// automerge-repo: a `Repo` with the `NodeWSServerAdapter` on a `ws` server and no storage
// (documents in memory), sharePolicy `false` as in automerge-repo's sync-server: it serves the
// documents clients give it and asks for, and announces none.
import { Repo } from '@automerge/automerge-repo'
import { NodeWSServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { type AddressInfo, WebSocketServer } from 'ws'
import type { SystemServer } from '../lib/system.ts'

let running: { wss: WebSocketServer; repo: Repo } | undefined

/** The automerge-repo sync server. */
export const server: SystemServer = {
  async start() {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await new Promise<void>(resolve => wss.once('listening', () => resolve()))
    // The adapter types `ws` 8's server as its own copy's; one copy is installed.
    const repo = new Repo({
      network: [new NodeWSServerAdapter(wss as never)],
      sharePolicy: async () => false,
    })
    running = { wss, repo }
    return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` }
  },
  async close() {
    if (!running) return
    const { wss, repo } = running
    running = undefined
    await repo.shutdown()
    for (const client of wss.clients) client.terminate()
    await new Promise<void>(resolve => wss.close(() => resolve()))
  },
}
