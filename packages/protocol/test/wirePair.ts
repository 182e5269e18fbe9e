import {
  type ClientMessage,
  type ClientWire,
  createClientWire,
  createServerWire,
  ProtocolError,
  parseFrame,
  type ServerMessage,
  type ServerWire,
} from '@lensync/protocol'
import { readAsHub } from './serverError.ts'

/** What {@link wirePair} gives a test. */
export interface WirePair {
  readonly client: ClientWire
  readonly server: ServerWire
  /** The frames the client sent, in order. */
  readonly sent: string[]
  /**
   * Client → server: sends `messages` as one frame and reads it back as the
   * hub does (`parseFrame`, the server wire's `decode`, the version 1 parser).
   */
  up(messages: ClientMessage[]): (ClientMessage | ProtocolError)[]
  /** Server → client: the first message of a frame the client reads; throws what it refuses. */
  down(text: string): ServerMessage
}

/**
 * A client wire and a server wire agreed on `version`, talking to each other.
 *
 * @param version - The protocol version both agreed on.
 * @param bound - A snap the client reads first (e.g. one that binds an entity handle).
 * @returns The pair.
 */
export function wirePair(version: number, bound?: (server: ServerWire) => string): WirePair {
  const client = createClientWire()
  const server = createServerWire(version)
  client.agreed(version)
  if (bound) client.parse(bound(server))
  const sent: string[] = []
  return {
    client,
    server,
    sent,
    up(messages) {
      client.send(messages, text => {
        sent.push(text)
        return true
      })
      const envelopes = parseFrame(sent.at(-1) as string)
      if (envelopes instanceof ProtocolError) throw envelopes
      return envelopes.map(raw => readAsHub(server, raw))
    },
    down(text) {
      const parsed = client.parse(text)
      if (parsed instanceof ProtocolError) throw parsed
      const [first] = parsed
      if (!first?.ok) throw first?.error
      return first.message
    },
  }
}
