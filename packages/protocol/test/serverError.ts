import { ProtocolError, parseClientMessage, type ServerWire } from '@lensync/protocol'

/**
 * The error a server wire and the version 1 parser answer a client envelope
 * with, as the hub does; throws when the envelope is accepted.
 */
export function serverError(wire: ServerWire, raw: unknown): ProtocolError {
  const decoded = wire.decode(raw)
  const result = decoded instanceof ProtocolError ? decoded : parseClientMessage(decoded)
  if (!(result instanceof ProtocolError)) throw new Error(`accepted ${JSON.stringify(raw)}`)
  return result
}
