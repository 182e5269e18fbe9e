import type { AddressInfo } from 'node:net'
import type { OpId } from '@lensync/protocol'
import WebSocket, { WebSocketServer } from 'ws'

/**
 * A WebSocket relay on 127.0.0.1 between clients and a sync server: it
 * forwards every frame both ways, and can be told to cut a connection right
 * after the server answered a given op — the answer reaches the relay and
 * goes no further, both sides see the connection drop (1006). That is the
 * moment after the server applied a write and before its `ack` reached the
 * client.
 */
export interface Relay {
  /** Where clients connect instead of the server. */
  readonly url: string
  /** Cuts the connection that next gets an `ack`/`reject` of `op`, before forwarding it. Resolves once cut. */
  dropAfterAnswer(op: OpId): Promise<void>
  close(): Promise<void>
}

/**
 * Starts a relay to `target` (a `ws://…/sync` URL).
 *
 * @param target - The server's sync URL.
 */
export async function startRelay(target: string): Promise<Relay> {
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    handleProtocols: protocols => [...protocols][0] ?? false,
  })
  const pairs = new Set<{ client: WebSocket; upstream: WebSocket }>()
  const drops: { op: OpId; done: () => void }[] = []
  server.on('connection', (client, request) => {
    const protocol = request.headers['sec-websocket-protocol']?.split(',')[0]?.trim()
    const upstream = new WebSocket(target, protocol)
    const pair = { client, upstream }
    pairs.add(pair)
    const early: string[] = []
    const cut = () => {
      pairs.delete(pair)
      client.terminate()
      upstream.terminate()
    }
    upstream.on('open', () => {
      for (const text of early.splice(0)) upstream.send(text)
    })
    client.on('message', data => {
      const text = data.toString()
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text)
      else early.push(text)
    })
    upstream.on('message', data => {
      const text = data.toString()
      const parsed = JSON.parse(text) as { t?: string; op?: OpId } | { t?: string; op?: OpId }[]
      for (const envelope of Array.isArray(parsed) ? parsed : [parsed]) {
        if (envelope.t !== 'ack' && envelope.t !== 'reject') continue
        const i = drops.findIndex(drop => drop.op === envelope.op)
        if (i < 0) continue
        const [drop] = drops.splice(i, 1)
        cut()
        drop?.done()
        return
      }
      if (client.readyState === WebSocket.OPEN) client.send(text)
    })
    client.on('close', () => {
      pairs.delete(pair)
      upstream.terminate()
    })
    upstream.on('close', () => {
      pairs.delete(pair)
      client.terminate()
    })
    client.on('error', () => {})
    upstream.on('error', () => {})
  })
  await new Promise<void>(resolve => server.once('listening', () => resolve()))
  const { port } = server.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/`,
    dropAfterAnswer(op) {
      return new Promise(resolve => drops.push({ op, done: resolve }))
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.terminate()
        upstream.terminate()
      }
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
