import type { CloseReason } from './CloseReason.ts'

/**
 * Codes of a {@link ServerError} from the WebSocket foundation:
 * - `RECEIVE_CLOSED`: `receive()` after the session closed (a {@link ClosedReceiveError});
 * - `SESSION_CLOSED`: `send()` on a session that is closing or closed, or whose
 *   connection dropped before the data was written;
 * - `BAD_CLOSE_REASON`: `close(reason)` with a code that may not be sent on the wire;
 * - `BAD_ROUTE`: a route path that is not absolute, has an empty or duplicate
 *   parameter name, or is registered twice;
 * - `ALREADY_LISTENING`: `listen()` on an app that is already listening;
 * - `APP_CLOSED`: `listen()` after `close()`;
 * - `HANDSHAKE_FAILED`: the test client could not open a WebSocket (e.g. HTTP 404);
 * - `STORAGE_UNAVAILABLE`: shared storage (Redis) could not be reached when the
 *   server started (`cause` has the client's error);
 * - `STORAGE_LOCKED`: the SQLite file is in use by another server (another
 *   process, or another storage in this one); the message names the file;
 * - `MODULE_MISSING`: a storage backend's package is not installed (`ioredis`
 *   for Redis), or `better-sqlite3`'s native addon was not built; the message
 *   says what to install.
 */
export type ServerErrorCode =
  | 'RECEIVE_CLOSED'
  | 'SESSION_CLOSED'
  | 'BAD_CLOSE_REASON'
  | 'BAD_ROUTE'
  | 'ALREADY_LISTENING'
  | 'APP_CLOSED'
  | 'HANDSHAKE_FAILED'
  | 'STORAGE_UNAVAILABLE'
  | 'STORAGE_LOCKED'
  | 'MODULE_MISSING'

/** Details carried by a {@link ServerError}. */
export interface ServerErrorDetails {
  /** Why the session was closed, for `SESSION_CLOSED` and `RECEIVE_CLOSED` when known. */
  closeReason?: CloseReason | null
  /** The HTTP status of a failed handshake (`HANDSHAKE_FAILED`). */
  status?: number
  /** The underlying error. */
  cause?: unknown
}

/**
 * The one error class of `@lensync/sync-server`; `code` says what went wrong.
 *
 * @example
 * try { await session.send('hi') } catch (e) {
 *   if (e instanceof ServerError && e.code === 'SESSION_CLOSED') return
 *   throw e
 * }
 */
export class ServerError extends Error {
  override readonly name: string = 'ServerError'
  /** What went wrong, as a stable string. */
  readonly code: ServerErrorCode
  /** The reason the session closed with, when the error is about a closed session and it is known. */
  readonly closeReason: CloseReason | null | undefined
  /** The HTTP status of a failed handshake. */
  readonly status: number | undefined

  /**
   * @param code - The error code.
   * @param message - A message for people.
   * @param details - Close reason, HTTP status and cause.
   */
  constructor(code: ServerErrorCode, message: string, details: ServerErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.closeReason = details.closeReason
    this.status = details.status
  }
}

/**
 * Thrown by `receive()` once the session is closed and every frame received
 * before the close was taken (Ktor's `ClosedReceiveChannelException`).
 * `code` is `'RECEIVE_CLOSED'`; `closeReason` is the peer's reason when known.
 */
export class ClosedReceiveError extends ServerError {
  override readonly name: string = 'ClosedReceiveError'

  /**
   * @param closeReason - The peer's close reason, when known.
   */
  constructor(closeReason?: CloseReason | null) {
    super(
      'RECEIVE_CLOSED',
      `The WebSocket session is closed${closeReason ? ` (${closeReason})` : ''}; no more frames will arrive`,
      { closeReason },
    )
  }
}
