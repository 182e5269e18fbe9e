// automerge-repo: a `Repo` with the `NodeWSServerAdapter` on a `ws` server and no storage
// (documents in memory), sharePolicy `false` as in automerge-repo's sync-server: it serves the
// documents clients give it and asks for, and announces none.
import { Repo } from '@automerge/automerge-repo'
import { NodeWSServerAdapter } from '@automerge/automerge-repo-network-websocket'
import { type AddressInfo, WebSocketServer } from 'ws'
import type { SystemServer } from '../lib/system.ts'

let running: { wss: WebSocketServer; repo: Repo } | undefined

/**
 * The adapter's keep-alive: a ping per socket every interval; a socket whose pong has not come
 * by the next one is terminated (default 5 s). In the presence metric the 100 members share one
 * clients process, which answers a ping only after reading all the server queued before it:
 * while they join, that is a burst of ~1M deliveries (automergeClient.ts, `settled`), and the
 * pongs took up to 29 s (the process's event loop stalled up to 45 s; a real client has a
 * hundredth of that work). At 5 s the server dropped live members, and the next `Presence`
 * broadcast on such a member's closing socket threw `Websocket not ready` out of a timer,
 * ending the clients' process. Liveness only (y-websocket's server allows 30 s, Hocuspocus 60 s,
 * lensync 30 + 15 s): pings are a few bytes, and no client goes away in these runs.
 */
const KEEP_ALIVE_MS = 120_000

/** The automerge-repo sync server. */
export const server: SystemServer = {
  async start() {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await new Promise<void>(resolve => wss.once('listening', () => resolve()))
    // The adapter types `ws` 8's server as its own copy's; one copy is installed.
    const repo = new Repo({
      network: [new NodeWSServerAdapter(wss as never, KEEP_ALIVE_MS)],
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
