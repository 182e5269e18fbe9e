import {
  CloseCodes,
  type ErrorCode,
  encodeError,
  encodeReject,
  type OpId,
  type ProtocolError,
  type RejectCode,
} from '@lensync/protocol'
import type { _Delivery } from './Delivery.ts'
import type { WriteMessage } from './decideWrite.ts'
import type { _EntityTable } from './EntityTable.ts'
import type { HubClient } from './HubClient.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'
import type { AuthorizeRequest } from './syncTypes.ts'
import { whenDone } from './whenDone.ts'
import { _writePaths } from './writePaths.ts'

/**
 * @internal
 * What every envelope passes before it is acted on: a rate-limit token
 * (every envelope costs one, whatever its type or outcome), a known
 * resource, `authorize`; and the error window that closes a connection
 * sending too many unusable or refused envelopes (1008).
 */
export class _Gate {
  constructor(
    private readonly _options: _ResolvedSyncOptions,
    private readonly _delivery: _Delivery,
    private readonly _table: _EntityTable,
  ) {}

  /**
   * Takes a rate-limit token. Without one the envelope is answered (a write
   * or `sub` learns it is `RATE_LIMITED`; the rest is dropped), and a client
   * that keeps pushing is closed.
   *
   * @returns Whether the envelope may be handled.
   */
  admit(client: HubClient, raw: unknown): boolean {
    if (!client.bucket || client.bucket.take()) return true
    const { t, op, r, id } = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
    const message = 'too many requests; slow down'
    if ((t === 'put' || t === 'patch' || t === 'del') && (typeof op === 'number' || typeof op === 'string'))
      this.refuse(client, op, 'RATE_LIMITED', message)
    else if (t === 'sub' && typeof r === 'string')
      this._delivery.send(
        client,
        encodeReject({ r, id: typeof id === 'string' ? id : undefined }, 'RATE_LIMITED', message),
      )
    if (client.bucket.exhausted) {
      this._options.logger.warn?.(
        `lensync hub: connection ${client.connection.id} exceeded its rate limit; closing 1008`,
      )
      client.close(CloseCodes.POLICY, 'Rate limit exceeded', true)
    }
    return false
  }

  /** Whether the hub serves a resource (`resources`, `allowUnknownResources`). */
  knownResource(r: string): boolean {
    return this._options.allowUnknownResources || this._options.resources.has(r)
  }

  /** Refuses a write before it reached its entity's queue. */
  refuse(client: HubClient, op: OpId, code: RejectCode, message: string): void {
    this._delivery.send(client, encodeReject({ op }, code, message))
  }

  /** A refused envelope (unknown resource, not allowed) counts towards the connection's error limit. */
  refused(client: HubClient): void {
    if (!client.errors.add()) return
    this._options.logger.warn?.(
      `lensync hub: connection ${client.connection.id} sent too many refused envelopes; closing 1008`,
    )
    client.close(CloseCodes.POLICY, 'Too many refused requests', true)
  }

  /** Answers an unusable envelope (`reject BAD_FIELD` for a write, else `error`); counts towards the error limit. */
  problem(client: HubClient, problem: ProtocolError): void {
    if (problem.op !== undefined) this.refuse(client, problem.op, 'BAD_FIELD', problem.message)
    else this.error(client, problem.code as ErrorCode, problem.message)
    if (!client.errors.add()) return
    this._options.logger.warn?.(
      `lensync hub: connection ${client.connection.id} sent too many bad frames; closing 1008`,
    )
    client.close(CloseCodes.POLICY, 'Too many bad frames', true)
  }

  /** Sends an `error` envelope. */
  error(client: HubClient, code: ErrorCode, message: string): void {
    this._delivery.send(client, encodeError(code, message))
  }

  /**
   * Asks `authorize` about a write, with the field paths it changes
   * (`paths`, see {@link _writePaths}), and continues with the answer. For a
   * `put` the entity is read first (usually it is already cached, or being
   * read since its frame arrived): the fields the put removes are listed too.
   * Without `authorize` nothing is read.
   */
  authorizedWrite(
    client: HubClient,
    msg: WriteMessage,
    then: (allowed: boolean) => Promise<void> | undefined,
  ): Promise<void> | undefined {
    // Without `authorize` every write may go on: no paths to list, nothing to read.
    if (!this._options.authorize) return then(true)
    const { r: resource, id } = msg
    const op = msg.t === 'del' ? 'delete' : 'write'
    const ask = (): Promise<void> | undefined => {
      const entry = msg.t === 'put' ? this._table.peek(resource, id) : undefined
      const base = entry && (entry.staged ?? entry.committed)
      const paths = _writePaths(msg, base, this._options.serializer)
      return this.authorized(client, { op, resource, id, paths }, then)
    }
    if (msg.t !== 'put') return ask()
    const entry = this._table.entry(resource, id)
    return whenDone(this._table.load(entry), ask, error => {
      // As a write that cannot read its entity: the writer reconnects and resends.
      this._options.logger.error(`lensync hub: reading ${resource} ${id} to authorize a put failed`, error)
      client.close(CloseCodes.INTERNAL_ERROR, 'Storage failure')
      return undefined
    })
  }

  /**
   * Asks `authorize` (when configured) and continues with the answer; a
   * throwing `authorize` means no. Nothing continues for a connection that
   * closed while an async `authorize` was thinking.
   */
  authorized(
    client: HubClient,
    request: AuthorizeRequest,
    then: (allowed: boolean) => Promise<void> | undefined,
  ): Promise<void> | undefined {
    const authorize = this._options.authorize
    if (!authorize) return then(true)
    const failed = (error: unknown) => {
      this._options.logger.error('lensync hub: authorize threw; refusing', error)
      return false
    }
    let result: boolean | PromiseLike<boolean>
    try {
      result = authorize(client.principal, request)
    } catch (error) {
      return then(failed(error))
    }
    return whenDone(
      result,
      allowed => (client.closed ? undefined : then(allowed === true)),
      error => (client.closed ? undefined : then(failed(error))),
    )
  }
}
