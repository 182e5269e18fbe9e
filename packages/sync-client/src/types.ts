import type { Stream } from '@lensync/store'
import type { SyncCache } from './cache/types.ts'
import type { OpSequence } from './OpSequence.ts'

export type { Session } from './Session.ts'
export type { Socket } from './Socket.ts'

/** The life of a {@link Session}, as `session.state` shows it. */
export type SessionState = 'connecting' | 'open' | 'closing' | 'closed'

/** What `session.send()` accepts: the types every WebSocket implementation sends. */
export type SendData = string | Blob | ArrayBuffer | ArrayBufferView

/**
 * The part of a WebSocket a session uses. The browser's `WebSocket` and the
 * `WebSocket` of the `ws` package both fit.
 */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number
  /** How binary messages are delivered; a session sets it to its `binaryType` option. */
  binaryType: string
  /** Sends a message (only called while open). */
  send(data: SendData): void
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void
  // biome-ignore lint/suspicious/noExplicitAny: the event types differ between the DOM and `ws`
  addEventListener(type: string, listener: (event: any) => void): void
  // biome-ignore lint/suspicious/noExplicitAny: the event types differ between the DOM and `ws`
  removeEventListener(type: string, listener: (event: any) => void): void
}

/** A WebSocket constructor: `globalThis.WebSocket` in browsers, `WebSocket` from `ws` in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike

/** The timer functions a session schedules reconnects with (injectable for tests). */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Credentials for the sync `hello`: a string, or a function read on every (re)connect. */
export type Token = string | (() => string | Promise<string>)

/**
 * How a session reconnects. Attempt `n` (0 for the first retry after a
 * connection ended) waits a random time between `minDelay` and
 * `min(maxDelay, minDelay · factorⁿ⁺¹)`; see {@link ReconnectOptions.jitter}.
 */
export interface ReconnectOptions {
  /** The shortest wait before a retry, in ms. Default `250`. */
  minDelay?: number
  /** The longest wait before a retry, in ms. Default `10_000`. */
  maxDelay?: number
  /** How much the upper bound of the wait grows per failed attempt (≥ 1). Default `2`. */
  factor?: number
  /**
   * How much of the wait is random, from 0 to 1. `1` (default) is full
   * jitter: a uniform wait between `minDelay` and the attempt's upper bound,
   * so clients dropped together do not come back together. `0` waits exactly
   * the upper bound.
   */
  jitter?: number
  /** How long (ms) a connection must stay open before the backoff starts over. Default `5_000`. */
  resetAfter?: number
}

/** {@link ReconnectOptions} with every default filled in, and whether reconnecting is on. */
export interface ResolvedReconnectOptions extends Readonly<Required<ReconnectOptions>> {
  /** Whether a session reconnects after its connection ended. */
  readonly enabled: boolean
}

/** Options of `websocket(url, options)`. */
export interface WebSocketOptions {
  /** WebSocket subprotocols to offer, e.g. `['lensync.v1']`. Default none. */
  protocols?: string | readonly string[]
  /**
   * The WebSocket constructor. Default `globalThis.WebSocket`; in Node before
   * 22 pass `WebSocket` from `ws`.
   */
  WebSocket?: WebSocketConstructor
  /**
   * Reconnect after a connection ends: `true` (with the defaults) or the
   * settings. Default `false`: a plain `connect()` is one connection. Entity
   * syncs always connect with reconnect on, using these settings if given.
   */
  reconnect?: boolean | ReconnectOptions
  /**
   * Credentials for the sync `hello`, re-read on every reconnect. The
   * transport only keeps it in `socket.options`; it never puts it in the URL.
   */
  token?: Token
  /** How binary messages arrive in `event.data`. Default `'arraybuffer'`. */
  binaryType?: 'arraybuffer' | 'blob'
  /**
   * How many sends a session holds while it is not open (before the first
   * open and while reconnecting); one more rejects with `SendError`
   * `QUEUE_FULL`. Default `1000`.
   */
  maxQueue?: number
  /**
   * How many messages a session keeps for the first subscriber of `messages`
   * when they arrive before it; past that the oldest are dropped. Default `1000`.
   */
  maxBuffer?: number
  /** Timer functions (for tests). Default the global `setTimeout`/`clearTimeout`, looked up when used. */
  timers?: Timers
  /** Random numbers in [0, 1) for the jitter (for tests). Default `Math.random`. */
  random?: () => number
  /**
   * Where the `online` event comes from: a waiting reconnect is tried at once
   * when it fires. Default `globalThis` when it has `addEventListener` (browsers); `null` for none.
   */
  online?: EventTarget | null
  /**
   * The client id the sync layer sends in `hello` and writes under
   * (`socket.clientId`): every write carries it and an op id increasing per
   * client, so the server recognises a write it already applied. A non-empty
   * string of at most 256 characters. Default: a random id per `websocket()`
   * call (two tabs are two clients). Give one only to send writes made under
   * it before (e.g. by an earlier page); its op ids then start from the clock,
   * so they never repeat an earlier page's.
   */
  clientId?: string
  /**
   * A local copy of synced values and an outbox of edits not yet
   * acknowledged, shared by the tabs of a browser: {@link indexedDbCache} in
   * browsers, {@link memoryCache} in tests and Node. With it a sync shows the
   * cached value before any connection, edits survive a reload or a closed
   * tab, and tabs see each other's edits at once. Default none.
   */
  cache?: SyncCache
  /**
   * The highest sync protocol version offered in `hello`: `3` (the default,
   * the latest: compact frames, short patches and changes), `2` (compact frames) or
   * `1` (every frame self-describing JSON,
   * e.g. for a proxy or a log that reads frames). The server answers in the
   * highest version both speak, and a server that refuses the offer (close
   * 1002 before its `welcome`) is offered the newest version its close
   * reason names next ("this server speaks 1 to N"), else version 1. Presence and the
   * cache's outbox senders speak version 1 either way.
   */
  protocolVersion?: number
}

/** The options of a {@link Socket} with every default filled in (`socket.options`). */
export interface SocketOptions {
  /** Subprotocols offered (possibly empty). */
  readonly protocols: readonly string[]
  /** The WebSocket constructor in use. */
  readonly WebSocket: WebSocketConstructor
  /** Reconnect settings; `enabled` says whether a plain `connect()` reconnects. */
  readonly reconnect: ResolvedReconnectOptions
  /** Credentials for the sync `hello` (unused by the transport). */
  readonly token: Token | undefined
  /** How binary messages arrive. */
  readonly binaryType: 'arraybuffer' | 'blob'
  /** Most sends held while not open. */
  readonly maxQueue: number
  /** Most messages kept for the first subscriber. */
  readonly maxBuffer: number
  /** The timer functions. */
  readonly timers: Timers
  /** The random number source of the jitter. */
  readonly random: () => number
  /** Where the `online` event comes from, or `null`. */
  readonly online: EventTarget | null
  /** The client id (given, or random per `websocket()` call). */
  readonly clientId: string
  /** The cache given, if any (e.g. `socket.options.cache?.clear()` on logout). */
  readonly cache: SyncCache | undefined
  /** The highest sync protocol version offered in `hello`. */
  readonly protocolVersion: number
  /**
   * The op ids of `clientId`, shared by every socket and session made from
   * this `websocket()` call.
   * @internal
   */
  readonly _ops: OpSequence
}

/** Per-session overrides for `socket.connect(overrides)`. */
export interface ConnectOptions {
  /**
   * `true` reconnects with the socket's settings (or the defaults), an object
   * is merged over them, `false` turns reconnecting off for this session.
   */
  reconnect?: boolean | ReconnectOptions
}

/** Options of `session.close(options)`. */
export interface CloseOptions {
  /** 1000 or 3000–4999. Default: none sent (the peer sees 1005), or 1000 when a `reason` is given. */
  code?: number
  /** At most 123 UTF-8 bytes. Default `''`. */
  reason?: string
}

/**
 * The incoming messages of a session, with converting views. Messages that
 * arrive before anything subscribed (to this stream or any view of it) are
 * kept for the first subscriber. The views keep the order of the messages
 * even where a conversion is asynchronous (Blob → ArrayBuffer or text).
 */
export interface MessageStream extends Stream<MessageEvent> {
  /** Each message as text; binary messages are decoded as UTF-8. */
  body(): Stream<string>
  /** Each message's `event.data` as it arrived (a string, or an ArrayBuffer or Blob per `binaryType`). */
  data(): Stream<unknown>
  /** Each message as a Blob, whatever the binaryType (text becomes a UTF-8 Blob). */
  blob(): Stream<Blob>
  /** Each message as an ArrayBuffer, whatever the binaryType (text is UTF-8 encoded). */
  arrayBuffer(): Stream<ArrayBuffer>
}
