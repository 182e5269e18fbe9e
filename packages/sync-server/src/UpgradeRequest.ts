import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'

/**
 * What a WebSocket session keeps of its HTTP upgrade request, for the
 * connection's life: `session.request`, and what `authenticate` gets. The
 * fields of Node's `IncomingMessage` that describe the request — its
 * headers (cookies, `authorization`, `origin`; all but the handshake's
 * `sec-websocket-key`, used up by then), URL, method and socket
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
 * Header values most connections have in common (the WebSocket handshake's,
 * the host, the browser's): a connection keeps a shared copy of the string,
 * not its own. Only these names: values unique to a connection (keys,
 * cookies, tokens) would just fill the table.
 */
const SHARED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'upgrade',
  'connection',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'origin',
  'user-agent',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'pragma',
])
/**
 * The handshake's nonce: used up once the connection is accepted, unique to
 * every connection (about 40 bytes each), so it is not kept.
 */
const HANDSHAKE_KEY = 'sec-websocket-key'
/** Values a table shares at most: the first ones seen stay (a bounded cost per app). */
const MAX_SHARED_VALUES = 256
/** Longer values are kept as they came. */
const MAX_SHARED_LENGTH = 512

/**
 * @internal
 * Keeps the describing fields of an upgrade request, not the message, once
 * the connection was accepted: every header but `sec-websocket-key`. The
 * values of common headers (and a URL without a query) are replaced by
 * equal strings from `shared`, so a thousand connections from one kind of
 * client hold them once.
 *
 * @param request - The upgrade request.
 * @param shared - The app's table of shared values (bounded by {@link MAX_SHARED_VALUES}).
 * @returns A small object with its headers, URL, method and socket.
 */
export function _upgradeRequest(request: IncomingMessage, shared: Map<string, string>): UpgradeRequest {
  const headers: IncomingHttpHeaders = {}
  const received = request.headers
  for (const name in received) {
    if (name === HANDSHAKE_KEY) continue
    const value = received[name]
    headers[name] = typeof value === 'string' && SHARED_HEADERS.has(name) ? sharedValue(shared, value) : value
  }
  const url = request.url
  return {
    headers,
    url: url !== undefined && !url.includes('?') ? sharedValue(shared, url) : url,
    method: request.method,
    socket: request.socket,
  }
}

/** The table's string equal to `value` (added when there is room). */
function sharedValue(shared: Map<string, string>, value: string): string {
  const known = shared.get(value)
  if (known !== undefined) return known
  if (shared.size < MAX_SHARED_VALUES && value.length <= MAX_SHARED_LENGTH) shared.set(value, value)
  return value
}
