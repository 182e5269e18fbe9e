// Role: the raw `ws` baseline server. `relay` forwards every message, byte for byte, to every
// other client (the send loop over wss.clients of P1 and P2); `reply` answers every message
// with a prepared text (the catch-up floor of P7); idle connections (P6) cost it nothing else.
import { type AddressInfo, WebSocket, WebSocketServer } from 'ws'
import { processProbe } from '../lib/processProbe.ts'

let wss: WebSocketServer | undefined
let reply: Buffer | undefined

function relay(sender: WebSocket, data: Buffer, isBinary: boolean): void {
  for (const client of (wss as WebSocketServer).clients) {
    if (client !== sender && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary })
  }
}

export const methods = {
  ...processProbe,

  /** Starts listening on a free loopback port. */
  async start(): Promise<{ url: string }> {
    if (wss) throw new Error('rawServer: already started')
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    wss = server
    await new Promise<void>(resolve => server.once('listening', () => resolve()))
    server.on('connection', socket => {
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (reply) socket.send(reply, { binary: false })
        else relay(socket, data, isBinary)
      })
    })
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` }
  },

  /** From now on answer every message with `text` instead of relaying it (`undefined`: relay again). */
  setReply(text: string | undefined): void {
    reply = text === undefined ? undefined : Buffer.from(text)
  },

  /** Closes every connection and the server. */
  async close(): Promise<void> {
    const server = wss
    wss = undefined
    if (!server) return
    for (const client of server.clients) client.terminate()
    await new Promise<void>(resolve => server.close(() => resolve()))
  },
}
