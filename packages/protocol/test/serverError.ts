import { type ClientMessage, ProtocolError, parseClientMessage, type ServerWire } from '@lensync/protocol'

/** A client envelope read as the hub reads it: the server wire's `decode`, then the version 1 parser. */
export function readAsHub(wire: ServerWire, raw: unknown): ClientMessage | ProtocolError {
  const decoded = wire.decode(raw)
  return decoded instanceof ProtocolError ? decoded : parseClientMessage(decoded)
}

/**
 * The error a server wire and the version 1 parser answer a client envelope
 * with, as the hub does; throws when the envelope is accepted.
 */
export function serverError(wire: ServerWire, raw: unknown): ProtocolError {
  const result = readAsHub(wire, raw)
  if (!(result instanceof ProtocolError)) throw new Error(`accepted ${JSON.stringify(raw)}`)
  return result
}
