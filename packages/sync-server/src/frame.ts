import { Buffer } from 'node:buffer'
import type { BinaryFrame, Frame, OutgoingData, TextFrame } from './types.ts'

/**
 * A text frame.
 *
 * @param text - The text.
 * @param fin - `false` for a fragment that more fragments follow; default `true`.
 * @returns The frame.
 * @example
 * await session.send(textFrame('part 1', false))
 * await session.send(textFrame(' and 2'))
 */
export function textFrame(text: string, fin = true): TextFrame {
  return { type: 'text', text, fin }
}

/**
 * A binary frame.
 *
 * @param data - The bytes (sent without a copy: do not change them until `send` resolved).
 * @param fin - `false` for a fragment that more fragments follow; default `true`.
 * @returns The frame.
 */
export function binaryFrame(data: Uint8Array, fin = true): BinaryFrame {
  return { type: 'binary', data, fin }
}

/**
 * A message encoded once, to be sent to many sessions (see `sendMany`): a
 * string is turned into UTF-8 bytes a single time, and every socket writes
 * the same buffer after its own 2–10 byte header.
 */
export class PreparedMessage {
  /** @internal */
  readonly _payload: Buffer
  /** `true` for a binary message, `false` for text. */
  readonly binary: boolean
  /** @internal The whole frame (header and payload), made at the first write and shared by every session. */
  _frame: Buffer | undefined

  /** @internal Use {@link prepareMessage}. */
  constructor(payload: Buffer, binary: boolean) {
    this._payload = payload
    this.binary = binary
    this._frame = undefined
  }

  /** Size of the payload in bytes. */
  get byteLength(): number {
    return this._payload.byteLength
  }
}

/**
 * Encodes a message once for sending it to many sessions.
 *
 * @param data - Text (sent as a text frame) or bytes (a binary frame).
 * @returns A {@link PreparedMessage} that `send` and `sendMany` accept.
 * @example
 * const msg = prepareMessage(JSON.stringify(change))
 * for (const s of subscribers) s.send(msg)
 */
export function prepareMessage(data: string | Uint8Array): PreparedMessage {
  return typeof data === 'string'
    ? new PreparedMessage(Buffer.from(data, 'utf8'), false)
    : new PreparedMessage(asBuffer(data), true)
}

/** @internal What `ws.send` gets for an {@link OutgoingData}. */
export interface _Wire {
  payload: string | Buffer
  binary: boolean
  fin: boolean
  /** The message it was made from, whose whole frame every session shares. */
  prepared?: PreparedMessage | undefined
}

/** @internal Turns what the user sends into `ws.send` arguments, without copying payloads. */
export function _toWire(data: OutgoingData): _Wire {
  if (typeof data === 'string') return { payload: data, binary: false, fin: true }
  if (data instanceof PreparedMessage)
    return { payload: data._payload, binary: data.binary, fin: true, prepared: data }
  if (data instanceof Uint8Array) return { payload: asBuffer(data), binary: true, fin: true }
  // Checked field by field: plain JavaScript callers may pass anything.
  const frame = data as unknown as { type?: unknown; text?: unknown; data?: unknown; fin?: unknown } | null
  const fin = frame?.fin !== false
  if (frame?.type === 'text' && typeof frame.text === 'string')
    return { payload: frame.text, binary: false, fin }
  if (frame?.type === 'binary' && frame.data instanceof Uint8Array) {
    return { payload: asBuffer(frame.data), binary: true, fin }
  }
  throw new TypeError(
    'send(data): data must be a string, a Uint8Array, a Frame ({ type: "text", text } or ' +
      `{ type: "binary", data }) or a PreparedMessage, got ${data === null ? 'null' : typeof data}`,
  )
}

/** @internal A `ws` message as a {@link Frame}; `ws` already reassembled fragments and checked UTF-8. */
export function _toFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): Frame {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
  return isBinary
    ? { type: 'binary', data: bytes, fin: true }
    : { type: 'text', text: bytes.toString('utf8'), fin: true }
}

/** @internal Size of a frame for queue accounting. */
export function _frameSize(frame: Frame): number {
  return frame.type === 'text' ? frame.text.length : frame.data.byteLength
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}
