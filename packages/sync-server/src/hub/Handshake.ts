import {
  type AuthMessage,
  CloseCodes,
  createServerWire,
  type HelloMessage,
  LATEST_PROTOCOL_VERSION,
  negotiateVersion,
  ProtocolError,
} from '@lensync/protocol'
import { CloseReason } from '../CloseReason.ts'
import type { _Delivery } from './Delivery.ts'
import type { _Gate } from './Gate.ts'
import type { HubClient } from './HubClient.ts'
import { _isExpiringSession, _SessionExpiry } from './SessionExpiry.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'
import { whenDone } from './whenDone.ts'

/**
 * @internal
 * The `hello` of a connection: one per connection, the protocol version,
 * `authenticate` (when configured; may be async), and the `welcome`. Then
 * the session's credential: when `authenticate` returned
 * `{ principal, expiresAt }` the client is asked for a fresh one before it
 * expires (`reauth`), and its `auth` is checked by `authenticate` again.
 */
export class _Handshake {
  /** The `hello` of every authenticated connection (its token replaced by the last accepted `auth`). */
  private readonly _hellos = new Map<HubClient, HelloMessage>()
  private readonly _expiry: _SessionExpiry

  constructor(
    private readonly _options: _ResolvedSyncOptions,
    private readonly _delivery: _Delivery,
    private readonly _gate: _Gate,
  ) {
    this._expiry = new _SessionExpiry(_options.timers, _delivery)
  }

  /** Handles a `hello`; a promise while `authenticate` thinks. */
  hello(client: HubClient, msg: HelloMessage): void | Promise<void> {
    if (!client.helloReceived(msg.client)) {
      this._gate.problem(client, new ProtocolError('BAD_FRAME', 'hello was already received'))
      return
    }
    const version = negotiateVersion(msg.v)
    if (version === undefined) {
      client.close(
        CloseCodes.PROTOCOL_ERROR,
        `Unsupported protocol version ${msg.v}; this server speaks 1 to ${LATEST_PROTOCOL_VERSION}`,
      )
      return
    }
    // From here on the connection's envelopes are read, and its messages
    // written, in the agreed version (the envelopes after `hello` wait for it).
    if (version !== client.wire.version) client.wire = createServerWire(version)
    const welcome = () => this._delivery.send(client, client.wire.welcome(msg.client, this._options.node))
    const authenticate = this._options.authenticate
    if (!authenticate || client.authenticated) {
      welcome()
      return
    }
    const accept = (result: unknown) => {
      if (client.closed || !this._admit(client, result)) return
      const { principal, expiresAt } = sessionOf(result)
      client.accept(principal)
      // Its client id may belong to another principal: then it is closing (4403).
      if (client.closed) return
      this._hellos.set(client, msg)
      if (expiresAt && !this._expiry.start(client, expiresAt)) return
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

  /**
   * Handles an `auth` (a fresh credential, usually answering `reauth`):
   * `authenticate` is asked again with the connection's `hello` carrying the
   * new token. A principal continues the session — it replaces the old one
   * (with a new `expiresAt`, or none: the session no longer expires);
   * anything else, or a throw, closes the connection with 4401 (a
   * `CloseReason`: with its code). A promise while `authenticate` thinks.
   */
  auth(client: HubClient, msg: AuthMessage): void | Promise<void> {
    const authenticate = this._options.authenticate
    const hello = this._hellos.get(client)
    if (!authenticate || !hello) {
      this._gate.problem(
        client,
        new ProtocolError('BAD_FRAME', 'auth is only accepted after welcome, by a server that authenticates'),
      )
      return
    }
    const renewed: HelloMessage = { ...hello, token: msg.token }
    const accept = (result: unknown) => {
      if (client.closed || !this._admit(client, result)) return
      const { principal, expiresAt } = sessionOf(result)
      client.renew(principal)
      if (client.closed) return
      this._hellos.set(client, renewed)
      if (expiresAt) this._expiry.start(client, expiresAt)
      else this._expiry.stop(client)
    }
    const failed = (error: unknown) => {
      this._options.logger.error('lensync hub: authenticate threw on a fresh credential (auth)', error)
      client.close(CloseCodes.UNAUTHENTICATED, 'Unauthenticated')
    }
    let result: unknown
    try {
      result = authenticate(client.request, renewed)
    } catch (error) {
      failed(error)
      return
    }
    return whenDone(result, accept, failed)
  }

  /** The connection is gone: its session ends (timers stopped, `hello` forgotten). */
  gone(client: HubClient): void {
    this._hellos.delete(client)
    this._expiry.stop(client)
  }

  /**
   * Closes the connection for an `authenticate` result that does not let it
   * in: `null`, `false`, `undefined` (or such a session's principal) → 4401;
   * a `CloseReason` → its code and message.
   *
   * @returns Whether the result lets the connection in.
   */
  private _admit(client: HubClient, result: unknown): boolean {
    if (result instanceof CloseReason) {
      // Refused with a reason of its own, e.g. 4403: known, but not welcome.
      client.close(result.code, result.message)
      return false
    }
    const { principal } = sessionOf(result)
    if (principal === null || principal === false || principal === undefined) {
      client.close(CloseCodes.UNAUTHENTICATED, 'Unauthenticated')
      return false
    }
    return true
  }
}

/** An `authenticate` result as a principal and, for a session that expires, when. */
function sessionOf(result: unknown): { principal: unknown; expiresAt: Date | undefined } {
  return _isExpiringSession(result)
    ? { principal: result.principal, expiresAt: result.expiresAt }
    : { principal: result, expiresAt: undefined }
}
