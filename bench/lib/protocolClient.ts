import type { ClientMessage, ServerMessage } from '@lensync/protocol'
import { WebSocket } from 'ws'

/**
 * A bare lensync protocol client on `ws` (no stores, no replicas): for load
 * generators that must cost the server exactly one connection and the
 * envelopes they send — writers, seeders and thousands of subscribers.
 */
export class ProtocolClient {
  private readonly listeners = new Set<(message: ServerMessage) => void>()
  private nextOp = 1

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      if (this.listeners.size === 0) return
      const parsed = JSON.parse(data.toString()) as ServerMessage | ServerMessage[]
      const messages = Array.isArray(parsed) ? parsed : [parsed]
      for (const message of messages) for (const listener of this.listeners) listener(message)
    })
  }

  /**
   * Opens a connection.
   *
   * @param url - The sync URL (`ws://127.0.0.1:port/sync`).
   * @returns The client, once open.
   */
  static open(url: string): Promise<ProtocolClient> {
    const socket = new WebSocket(url, ['lensync.v1'])
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new ProtocolClient(socket)))
      socket.once('error', reject)
    })
  }

  /** A fresh op id for a write. */
  op(): number {
    return this.nextOp++
  }

  /** Calls `listener` with every envelope received; returns the disposer. */
  onMessage(listener: (message: ServerMessage) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Sends envelopes as one frame (an array when several). */
  send(...messages: ClientMessage[]): void {
    this.socket.send(JSON.stringify(messages.length === 1 ? messages[0] : messages))
  }

  /**
   * Sends envelopes and waits for the first envelope that passes `test`.
   *
   * @returns That envelope.
   */
  request(test: (message: ServerMessage) => boolean, ...messages: ClientMessage[]): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop()
        reject(new Error(`no answer to ${JSON.stringify(messages).slice(0, 200)}`))
      }, 20_000)
      const stop = this.onMessage(message => {
        if (!test(message)) return
        clearTimeout(timer)
        stop()
        resolve(message)
      })
      this.send(...messages)
    })
  }

  /**
   * Sends writes and waits until each is acknowledged (a `reject` fails).
   *
   * @param writes - `put`/`patch`/`del` envelopes with distinct `op`s.
   */
  async writeAll(writes: Extract<ClientMessage, { op: unknown }>[]): Promise<void> {
    if (writes.length === 0) return
    const open = new Set(writes.map(w => w.op))
    await new Promise<void>((resolve, reject) => {
      const stop = this.onMessage(message => {
        if ((message.t !== 'ack' && message.t !== 'reject') || !open.has(message.op as number)) return
        if (message.t === 'reject') {
          stop()
          reject(new Error(`write refused: ${message.code} ${message.message}`))
          return
        }
        open.delete(message.op)
        if (open.size === 0) {
          stop()
          resolve()
        }
      })
      this.send(...writes)
    })
  }

  /** Closes the connection and waits for it. */
  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise(resolve => {
      this.socket.once('close', () => resolve())
      this.socket.close(1000)
    })
  }
}
