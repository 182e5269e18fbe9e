import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { type ServerOptions, WebSocketServer } from 'ws'
import { CloseReason } from './CloseReason.ts'
import { _ConsumerRun } from './ConsumerRun.ts'
import { _HeartbeatWheel } from './heartbeat.ts'
import { _refuseUpgrade, _writeHttpResult, _writePlain } from './httpResult.ts'
import { _checkInteger, defaultAppOptions } from './options.ts'
import { type _RouteMatch, Router } from './router.ts'
import { ServerError } from './ServerError.ts'
import { ServerSession } from './ServerSession.ts'
import { type _SessionSocket, _sessionSocketClass } from './SessionSocket.ts'
import type {
  HttpHandler,
  ListenAddress,
  ListenOptions,
  ResolvedAppOptions,
  WebSocketHandler,
} from './types.ts'
import { _upgradeRequest } from './UpgradeRequest.ts'

/**
 * A server application: WebSocket routes (Ktor's `webSocket("/path") { … }`)
 * and plain HTTP GET routes on one Node `http.Server`, built on `ws`.
 * Make one with `createApp`.
 *
 * @example
 * const app = createApp()
 * app.webSocket('/echo', async session => {
 *   for await (const frame of session.incoming) if (frame.type === 'text') await session.send(frame.text)
 * })
 * const { port } = await app.listen({ port: 8787 })
 * // …
 * await app.close()
 */
export class App {
  /** The options in effect, defaults filled in. */
  readonly options: ResolvedAppOptions
  /**
   * The Node HTTP server. `listen()` starts it; to embed the app in a server
   * of your own instead, pass that server's `'request'` and `'upgrade'`
   * events to {@link App.handleRequest} and {@link App.handleUpgrade}.
   */
  readonly server: Server

  private readonly _wss: WebSocketServer
  private readonly _wsRoutes = new Router<WebSocketHandler>()
  private readonly _httpRoutes = new Router<HttpHandler>()
  private readonly _sessions = new Set<ServerSession>()
  /** One timer for the heartbeats of every session. */
  private readonly _heartbeats: _HeartbeatWheel
  private readonly _running = new Set<Promise<void>>()
  /** Header values the app's sessions share (see `_upgradeRequest`). */
  private readonly _sharedValues = new Map<string, string>()
  /** Handlers running as a counted consumer run (see `_ConsumerRun`), besides `_running`. */
  private _consumerRuns = 0
  /** Told when `_consumerRuns` is back to 0, while the shutdown waits. */
  private _consumerRunsEnded: (() => void) | undefined = undefined
  private _listenCalled = false
  private _closing: Promise<void> | undefined

  /** @internal Use `createApp`. */
  constructor(options: ResolvedAppOptions) {
    this.options = options
    this._heartbeats = new _HeartbeatWheel(options.timers, options.timers !== defaultAppOptions.timers)
    this.server = createServer((req, res) => this.handleRequest(req, res))
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.handleUpgrade(req, socket, head),
    )
    this._wss = new WebSocketServer({
      noServer: true,
      // Hands each socket's events to its session: no listeners per connection.
      WebSocket: _sessionSocketClass(),
      // The session socket answers pings itself, without a callback per socket.
      autoPong: false,
      clientTracking: false,
      maxPayload: options.maxFrameSize,
      perMessageDeflate: options.perMessageDeflate,
      // Not in @types/ws yet: how long ws waits for the peer's close frame before dropping the socket.
      closeTimeout: options.closeTimeout,
    } as ServerOptions)
  }

  /** The open sessions, on every route. */
  get sessions(): ReadonlySet<ServerSession> {
    return this._sessions
  }

  /** Where the app listens, or `undefined` before `listen()` resolved and after `close()`. */
  get address(): ListenAddress | undefined {
    const address = this.server.address()
    return address && typeof address === 'object' ? { port: address.port, host: address.address } : undefined
  }

  /**
   * Adds a WebSocket route. The handler runs for the whole session; when it
   * returns the session is closed with 1000, when it throws with 1011 (and the
   * error is logged); other sessions are not affected.
   *
   * @param path - e.g. `'/echo'` or `'/chat/:room'` (then `session.params.room`).
   * @param handler - The session block.
   * @returns The app, for chaining.
   * @throws ServerError `BAD_ROUTE` for a bad or duplicate path.
   */
  webSocket(path: string, handler: WebSocketHandler): this {
    if (typeof handler !== 'function')
      throw new TypeError(`app.webSocket('${path}', handler): handler must be a function`)
    this._wsRoutes.add(path, handler)
    return this
  }

  /**
   * Adds a plain HTTP route for GET and HEAD, e.g. a health check. The handler
   * may be async and returns an object (200 JSON), a string (200 text), bytes,
   * `{ status, body?, headers? }`, or nothing (204). If it throws, the answer
   * is 500 and the error is logged.
   *
   * @param path - e.g. `'/health'` or `'/rooms/:room'`.
   * @param handler - `(request, { params, url }) => result`.
   * @returns The app, for chaining.
   * @throws ServerError `BAD_ROUTE` for a bad or duplicate path.
   */
  get(path: string, handler: HttpHandler): this {
    if (typeof handler !== 'function')
      throw new TypeError(`app.get('${path}', handler): handler must be a function`)
    this._httpRoutes.add(path, handler)
    return this
  }

  /**
   * Starts listening.
   *
   * @param options - `port` (default 0: a free one) and `host` (default `'127.0.0.1'`).
   * @returns The bound port and host.
   * @throws ServerError `ALREADY_LISTENING`, `APP_CLOSED`; the Node error when the port is taken.
   */
  async listen(options: ListenOptions = {}): Promise<ListenAddress> {
    const { port = 0, host = '127.0.0.1' } = options
    _checkInteger('app.listen(options)', 'port', port, 0, '0 picks a free port', 65_535)
    if (typeof host !== 'string' || host === '') {
      throw new TypeError(
        `app.listen(options): host must be a non-empty string such as '127.0.0.1' or '0.0.0.0'`,
      )
    }
    if (this._closing)
      throw new ServerError('APP_CLOSED', 'app.listen(): the app was closed; create a new one')
    if (this._listenCalled)
      throw new ServerError('ALREADY_LISTENING', 'app.listen(): the app is already listening')
    this._listenCalled = true
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject)
        this.server.listen(port, host, () => {
          this.server.off('error', reject)
          resolve()
        })
      })
    } catch (error) {
      this._listenCalled = false
      throw error
    }
    const address = this.server.address() as AddressInfo
    this.options.logger.info?.(`lensync app listening on ${address.address}:${address.port}`)
    return { port: address.port, host: address.address }
  }

  /**
   * Handles an HTTP request: a GET route, 426 on a WebSocket route, 405 for
   * other methods, 404 for unknown paths. `listen()` wires this up for you.
   *
   * @param req - The request.
   * @param res - The response.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '/'
    const match = this._httpRoutes.match(target)
    if (!match) {
      if (this._wsRoutes.match(target)) {
        _writePlain(res, 426, 'Upgrade Required: this path only speaks WebSocket', { upgrade: 'websocket' })
      } else {
        _writePlain(res, 404, 'Not Found')
      }
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      _writePlain(res, 405, 'Method Not Allowed', { allow: 'GET, HEAD' })
      return
    }
    Promise.resolve()
      .then(() => match.value(req, { params: match.params, url: new URL(target, 'http://localhost') }))
      .then(result => _writeHttpResult(res, result, req.method === 'HEAD'))
      .catch(error => {
        this.options.logger.error(`HTTP route GET ${match.path} failed`, error)
        if (!res.headersSent) _writePlain(res, 500, 'Internal Server Error')
        else res.destroy()
      })
  }

  /**
   * Handles an HTTP upgrade: accepts it on a WebSocket route, answers 404 for
   * an unknown path (503 while closing) and drops the socket. `listen()` wires
   * this up for you.
   *
   * @param req - The upgrade request.
   * @param socket - Its socket.
   * @param head - The first bytes after the headers.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const match = this._wsRoutes.match(req.url ?? '/')
    if (!match) _refuseUpgrade(socket, 404, 'Not Found')
    else if (this._closing) _refuseUpgrade(socket, 503, 'Service Unavailable')
    else this._wss.handleUpgrade(req, socket, head, ws => this._accept(ws as _SessionSocket, req, match))
  }

  /**
   * Shuts down: stops accepting connections, closes every session with 1001
   * GOING_AWAY, waits for the close handshakes and the handlers (each bounded
   * by `closeTimeout`), then closes the HTTP server, idle keep-alive
   * connections included. Idempotent: every call returns the same promise.
   *
   * @returns Resolves when everything is down.
   */
  close(): Promise<void> {
    this._closing ??= this._shutdown()
    return this._closing
  }

  private async _shutdown(): Promise<void> {
    const serverClosed = this.server.listening
      ? new Promise<void>(resolve => this.server.close(() => resolve()))
      : Promise.resolve()
    this.server.closeIdleConnections()
    const going = new CloseReason(CloseReason.Codes.GOING_AWAY, 'Server shutting down')
    await Promise.all([...this._sessions].map(session => session.close(going)))
    const { closeTimeout } = this.options
    const handlersDone = await settleWithin(
      Promise.allSettled([...this._running, this._allConsumerRunsEnded()]),
      closeTimeout,
    )
    if (!handlersDone) {
      this.options.logger.warn?.(
        `app.close(): ${this._running.size + this._consumerRuns} WebSocket handler(s) still running after ${closeTimeout} ms; not waiting`,
      )
    }
    // Requests still in flight get closeTimeout to finish; then their connections are cut.
    if (!(await settleWithin(serverClosed, closeTimeout))) {
      this.server.closeAllConnections()
      await serverClosed
    }
    this._wss.close()
  }

  private _accept(ws: _SessionSocket, request: IncomingMessage, match: _RouteMatch<WebSocketHandler>): void {
    const session = new ServerSession({
      ws,
      request: _upgradeRequest(request, this._sharedValues),
      params: match.params,
      options: this.options,
      heartbeats: this._heartbeats,
      owner: this,
    })
    this._sessions.add(session)
    // A promise chain, not an async function: nothing but one reaction waits per session.
    let result: unknown
    try {
      result = match.value(session)
    } catch (error) {
      result = Promise.reject(error)
    }
    // A consumer run (the sync route) is counted: no promise per connection.
    if (result instanceof _ConsumerRun && result._countBy(this)) this._consumerRuns++
    else {
      const run: Promise<void> = Promise.resolve(result).then(
        () => this._handlerEnded(session, match.path, run, undefined),
        (error: unknown) => this._handlerEnded(session, match.path, run, { error }),
      )
      this._running.add(run)
    }
    // A handshake that finished while the app was closing: its session missed the 1001.
    if (this._closing)
      void session.close(new CloseReason(CloseReason.Codes.GOING_AWAY, 'Server shutting down'))
  }

  /** @internal A counted consumer run ended (its session had closed before). */
  _runEnded(): void {
    if (--this._consumerRuns === 0) {
      const resolve = this._consumerRunsEnded
      this._consumerRunsEnded = undefined
      resolve?.()
    }
  }

  /** Resolves once no counted consumer run is left (for the shutdown, which runs once). */
  private _allConsumerRunsEnded(): Promise<void> {
    if (this._consumerRuns === 0) return Promise.resolve()
    return new Promise(resolve => {
      this._consumerRunsEnded = resolve
    })
  }

  /** @internal A session closed: it leaves `sessions`. */
  _sessionClosed(session: ServerSession): void {
    this._sessions.delete(session)
  }

  /**
   * The handler returned (`thrown` undefined) or threw: closes the session
   * (1000, or 1011 with a log line for a bug), then forgets the run.
   */
  private _handlerEnded(
    session: ServerSession,
    path: string,
    run: Promise<void>,
    thrown: { readonly error: unknown } | undefined,
  ): Promise<void> {
    let failed = false
    // Receiving or sending on a session the peer closed is how many handlers
    // end; only other errors are bugs worth a 1011 and a log line.
    if (thrown && !(isSessionEnd(thrown.error) && !session.isOpen)) {
      failed = true
      this.options.logger.error(`WebSocket handler for ${path} failed (session ${session.id})`, thrown.error)
    }
    const reason = failed
      ? new CloseReason(CloseReason.Codes.INTERNAL_ERROR, 'Internal server error')
      : new CloseReason(CloseReason.Codes.NORMAL)
    return session.close(reason).then(() => {
      this._running.delete(run)
    })
  }
}

function isSessionEnd(error: unknown): boolean {
  return error instanceof ServerError && (error.code === 'RECEIVE_CLOSED' || error.code === 'SESSION_CLOSED')
}

/** Waits for a promise at most `ms`; `true` when it settled in time. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<false>(resolve => {
    timer = setTimeout(() => resolve(false), ms)
    timer.unref()
  })
  try {
    return await Promise.race([promise.then(() => true as const), timedOut])
  } finally {
    clearTimeout(timer)
  }
}
