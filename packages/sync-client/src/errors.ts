/**
 * The base class of every error `@lensync/sync-client` throws or rejects
 * with. Catch it to handle them all; check `code` (a stable string, listed in
 * the package README) rather than the message.
 *
 * Subclasses: {@link SendError} (a `send` that could not be made),
 * {@link ConnectionError} (a socket or session that cannot be set up) and
 * `SyncError` (entity sync).
 *
 * @typeParam Code - The string codes this error can carry.
 * @example
 * try { await session.send('hi') } catch (e) {
 *   if (e instanceof LensyncClientError) console.warn(e.code, e.message)
 * }
 */
export class LensyncClientError<Code extends string = string> extends Error {
  override readonly name: string = 'LensyncClientError'
  /** What went wrong, as a stable string. */
  readonly code: Code

  /**
   * @param code - The error code.
   * @param message - A message for people: what happened and what to do.
   * @param options - `cause`: the underlying error, kept as `error.cause`.
   */
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
  }
}

/**
 * Codes of a {@link SendError}:
 * - `SESSION_CLOSED`: the session was closed (by `close()`, by the server, or
 *   it gave up reconnecting) before the data could be sent;
 * - `QUEUE_FULL`: the session is not open and already holds `maxQueue` sends;
 * - `SEND_FAILED`: the WebSocket threw when handed the data (`cause` has why);
 * - `BAD_DATA`: the data is not a string, Blob, ArrayBuffer or ArrayBufferView.
 */
export type SendErrorCode = 'SESSION_CLOSED' | 'QUEUE_FULL' | 'SEND_FAILED' | 'BAD_DATA'

/**
 * Rejection of `session.send()`.
 *
 * @example
 * session.send(text).catch(e => { if (e instanceof SendError && e.code === 'QUEUE_FULL') slowDown() })
 */
export class SendError extends LensyncClientError<SendErrorCode> {
  override readonly name: string = 'SendError'
}

/**
 * Codes of a {@link ConnectionError}:
 * - `BAD_URL`: a URL `websocket()` or `append()` cannot use (not ws:, wss:,
 *   http: or https:, relative without a page to resolve it against, or with a `#fragment`);
 * - `BAD_PROTOCOL`: a subprotocol that is not a valid token, or given twice;
 * - `NO_WEBSOCKET`: no WebSocket constructor was passed and `globalThis.WebSocket`
 *   is missing (Node before 22: pass `WebSocket` from `ws`);
 * - `BAD_OPTION`: an option of `websocket()` or `connect()` out of range;
 * - `BAD_CLOSE`: `close()` with a code other than 1000 or 3000–4999, or a
 *   reason longer than 123 UTF-8 bytes.
 */
export type ConnectionErrorCode = 'BAD_URL' | 'BAD_PROTOCOL' | 'NO_WEBSOCKET' | 'BAD_OPTION' | 'BAD_CLOSE'

/**
 * Thrown synchronously by `websocket()`, `append()` and `connect()` for
 * arguments they cannot use, and the rejection of `close()` with a bad code.
 * Network failures are not thrown: they show on `session.errors` and `session.closes`.
 *
 * @example
 * websocket('localhost:8787') // throws ConnectionError { code: 'BAD_URL' }
 */
export class ConnectionError extends LensyncClientError<ConnectionErrorCode> {
  override readonly name: string = 'ConnectionError'
}
