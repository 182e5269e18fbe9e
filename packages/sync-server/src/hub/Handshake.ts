import {
  CloseCodes,
  encodeWelcome,
  type HelloMessage,
  PROTOCOL_VERSION,
  ProtocolError,
} from '@lensync/protocol'
import { CloseReason } from '../CloseReason.ts'
import type { _Delivery } from './Delivery.ts'
import type { _Gate } from './Gate.ts'
import type { HubClient } from './HubClient.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'
import { whenDone } from './whenDone.ts'

/**
 * @internal
 * The `hello` of a connection: one per connection, the protocol version,
 * `authenticate` (when configured; may be async), and the `welcome`.
 */
export class _Handshake {
  constructor(
    private readonly _options: _ResolvedSyncOptions,
    private readonly _delivery: _Delivery,
    private readonly _gate: _Gate,
  ) {}

  /** Handles a `hello`; a promise while `authenticate` thinks. */
  hello(client: HubClient, msg: HelloMessage): void | Promise<void> {
    if (!client.helloReceived(msg.client)) {
      this._gate.problem(client, new ProtocolError('BAD_FRAME', 'hello was already received'))
      return
    }
    if (msg.v !== PROTOCOL_VERSION) {
      client.close(
        CloseCodes.PROTOCOL_ERROR,
        `Unsupported protocol version ${msg.v}; this server speaks ${PROTOCOL_VERSION}`,
      )
      return
    }
    const welcome = () => this._delivery.send(client, encodeWelcome(msg.client, this._options.node))
    const authenticate = this._options.authenticate
    if (!authenticate || client.authenticated) {
      welcome()
      return
    }
    const accept = (principal: unknown) => {
      if (client.closed) return
      if (principal === null || principal === false || principal === undefined) {
        client.close(CloseCodes.UNAUTHENTICATED, 'Unauthenticated')
        return
      }
      if (principal instanceof CloseReason) {
        // Refused with a reason of its own, e.g. 4403: known, but not welcome.
        client.close(principal.code, principal.message)
        return
      }
      client.accept(principal)
      welcome()
    }
    const failed = (error: unknown) => {
      this._options.logger.error('lensync hub: authenticate threw', error)
      client.close(CloseCodes.INTERNAL_ERROR, 'Authentication failed')
    }
    let result: unknown
    try {
      result = authenticate(client.request, msg)
    } catch (error) {
      failed(error)
      return
    }
    return whenDone(result, accept, failed)
  }
}
