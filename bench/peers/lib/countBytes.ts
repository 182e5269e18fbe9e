import { WebSocket } from 'ws'

/** Payload bytes one socket sent and received while counting was on. */
export interface SocketBytes {
  sent: number
  received: number
}

let enabled = false
let installed = false
const fresh: SocketBytes[] = []
const bySocket = new WeakMap<WebSocket, SocketBytes>()

function byteLength(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data)
  if (Array.isArray(data)) return data.reduce((sum: number, part) => sum + byteLength(part), 0)
  if (data instanceof ArrayBuffer) return data.byteLength
  if (ArrayBuffer.isView(data)) return data.byteLength
  return 0
}

function counterOf(socket: WebSocket): SocketBytes {
  let counter = bySocket.get(socket)
  if (!counter) {
    counter = { sent: 0, received: 0 }
    bySocket.set(socket, counter)
    fresh.push(counter)
  }
  return counter
}

/**
 * Counts the payload bytes of every `ws` socket of this process — whoever
 * made it: every system's client library uses this one copy of `ws` (passed
 * as the WebSocket constructor, or through isomorphic-ws) — by wrapping
 * `send` and the `message` event on the prototype. WebSocket framing (2–14
 * bytes per message) is not counted, as in the main bench's P5. Also keeps
 * an `error` on a socket no one listens to any more from ending the process.
 */
export function installByteCounting(): void {
  if (installed) return
  installed = true
  const proto = WebSocket.prototype as unknown as {
    send(data: unknown, ...rest: unknown[]): void
    emit(event: string | symbol, ...args: unknown[]): boolean
  }
  const send = proto.send
  const emit = proto.emit
  proto.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
    if (enabled) counterOf(this).sent += byteLength(data)
    return send.call(this, data, ...rest)
  }
  proto.emit = function (this: WebSocket, event: string | symbol, ...args: unknown[]) {
    // A socket its library stopped listening to (a client shut down while it was connecting)
    // would crash the process with its 'error': report it instead.
    if (event === 'error' && this.listenerCount('error') === 0) {
      console.error(`[bench:peers] error on an abandoned socket: ${String((args[0] as Error)?.message)}`)
      return false
    }
    if (enabled) {
      const counter = counterOf(this)
      if (event === 'message') counter.received += byteLength(args[0])
    }
    return emit.call(this, event, ...args)
  }
}

/** Turns counting on or off. */
export function countBytes(on: boolean): void {
  enabled = on
}

/**
 * The counters of the sockets first seen since the last call (e.g. the
 * sockets of the client just created).
 *
 * @returns Those counters, live.
 */
export function takeNewSockets(): SocketBytes[] {
  return fresh.splice(0)
}

/**
 * Sums counters.
 *
 * @param counters - Some sockets' counters.
 * @returns Their total.
 */
export function total(counters: readonly SocketBytes[]): SocketBytes {
  return counters.reduce((sum, c) => ({ sent: sum.sent + c.sent, received: sum.received + c.received }), {
    sent: 0,
    received: 0,
  })
}
