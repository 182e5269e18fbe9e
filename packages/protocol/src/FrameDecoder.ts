import { createClientWire } from './ClientWire.ts'
import type { ClientMessage } from './messages.ts'
import { ProtocolError } from './ProtocolError.ts'
import { parseClientMessage, parseFrame } from './parseClientMessage.ts'
import type { ParsedServerMessage } from './parseServerMessage.ts'
import { _ResolvingWriteDecoder } from './ServerWire.ts'

/**
 * Reads the frames of one connection, both directions, of either protocol
 * version, into version 1 messages — for tools that watch a connection
 * (an inspector, a proxy, a test). Version 2's compact envelopes depend on
 * what came before on the connection (the entity handles the server gave,
 * the op of the previous write), so one decoder is fed every frame of one
 * connection, in order. Made by {@link createFrameDecoder}.
 */
export interface FrameDecoder {
  /**
   * A frame the server sent.
   *
   * @returns Its messages, each `{ ok: true, message }` or `{ ok: false, error }`
   *   (as `parseServerMessage`), or a `ProtocolError` when the frame is not JSON.
   */
  server(text: string): ParsedServerMessage[] | ProtocolError
  /**
   * A frame the client sent.
   *
   * @returns Its envelopes, each a `ClientMessage` or the `ProtocolError` the
   *   server would answer it with, or a `ProtocolError` when the frame is not JSON.
   */
  client(text: string): (ClientMessage | ProtocolError)[] | ProtocolError
}

/**
 * A decoder for the frames of one connection (see {@link FrameDecoder}).
 *
 * @example
 * const decoder = createFrameDecoder()
 * socket.onSend(text => log('→', decoder.client(text)))
 * socket.onReceive(text => log('←', decoder.server(text)))
 */
export function createFrameDecoder(): FrameDecoder {
  const wire = createClientWire()
  const writes = new _ResolvingWriteDecoder(wire)
  return {
    server: text => wire.parse(text),
    client: text => {
      const envelopes = parseFrame(text)
      if (envelopes instanceof ProtocolError) {
        writes.decode(envelopes)
        return envelopes
      }
      return envelopes.map(raw => {
        const decoded = writes.decode(raw)
        return decoded instanceof ProtocolError ? decoded : parseClientMessage(decoded)
      })
    },
  }
}
