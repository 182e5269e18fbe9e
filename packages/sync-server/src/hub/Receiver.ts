import {
  CloseCodes,
  encodeReject,
  ProtocolError,
  parseClientMessage,
  type RejectCode,
  type SubMessage,
} from '@lensync/protocol'
import type { PresenceRooms } from '../presence/PresenceRooms.ts'
import type { _Delivery } from './Delivery.ts'
import { _patchTooLarge, type WriteMessage } from './decideWrite.ts'
import type { _EntityTable } from './EntityTable.ts'
import type { _EntityWriter } from './EntityWriter.ts'
import type { _Gate } from './Gate.ts'
import type { _Handshake } from './Handshake.ts'
import type { _PresenceMember, HubClient } from './HubClient.ts'
import type { _Snapshots } from './Snapshots.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'

/** @internal The parts of the hub an envelope is dispatched to. */
export interface _ReceiverParts {
  readonly options: _ResolvedSyncOptions
  readonly table: _EntityTable
  readonly gate: _Gate
  readonly handshake: _Handshake
  readonly snapshots: _Snapshots
  readonly writer: _EntityWriter
  readonly delivery: _Delivery
  /** The presence rooms `pjoin`/`pset`/`pleave` go to. */
  readonly presence: PresenceRooms<_PresenceMember>
  /** With `authenticate`: binds a client id to a principal; `false` when it belongs to another. */
  readonly bind: (clientId: string, principal: unknown) => boolean
}

/**
 * @internal
 * Dispatches each envelope of a connection, in its turn: through the gate,
 * then to the handshake, the snapshots, the subscriptions or the writer.
 * Also starts reading an envelope's entity as soon as its frame arrives.
 */
export class _Receiver {
  constructor(private readonly _parts: _ReceiverParts) {}

  /**
   * Starts reading the entity of a write or entity `sub` as soon as its frame
   * arrives. Envelopes are handled one at a time, so with storage that
   * answers asynchronously (Redis) a frame of writes to uncached entities
   * would otherwise cost one round trip each; read together, they are
   * decided and committed together. Reading is harmless: nothing is sent
   * before the envelope's turn (and its authorization).
   */
  readonly prefetch = (client: HubClient, raw: unknown): void => {
    if (!client.authenticated || typeof raw !== 'object' || raw === null) return
    const { t, r, id } = (client.wire.peek(raw) ?? raw) as { t?: unknown; r?: unknown; id?: unknown }
    const { gate, table } = this._parts
    if (typeof r !== 'string' || typeof id !== 'string' || !gate.knownResource(r)) return
    if (t !== 'put' && t !== 'patch' && t !== 'del' && t !== 'sub') return
    const entry = table.peek(r, id)
    if (entry?.committed || entry?.loading) return
    table.load(table.entry(r, id))?.catch(() => {
      // Read again (and reported) when the envelope's turn comes.
    })
  }

  /** Handles one envelope; a promise while it waits (the connection's next envelopes wait too). */
  readonly handle = (client: HubClient, envelope: unknown): void | Promise<void> => {
    const { gate } = this._parts
    // Version 2's compact envelopes become version 1 ones first, in arrival
    // order (the connection's op sequence and handles depend on it), so
    // everything after — the rate limit's answers included — reads one form.
    const raw = client.wire.decode(envelope)
    // Every envelope costs a token, whatever its type or outcome: a flood of
    // anything (unsubs, garbage, writes to unknown resources) is slowed down
    // and then closed like a flood of writes.
    // Except `pset`: presence updates have a bucket of their own that
    // coalesces, so a busy cursor never costs the writes their tokens.
    if (!isPresenceUpdate(raw) && !gate.admit(client, raw)) return
    const msg = raw instanceof ProtocolError ? raw : parseClientMessage(raw)
    if (msg instanceof ProtocolError) {
      gate.problem(client, msg)
      return
    }
    if (!client.authenticated && msg.t !== 'hello') {
      gate.error(client, 'BAD_FRAME', 'authentication required: send hello first')
      client.close(CloseCodes.UNAUTHENTICATED, 'Unauthenticated')
      return
    }
    switch (msg.t) {
      case 'hello':
        return this._parts.handshake.hello(client, msg)
      case 'auth':
        return this._parts.handshake.auth(client, msg)
      case 'sub':
        return this._sub(client, msg)
      case 'unsub':
        client.subscriptions.delete(msg.r, msg.id)
        return
      case 'pjoin':
        // Waits for `authorize` and the other nodes' members: the envelopes after it wait too.
        return this._parts.presence.join(client.presenceMember, msg.room, msg.state).then(noop)
      case 'pset':
        this._parts.presence.set(client.presenceMember, msg.room, msg.state)
        return
      case 'pleave':
        this._parts.presence.leave(client.presenceMember, msg.room)
        return
      default:
        return this._write(client, msg)
    }
  }

  private _sub(client: HubClient, msg: SubMessage): Promise<void> | undefined {
    const { gate, options, delivery, snapshots } = this._parts
    const { r, id } = msg
    const refuse = (code: RejectCode, message: string) =>
      delivery.send(client, encodeReject({ r, id }, code, message))
    if (!gate.knownResource(r)) {
      refuse('FORBIDDEN', `unknown resource ${JSON.stringify(r)}`)
      gate.refused(client)
      return undefined
    }
    if (!client.subscriptions.has(r, id) && client.subscriptions.size >= options.maxSubscriptions) {
      refuse(
        'RATE_LIMITED',
        `too many subscriptions on this connection (maxSubscriptions ${options.maxSubscriptions})`,
      )
      return undefined
    }
    return gate.authorized(client, { op: 'read', resource: r, id }, allowed => {
      if (!allowed) {
        refuse('FORBIDDEN', `not allowed to read ${r}${id === undefined ? '' : ` ${id}`}`)
        gate.refused(client)
        return undefined
      }
      return id === undefined ? snapshots.collection(client, r, msg.since) : snapshots.entity(client, r, id)
    })
  }

  private _write(client: HubClient, msg: WriteMessage): Promise<void> | undefined {
    const { gate, options, writer } = this._parts
    const { op, r, id } = msg
    if (!gate.knownResource(r)) {
      gate.refuse(client, op, 'FORBIDDEN', `unknown resource ${JSON.stringify(r)}`)
      gate.refused(client)
      return undefined
    }
    // Another tab's outbox, sent under its client id: that id must be this principal's too.
    if (
      msg.client !== undefined &&
      msg.client !== client.clientId &&
      !this._parts.bind(msg.client, client.principal)
    ) {
      gate.refuse(client, op, 'FORBIDDEN', "the write's client id belongs to another user")
      gate.refused(client)
      return undefined
    }
    // Refused before `authorize` and before the entity is read.
    const tooMany = _patchTooLarge(msg, options)
    if (tooMany !== undefined) {
      gate.refuse(client, op, 'TOO_LARGE', tooMany)
      return undefined
    }
    // Without `authorize` every write goes on (no closure per write: the hub's hot path).
    if (!options.authorize) return writer.enqueue(client, msg)
    const what = msg.t === 'del' ? 'delete' : 'write'
    return gate.authorizedWrite(client, msg, allowed => {
      if (!allowed) {
        gate.refuse(client, op, 'FORBIDDEN', `not allowed to ${what} ${r} ${id}`)
        gate.refused(client)
        return undefined
      }
      // A create-only put that finds the entity answers with its value.
      if (msg.t === 'put' && msg.create === true)
        return gate.authorized(client, { op: 'read', resource: r, id }, readable =>
          writer.enqueue(client, msg, readable),
        )
      return writer.enqueue(client, msg)
    })
  }
}

function isPresenceUpdate(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { t?: unknown }).t === 'pset'
}

function noop(): void {}
