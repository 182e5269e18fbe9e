// raw ws: the floor. A `ws` server that relays every message, byte for byte, to every other
// client (the send loop over wss.clients of the main bench's P1/P2), and answers a late joiner
// with a prepared snapshot: a message starting with `S` stores its rest as the snapshot, the
// message `G` gets it back. It keeps no state of the record at all.
import { type AddressInfo, WebSocket, WebSocketServer } from 'ws'
import type { SystemServer } from '../lib/system.ts'

const S = 0x53
const G = 0x47
let wss: WebSocketServer | undefined
let snapshot: Buffer | undefined

/** The raw `ws` relay. */
export const server: SystemServer = {
  async start() {
    const created = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    wss = created
    await new Promise<void>(resolve => created.once('listening', () => resolve()))
    created.on('connection', socket => {
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (data[0] === S) snapshot = data.subarray(1)
        else if (data[0] === G && data.length === 1)
          socket.send(snapshot ?? Buffer.from('{}'), { binary: false })
        else
          for (const client of created.clients)
            if (client !== socket && client.readyState === WebSocket.OPEN)
              client.send(data, { binary: isBinary })
      })
    })
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
