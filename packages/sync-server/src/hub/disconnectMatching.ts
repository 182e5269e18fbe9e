import { CloseCodes } from '@lensync/protocol'
import type { HubClient } from './HubClient.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'

/**
 * Picks the connections to revoke by their principal (what `authenticate`
 * returned; `undefined` on a hub without `authenticate`).
 */
export type PrincipalPredicate = (principal: unknown) => boolean

/**
 * @internal
 * Revocation: closes every open connection that was let in (a `hello`
 * accepted, or any connection on a hub without `authenticate`) whose
 * principal `predicate` matches, with 4403 and `reason`. A connection still
 * in its handshake is not matched (`authenticate` decides it). A predicate
 * that throws matches nothing for that connection and is logged. The close
 * waits, briefly, for the answers to the connection's accepted writes.
 *
 * @returns How many connections are being closed.
 */
export function _disconnectMatching(
  clients: Iterable<HubClient>,
  predicate: PrincipalPredicate,
  reason: string,
  logger: _ResolvedSyncOptions['logger'],
): number {
  let closed = 0
  for (const client of [...clients]) {
    if (client.closed || !client.authenticated) continue
    let matches: boolean
    try {
      matches = predicate(client.principal) === true
    } catch (error) {
      logger.error('lensync hub: the disconnect() predicate threw; that connection stays', error)
      continue
    }
    if (!matches) continue
    client.close(CloseCodes.FORBIDDEN, reason, true)
    closed++
  }
  return closed
}

/** @internal Checks `disconnect()`'s arguments up front, with a message that says what to pass. */
export function _checkDisconnect(predicate: unknown, reason: unknown, where: string): void {
  if (typeof predicate !== 'function')
    throw new TypeError(`${where}: predicate must be a function of the principal, such as p => p.id === 'u1'`)
  if (typeof reason !== 'string')
    throw new TypeError(`${where}: reason must be a string (sent as the close reason)`)
}
