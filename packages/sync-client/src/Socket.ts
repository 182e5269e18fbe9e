import type { ReadonlySignal } from '@lensync/store'
import { ConnectionError } from './errors.ts'
import { _SocketMonitor, type ConnectionInfo, type FrameObserver } from './observation.ts'
import { appendToUrl, normalizeUrl, resolveOptions, resolveReconnect } from './options.ts'
import { Session } from './Session.ts'
import type { ConnectOptions, SocketOptions, WebSocketOptions } from './types.ts'

/**
 * Where and how to connect (fritz2's `Socket`), made by {@link websocket}.
 * Immutable: `append()` makes a new one. Each `connect()` is a new
 * {@link Session}.
 */
export class Socket {
  /** The URLs, normalized (`http:` → `ws:`); reconnects move on to the next one, round-robin. */
  readonly urls: readonly string[]
  /** The options with every default filled in (the sync layer reads `token` from here). */
  readonly options: SocketOptions
  /**
   * Where this socket's observers are told about its shared sync connection.
   * @internal
   */
  readonly _monitor = new _SocketMonitor()

  /**
   * The client id entity syncs over this socket send in `hello` and write
   * under: the `clientId` option, or a random id made by `websocket()`
   * (kept by `append()` and every `connect()`), so two tabs are two clients.
   */
  get clientId(): string {
    return this.options.clientId
  }

  /**
   * The shared sync connection of this socket (the one its syncs and
   * presence rooms ride): state, URL, failed attempts since it was last
   * ready, opens. `idle` while no sync or room uses the socket.
   */
  get connectionInfo(): ReadonlySignal<ConnectionInfo> {
    return this._monitor.info
  }

  /**
   * Observes every frame of this socket's shared sync connection, both
   * directions, as it is sent or received — for inspectors and logging
   * (`@lensync/devtools`). Costs one boolean check per frame while nobody
   * observes. An observer that throws does not stop the sync (the error is
   * rethrown asynchronously). Sessions made with `connect()` are not observed.
   *
   * @param observer - Gets each {@link Frame}: direction, time, text, size in bytes.
   * @returns A disposer that stops observing.
   * @example
   * const stop = socket.frames(frame => console.log(frame.direction, frame.size, frame.text))
   */
  frames(observer: FrameObserver): () => void {
    if (typeof observer !== 'function')
      throw new ConnectionError('BAD_OPTION', 'socket.frames() takes a function that receives each frame')
    return this._monitor.subscribe(observer)
  }

  /**
   * Use {@link websocket}.
   * @param urls - Normalized URLs (at least one).
   * @param options - Resolved options.
   * @internal
   */
  constructor(urls: readonly string[], options: SocketOptions) {
    this.urls = Object.freeze([...urls])
    this.options = options
  }

  /**
   * A new socket with `path` appended to every URL (query parameters of both are kept).
   * @param path - A sub-path like `'/room-1'`, optionally with `?query`.
   * @returns The new socket, with the same options.
   * @throws ConnectionError `BAD_URL` when the result is not a usable URL.
   * @example
   * websocket('ws://localhost:8787/rooms').append('/42') // ws://localhost:8787/rooms/42
   */
  append(path: string): Socket {
    return new Socket(
      this.urls.map(url => appendToUrl(url, path)),
      this.options,
    )
  }

  /**
   * Opens a new session; it starts connecting at once.
   * @param overrides - `reconnect`: `true` (with the socket's settings or the defaults),
   *   settings merged over the socket's, or `false`. Default: the socket's `reconnect` option.
   * @returns The session.
   * @throws ConnectionError `BAD_OPTION` for bad reconnect settings.
   */
  connect(overrides: ConnectOptions = {}): Session {
    if (typeof overrides !== 'object' || overrides === null) {
      throw new ConnectionError('BAD_OPTION', 'connect() takes an options object like { reconnect: true }')
    }
    const reconnect = resolveReconnect(overrides.reconnect, this.options.reconnect)
    const options = reconnect === this.options.reconnect ? this.options : { ...this.options, reconnect }
    return new Session(this.urls, options)
  }
}

/**
 * Describes a WebSocket endpoint (fritz2's `websocket(url)`); nothing
 * connects until `connect()`. Runs in browsers and in Node, where you pass
 * the `WebSocket` constructor of `ws`.
 *
 * @param url - A `ws:`/`wss:` URL (`http:`/`https:` are turned into them; relative URLs
 *   resolve against the page), or several: reconnects move on to the next one.
 * @param options - Subprotocols, the WebSocket constructor, reconnect settings, the sync token and more.
 * @returns The socket.
 * @throws ConnectionError `BAD_URL`, `BAD_PROTOCOL`, `NO_WEBSOCKET` or `BAD_OPTION`, at once.
 * @example
 * import { WebSocket } from 'ws' // Node only; browsers have it built in
 * const socket = websocket('ws://localhost:8787/chat', { WebSocket, reconnect: true })
 * const session = socket.connect()
 */
export function websocket(url: string | readonly string[], options: WebSocketOptions = {}): Socket {
  const list = typeof url === 'string' ? [url] : url
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConnectionError(
      'BAD_URL',
      'websocket() needs a URL like "ws://host:port/path", or a non-empty array of them',
    )
  }
  const urls = list.map(normalizeUrl)
  return new Socket(urls, resolveOptions(options))
}
