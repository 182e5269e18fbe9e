import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'

/**
 * What a WebSocket session keeps of its HTTP upgrade request, for the
 * connection's life: `session.request`, and what `authenticate` gets. The
 * fields of Node's `IncomingMessage` that describe the request — its
 * headers (cookies, `authorization`, `origin`), URL, method and socket
 * (`socket.remoteAddress`) — without the message object itself (its stream
 * state and raw header arrays), which would otherwise stay in memory with
 * every connection. An `IncomingMessage` is one too, so code written for
 * either accepts both.
 */
export interface UpgradeRequest {
  /** The request headers, names in lower case, as `IncomingMessage.headers`. */
  readonly headers: IncomingHttpHeaders
  /** The request target: path and query, e.g. `'/sync?token=…'`. */
  readonly url?: string | undefined
  /** The method (`'GET'` for a WebSocket upgrade). */
  readonly method?: string | undefined
  /** The connection's socket (`remoteAddress`, `remotePort`, …). */
  readonly socket: Socket
}

/**
 * @internal
 * Keeps the describing fields of an upgrade request, not the message.
 *
 * @param request - The upgrade request.
 * @returns A small object with its headers, URL, method and socket.
 */
export function _upgradeRequest(request: IncomingMessage): UpgradeRequest {
  return { headers: request.headers, url: request.url, method: request.method, socket: request.socket }
}
