import type { IncomingMessage } from 'node:http'
import type { PerMessageDeflateOptions, WebSocket } from 'ws'
import type { CloseReason } from './CloseReason.ts'
import type { PreparedMessage } from './frame.ts'
import type { ServerSession } from './ServerSession.ts'

/** A complete text message. `fin` is `false` only for a fragment you send yourself. */
export interface TextFrame {
  /** Tells the frame kinds apart: `if (frame.type === 'text') frame.text`. */
  readonly type: 'text'
  /** The message, decoded as UTF-8. */
  readonly text: string
  /**
   * Never set on a text frame. Declared so that `frame.data` can be read on any
   * {@link Frame} (it is `undefined` here) without narrowing first.
   */
  readonly data?: undefined
  /** Whether this is the last fragment of its message; `true` for every incoming frame. */
  readonly fin: boolean
}

/** A complete binary message. `fin` is `false` only for a fragment you send yourself. */
export interface BinaryFrame {
  /** Tells the frame kinds apart: `if (frame.type === 'binary') frame.data`. */
  readonly type: 'binary'
  /** The message's bytes. */
  readonly data: Uint8Array
  /**
   * Never set on a binary frame. Declared so that `frame.text` can be read on any
   * {@link Frame} (it is `undefined` here) without narrowing first, as in
   * `expect((await incoming.receive()).text).toBe('YOU SAID: HELLO')`.
   */
  readonly text?: undefined
  /** Whether this is the last fragment of its message; `true` for every incoming frame. */
  readonly fin: boolean
}

/**
 * A WebSocket data frame, as Ktor's `Frame.Text` / `Frame.Binary`. Incoming
 * frames are whole messages (fragments are reassembled, so `fin` is `true`);
 * pings, pongs and close frames are handled by the session. `frame.text` and
 * `frame.data` can be read without narrowing (`undefined` on the other kind);
 * check `frame.type` to get them non-optional.
 */
export type Frame = TextFrame | BinaryFrame

/** What `send()` accepts: a frame, a string (text), bytes (binary) or a {@link PreparedMessage}. */
export type OutgoingData = Frame | string | Uint8Array | PreparedMessage

/** Where the app reports handler errors and notable events. `console` fits. */
export interface Logger {
  /** A handler threw, an HTTP route failed. */
  error(message: string, ...details: unknown[]): void
  /** A session was closed for misbehaving (ping timeout, slow consumer, protocol error). */
  warn?(message: string, ...details: unknown[]): void
  /** Lifecycle notes. */
  info?(message: string, ...details: unknown[]): void
}

/** The timer functions the heartbeat and the sync hub use; injectable for tests. */
export interface Timers {
  /** Runs `callback` after `ms`; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown
  /** Cancels a timer made by `setTimeout`. */
  clearTimeout(handle: unknown): void
  /**
   * Runs `callback` once the events of this turn of the event loop are
   * handled, as Node's `setImmediate` (the sync hub flushes so, once per
   * tick). Optional: without it the hub uses `setTimeout(callback, 0)`.
   */
  setImmediate?(callback: () => void): unknown
}

/** Options of {@link createApp}. Every one is optional; the defaults are listed. */
export interface AppOptions {
  /** Milliseconds between server pings; `0` disables the heartbeat. Default `30_000`. */
  pingPeriod?: number
  /** Milliseconds to wait for the pong; then the session is closed with 1011 'Ping timeout'. Default `15_000`. */
  timeout?: number
  /** Largest (reassembled) message in bytes; a larger one closes the session with 1009. Default `1 << 20` (1 MiB). */
  maxFrameSize?: number
  /** Negotiate permessage-deflate (`true`, or `ws`'s options object). Default `false`. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions
  /**
   * Bytes a session may have queued but not yet written to the socket before
   * the next send closes it with 1013 TRY_AGAIN_LATER (a slow consumer).
   * Default `4 << 20` (4 MiB).
   */
  maxBufferedBytes?: number
  /**
   * Milliseconds to wait for the peer's close frame after the server sent its
   * own; then the connection is dropped. Also bounds how long `app.close()`
   * waits for handlers. Default `5_000`.
   */
  closeTimeout?: number
  /** Where handler errors go. Default `console`. */
  logger?: Logger
  /** Timer functions for the heartbeat. Default the global ones. */
  timers?: Timers
  /**
   * Makes session ids. Default `crypto.randomUUID`. Called the first time a
   * session's `id` is read (a log line, your code), not for every connection.
   */
  createId?: () => string
}

/** {@link AppOptions} with every default filled in (see there for what each means); `app.options`. */
export interface ResolvedAppOptions {
  /** Milliseconds between server pings; `0` when the heartbeat is off. */
  readonly pingPeriod: number
  /** Milliseconds a session waits for the pong before it closes with 1011. */
  readonly timeout: number
  /** Largest (reassembled) incoming message in bytes; a larger one closes with 1009. */
  readonly maxFrameSize: number
  /** Whether (and how) permessage-deflate is negotiated. */
  readonly perMessageDeflate: boolean | PerMessageDeflateOptions
  /** Unsent bytes past which the next send closes the session with 1013. */
  readonly maxBufferedBytes: number
  /** Milliseconds to wait for the peer's close frame (and, in `app.close()`, for handlers). */
  readonly closeTimeout: number
  /** Where handler errors and notable events go. */
  readonly logger: Logger
  /** The timer functions the heartbeat uses. */
  readonly timers: Timers
  /** Makes session ids. */
  readonly createId: () => string
}

/** Path parameters of a route, e.g. `{ room: 'a' }` for `/chat/:room` and `/chat/a`. */
export type RouteParams = Readonly<Record<string, string>>

/**
 * A WebSocket route handler: the block runs for the whole session. When it
 * returns, the session is closed with 1000; when it throws, with 1011.
 */
export type WebSocketHandler = (session: ServerSession) => void | PromiseLike<void>

/** What an HTTP route handler gets besides the request. */
export interface HttpContext {
  /** The route's path parameters. */
  readonly params: RouteParams
  /** The parsed request URL (for the query string). */
  readonly url: URL
}

/**
 * A full HTTP answer. A plain object whose `status` is a number and whose
 * other keys are only `body` and `headers` is taken as a response; any other
 * object is sent as JSON.
 */
export interface HttpResponseInit {
  status: number
  /** A string (text/plain), bytes (application/octet-stream), or anything else (JSON). */
  body?: unknown
  headers?: Record<string, string>
}

/**
 * What an HTTP route may return: an object (200 JSON), a string (200 text),
 * bytes, an {@link HttpResponseInit}, or nothing (204).
 */
export type HttpResult = HttpResponseInit | string | Uint8Array | object | null | undefined | void

/** A plain HTTP route handler (GET and HEAD), e.g. a health check. May be async. */
export type HttpHandler = (request: IncomingMessage, context: HttpContext) => HttpResult | Promise<HttpResult>

/** Where {@link App.listen} binds. */
export interface ListenOptions {
  /** Port; `0` (the default) picks a free one. */
  port?: number
  /** Interface; default `'127.0.0.1'`. Pass `'0.0.0.0'` or `'::'` to accept remote connections. */
  host?: string
}

/** Where the app is actually listening. */
export interface ListenAddress {
  /** The port bound: the one asked for, or the free one picked for `port: 0`. */
  readonly port: number
  /** The address bound, as the OS reports it (e.g. `'127.0.0.1'`, `'::'`). */
  readonly host: string
}

/** Options of a test client's WebSocket. */
export interface TestWebSocketOptions {
  /** Subprotocols to offer. */
  protocols?: string | string[]
  /** Extra handshake headers (e.g. `authorization`). */
  headers?: Record<string, string>
  /** Answer pings (default `true`); `false` simulates a peer that stopped responding. */
  autoPong?: boolean
  /** Largest message the client accepts, in bytes. Default 100 MiB. */
  maxFrameSize?: number
}

/** The receiving side of a test conversation. */
export interface TestIncoming extends AsyncIterable<Frame> {
  /** The next frame; rejects with `ClosedReceiveError` once the connection closed and nothing is left. */
  receive(): Promise<Frame>
  /** The server's close code and message as the client saw them; `null` for a close frame without a code. */
  readonly closeReason: Promise<CloseReason | null>
}

/** The sending side of a test conversation. */
export interface TestOutgoing {
  /** Sends a frame; resolves once written to the socket; rejects with `ServerError` `SESSION_CLOSED` once closed. */
  send(data: Frame | string | Uint8Array): Promise<void>
  /** Starts the close handshake (default 1000); resolves once the connection is closed. Idempotent. */
  close(reason?: CloseReason): Promise<void>
}

/** One client WebSocket conversation, as Ktor's `DefaultClientWebSocketSession`. */
export interface TestConversation {
  /** What the server sends: `receive()`, `for await`, and the server's `closeReason`. */
  readonly incoming: TestIncoming
  /** What the client sends: `send()` and `close()`. */
  readonly outgoing: TestOutgoing
  /** The subprotocol the server chose (`''` for none). */
  readonly protocol: string
  /** The underlying `ws` client, for what the conversation does not cover (e.g. pausing its socket). */
  readonly socket: WebSocket
}

/** The answer of {@link TestClient.get}. */
export interface TestHttpResponse {
  readonly status: number
  readonly headers: Headers
  /** The body as text. */
  readonly text: string
  /** The body parsed as JSON. */
  json<T = unknown>(): T
}

/** The client `testApplication` hands to its block. */
export interface TestClient {
  /** The port the app listens on. */
  readonly port: number
  /** The absolute URL of a path, `ws://127.0.0.1:<port><path>` (or `http://` with `scheme`). */
  url(path: string, scheme?: 'ws' | 'http'): string
  /**
   * Opens a WebSocket to `path`, runs the block, then closes the connection
   * (1000) if the block left it open, and waits for the close.
   * Rejects with `ServerError` `HANDSHAKE_FAILED` (with `status`) when the server refuses.
   */
  webSocket<T>(
    path: string,
    block: (conversation: TestConversation) => T | Promise<T>,
    options?: TestWebSocketOptions,
  ): Promise<T>
  /** Opens a WebSocket without a block; it is closed when `testApplication` ends at the latest. */
  webSocketSession(path: string, options?: TestWebSocketOptions): Promise<TestConversation>
  /** A plain HTTP GET. */
  get(path: string, init?: { headers?: Record<string, string> }): Promise<TestHttpResponse>
}
