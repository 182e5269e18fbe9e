import { Buffer } from 'node:buffer'
import type { WebSocket } from 'ws'

/**
 * What of `ws`' internals a direct write reads (`ws` is pinned to ^8, whose
 * `Sender` keeps these names; a test pins the behaviour).
 */
interface WsInternals {
  _sender?: { _state?: number; _queue?: unknown[]; _firstFragment?: boolean }
  _socket?: _DirectSocket
  _extensions?: Record<string, unknown>
}

/** `ws`' `Sender` state with nothing being compressed or read ahead of a new frame. */
const SENDER_IDLE = 0

/**
 * @internal
 * A whole, final, unmasked frame (header and payload in one buffer), as a
 * server writes it: one `write` to the socket instead of `ws`' header and
 * payload pair (`cork`, two writes, `uncork`, a `writev`).
 *
 * @param payload - The message's bytes (copied).
 * @param binary - A binary frame; default a text frame.
 * @returns The frame's bytes.
 */
export function _framed(payload: Uint8Array, binary = false): Buffer {
  const length = payload.byteLength
  const headerSize = headerSizeOf(length)
  const frame = Buffer.allocUnsafe(headerSize + length)
  writeHeader(frame, length, headerSize, binary)
  frame.set(payload, headerSize)
  return frame
}

/**
 * @internal
 * A whole text frame for `text`, encoded straight into the frame's buffer.
 *
 * @param text - The message.
 * @returns The frame's bytes.
 */
export function _framedText(text: string): Buffer {
  const length = Buffer.byteLength(text)
  const headerSize = headerSizeOf(length)
  const frame = Buffer.allocUnsafe(headerSize + length)
  writeHeader(frame, length, headerSize, false)
  frame.write(text, headerSize, 'utf8')
  return frame
}

/** The part of a `net.Socket` a direct write uses. */
export interface _DirectSocket {
  write(chunk: Buffer, callback?: (error?: Error | null) => void): boolean
  readonly writable: boolean
  readonly writableLength: number
}

/**
 * @internal
 * The connection's socket, when a frame made by {@link _framed} or
 * {@link _framedText} may be written straight to it: `ws` has nothing
 * queued ahead (no frame being compressed), no fragmented message open, and
 * no extension that rewrites frames (permessage-deflate). Otherwise
 * `undefined`, and the caller uses `ws.send`, which keeps those in order.
 *
 * Such a write leaves `ws.bufferedAmount` true (it reads the socket's own
 * buffer), and a write without a callback costs Node no tick and no closure.
 *
 * @param ws - An open server-side `ws` socket.
 * @returns The socket, or `undefined`.
 */
export function _directSocket(ws: WebSocket): _DirectSocket | undefined {
  const internals = ws as unknown as WsInternals
  const sender = internals._sender
  if (
    sender === undefined ||
    sender._state !== SENDER_IDLE ||
    sender._firstFragment === false ||
    (sender._queue !== undefined && sender._queue.length > 0) ||
    (internals._extensions !== undefined && internals._extensions['permessage-deflate'] !== undefined)
  )
    return undefined
  return internals._socket
}

function headerSizeOf(length: number): number {
  return length < 126 ? 2 : length < 0x10000 ? 4 : 10
}

function writeHeader(frame: Buffer, length: number, headerSize: number, binary: boolean): void {
  frame[0] = binary ? 0x82 : 0x81
  if (headerSize === 2) frame[1] = length
  else if (headerSize === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeUInt32BE(Math.floor(length / 0x100000000), 2)
    frame.writeUInt32BE(length >>> 0, 6)
  }
}
