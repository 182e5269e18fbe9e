import { Buffer } from 'node:buffer'
import { WebSocket } from 'ws'
import { CloseReason } from './CloseReason.ts'
import { type _DirectSocket, _directSocket, _framed, _framedText } from './directWrite.ts'
import { type _FrameConsumer, type _FrameQueueLimits, FrameQueue } from './FrameQueue.ts'
import { _frameSize, _toWire, type _Wire } from './frame.ts'
import type { _HeartbeatWheel } from './heartbeat.ts'
import { _checkInteger } from './options.ts'
import { ClosedReceiveError, ServerError } from './ServerError.ts'
import type { _SessionSocket } from './SessionSocket.ts'
import type { Frame, OutgoingData, ResolvedAppOptions, RouteParams } from './types.ts'
import type { UpgradeRequest } from './UpgradeRequest.ts'
import { _closeReasonOf, _protocolErrorReason, _sendableReason } from './wsClose.ts'

/** Frames queued for the handler before the socket is paused. */
const INCOMING_HIGH_WATER_COUNT = 256
/** Bytes queued for the handler before the socket is paused. */
const INCOMING_HIGH_WATER_BYTES = 1 << 20

/** The bounds of every session's incoming queue. */
const INCOMING_LIMITS: _FrameQueueLimits<Frame> = Object.freeze({
  sizeOf: _frameSize,
  highWaterBytes: INCOMING_HIGH_WATER_BYTES,
  highWaterCount: INCOMING_HIGH_WATER_COUNT,
})

/** @internal What a session tells the app that made it. */
export interface _SessionOwner {
  /** The connection closed. */
  _sessionClosed(session: ServerSession): void
}

/** @internal Everything a session needs from the app that accepted it. */
export interface _SessionInit {
  readonly ws: _SessionSocket
  readonly request: UpgradeRequest
  readonly params: RouteParams
  readonly options: ResolvedAppOptions
  /** The app's heartbeat timer, shared by its sessions. */
  readonly heartbeats: _HeartbeatWheel
  /** Told when the session closed. */
  readonly owner?: _SessionOwner
}

/**
 * One WebSocket connection on a route, as Ktor's `DefaultWebSocketServerSession`.
 * The route's handler gets it; pings, pongs and the close handshake are handled
 * for you.
 *
 * - `send()` resolves once the frame was written to the socket, so awaiting it
 *   in a loop follows the peer's pace. Not awaiting it is safe (a failure is
 *   then silently dropped); `flush()` waits for everything queued so far.
 * - `closeReason` is the **peer's** reason (Ktor): when the server closed, the
 *   code the peer echoed; 1006 when the connection dropped without a close
 *   frame; `null` for a close frame without a code. For protocol errors the
 *   server detects (1007 bad UTF-8, 1009 too big, 1002) it is that code, since
 *   the peer's echo is not read after such an error.
 *
 * Sessions are made by the app; you do not construct them.
 */
export class ServerSession {
  // The heartbeat wheel (`_HeartbeatTarget`) and the socket (`_SocketSession`) use a session
  // structurally: an `implements` would name internal types in the public declarations.

  /** Made by `createId` at the first read of {@link ServerSession.id} (most sessions never need one). */
  private _id: string | undefined = undefined
  /**
   * What the session keeps of its HTTP upgrade request: headers, URL,
   * method and socket (see {@link UpgradeRequest}).
   */
  readonly request: UpgradeRequest
  /** The route's path parameters, e.g. `params.room` for `/chat/:room`. */
  readonly params: RouteParams

  /** @internal Kept by the app's heartbeat wheel (see `_HeartbeatTarget`). */
  _beatIndex = -1
  /** @internal Kept by the app's heartbeat wheel. */
  _beatRound = 0
  /** @internal Kept by the app's heartbeat wheel. */
  _beatAwaiting = false

  private readonly _ws: WebSocket
  /**
   * Frames not taken yet, made when one has to wait: at the first frame
   * without a consumer, when the consumer is busy, or at the first
   * `incoming`/`receive()`. A sync connection, whose frames go to its
   * consumer as they arrive, usually never needs one.
   */
  private _queue: FrameQueue<Frame> | undefined = undefined
  /** Takes the frames as they arrive (`_consume`), while no queue was needed. */
  private _consumer: _FrameConsumer<Frame> | undefined = undefined
  /** The app's options; a copy of this session's own once a per-session setter was used. */
  private _options: ResolvedAppOptions
  private readonly _owner: _SessionOwner | undefined
  private readonly _heartbeats: _HeartbeatWheel
  private _pendingWrites = 0
  private _flushWaiters: (() => void)[] | undefined = undefined
  /** The peer's close reason, once the connection closed. */
  private _peerReason: CloseReason | null | undefined = undefined
  /** The rest of the closing's state, made once the session closes (or `closeReason` is read). */
  private _end: SessionEnd | undefined = undefined
  /** `_written`'s function, made at the first write ws frames (most frames bypass it). */
  private _writtenFn: (() => void) | undefined = undefined

  /** @internal Made by the app. */
  constructor(init: _SessionInit) {
    const { ws, options } = init
    this._ws = ws
    this.request = init.request
    this.params = init.params
    this._options = options
    this._owner = init.owner
    this._heartbeats = init.heartbeats
    this._heartbeats.start(this)

    // The socket hands its events to the session (no listeners per connection).
    ws._session = this
  }

  /**
   * A unique id, from the app's `createId`, made the first time it is read
   * (a session that is never named holds no id string) and the same after.
   */
  get id(): string {
    this._id ??= this._options.createId()
    return this._id
  }

  /** Incoming frames in order; a `for await` loop over it ends when the connection closes. */
  get incoming(): AsyncIterable<Frame> {
    return this._incomingQueue()
  }

  /** Resolves when the connection closed, with the peer's close reason (see the class notes). */
  get closeReason(): Promise<CloseReason | null> {
    const end = this._ending()
    if (end.closeReason === undefined) {
      const peer = this._peerReason
      end.closeReason =
        peer !== undefined
          ? Promise.resolve(peer)
          : new Promise(resolve => {
              end.resolveReason = resolve
            })
    }
    return end.closeReason
  }

  /** Whether frames can still be sent (`false` once either side started closing). */
  get isOpen(): boolean {
    return this._ws.readyState === WebSocket.OPEN
  }

  /** Bytes queued by `send()` and not yet written to the socket. */
  get bufferedAmount(): number {
    return this._ws.bufferedAmount
  }

  /** The subprotocol the server agreed to (`''` for none). */
  get protocol(): string {
    return this._ws.protocol
  }

  /** Milliseconds between pings for this session; `0` disables. Setting it starts a new round. */
  get pingPeriod(): number {
    return this._options.pingPeriod
  }
  set pingPeriod(ms: number) {
    _checkInteger('session.pingPeriod', 'pingPeriod', ms, 0, 'milliseconds between pings, 0 to disable')
    this._options = { ...this._options, pingPeriod: ms }
    this._heartbeats.restart(this)
  }

  /** Milliseconds to wait for a pong for this session. Setting it starts a new round. */
  get timeout(): number {
    return this._options.timeout
  }
  set timeout(ms: number) {
    _checkInteger('session.timeout', 'timeout', ms, 1, 'milliseconds to wait for a pong')
    this._options = { ...this._options, timeout: ms }
    this._heartbeats.restart(this)
  }

  /** Largest incoming message for this session, in bytes; a larger one closes it with 1009. */
  get maxFrameSize(): number {
    return this._options.maxFrameSize
  }
  set maxFrameSize(bytes: number) {
    _checkInteger('session.maxFrameSize', 'maxFrameSize', bytes, 1, 'bytes per message', 0x7fffffff)
    this._options = { ...this._options, maxFrameSize: bytes }
    // ws keeps the limit per connection in its receiver (and its inflater);
    // there is no public setter, so the private fields are set. ws is pinned to ^8.
    const internals = this._ws as unknown as {
      _receiver?: { _maxPayload?: number }
      _extensions?: Record<string, { _maxPayload?: number }>
    }
    if (internals._receiver) internals._receiver._maxPayload = bytes
    const inflater = internals._extensions?.['permessage-deflate']
    if (inflater) inflater._maxPayload = bytes
  }

  /**
   * The next incoming frame.
   *
   * @returns The frame.
   * @throws ClosedReceiveError once the connection closed and every frame before the close was taken.
   */
  receive(): Promise<Frame> {
    return this._incomingQueue().receive()
  }

  /**
   * Sends a frame: a string as text, bytes as binary, a {@link Frame}, or a
   * `PreparedMessage`. When more than `maxBufferedBytes` are already unsent,
   * the session is closed with 1013 instead (a slow consumer).
   *
   * @param data - What to send. Bytes are not copied: do not change them before the promise resolved.
   * @returns Resolves once written to the socket.
   * @throws ServerError `SESSION_CLOSED` when the session is closing or closed, or the connection dropped first.
   * @throws TypeError for something that is not a string, bytes, a Frame or a PreparedMessage.
   */
  send(data: OutgoingData): Promise<void> {
    let wire: _Wire
    try {
      wire = _toWire(data)
    } catch (error) {
      return Promise.reject(error)
    }
    const refused = this._refuseSend()
    if (refused) return quiet(Promise.reject(refused))
    return quiet(
      new Promise<void>((resolve, reject) => {
        this._write(wire, error => (error ? reject(this._closedError(error)) : resolve()))
      }),
    )
  }

  /**
   * Waits until everything sent so far was written to the socket (or dropped
   * with the connection).
   *
   * @returns Resolves when nothing is pending.
   */
  flush(): Promise<void> {
    if (this._pendingWrites === 0 && !this._socketHolds()) return Promise.resolve()
    return new Promise(resolve => {
      // Frames ws framed call back when written; frames written straight to
      // the socket do not (no callback: no tick, no closure per frame), so
      // after those, an empty write's callback says the socket wrote them.
      const afterWs = (): void => {
        const socket = this._socketHolds()
          ? (this._ws as unknown as { _socket: _DirectSocket })._socket
          : undefined
        if (socket === undefined) resolve()
        else socket.write(EMPTY, () => resolve())
      }
      if (this._pendingWrites === 0) afterWs()
      else {
        this._flushWaiters ??= []
        this._flushWaiters.push(afterWs)
      }
    })
  }

  /**
   * Starts the close handshake and waits for it: resolves when the peer
   * answered, or after the app's `closeTimeout` when the connection was
   * dropped instead. Frames sent before are delivered first. Idempotent: later
   * calls (and calls after the peer closed) just wait for the same end.
   *
   * @param reason - Default 1000 NORMAL. Messages longer than 123 UTF-8 bytes are cut.
   * @returns Resolves when the connection is closed.
   * @throws ServerError `BAD_CLOSE_REASON` for a code that cannot be sent (e.g. 1005, 1006).
   */
  close(reason: CloseReason = new CloseReason(CloseReason.Codes.NORMAL)): Promise<void> {
    const end = this._ending()
    end.closed ??= this.closeReason.then(() => undefined)
    if (this._ws.readyState !== WebSocket.OPEN) return end.closed
    let wire: { code: number; message: string }
    try {
      wire = _sendableReason(reason)
    } catch (error) {
      return Promise.reject(error)
    }
    end.localReason = reason
    this._ws.close(wire.code, wire.message)
    return end.closed
  }

  /** Drops the connection at once, without a close handshake (the peer sees 1006). */
  terminate(): void {
    this._ws.terminate()
  }

  /**
   * @internal
   * Hands every incoming frame to `consumer` as it arrives instead of
   * `incoming`/`receive()` (the sync route: no async iterator per
   * connection). A busy consumer (a promise from `take`) queues the next
   * frames, and past the queue's bounds pauses the socket, as a `for await`
   * loop that awaits does.
   *
   * Once the connection closed and every frame was taken, `consumer.end()` is called.
   */
  _consume(consumer: _FrameConsumer<Frame>): void {
    if (this._queue !== undefined) this._queue.consume(consumer)
    else if (this._peerReason !== undefined) consumer.end()
    else this._consumer = consumer
  }

  /** @internal The peer's close reason (as `closeReason` resolves with), once the connection closed. */
  get _peerCloseReason(): CloseReason | null | undefined {
    return this._peerReason
  }

  /** @internal A frame arrived. */
  _received(frame: Frame): void {
    const consumer = this._consumer
    if (this._queue !== undefined) this._queue.push(frame)
    else if (consumer === undefined) this._incomingQueue().push(frame)
    else {
      // Taken at once; while the consumer is busy with it, a queue keeps the next frames.
      const busy = consumer.take(frame)
      if (busy !== undefined) {
        this._consumer = undefined
        this._incomingQueue().consume(consumer, busy)
      }
    }
  }

  /** @internal ws reported an error: a protocol error closes with its code, which `closeReason` keeps. */
  _failed(error: Error): void {
    // ws reports protocol errors (bad UTF-8, too big, bad opcode) here and
    // then closes with the matching code itself; keep that code for closeReason.
    const reason = _protocolErrorReason(error)
    if (reason) {
      const end = this._ending()
      end.protocolError ??= reason
      this._options.logger.warn?.(`WebSocket session ${this.id}: ${error.message}; closing ${reason.code}`)
    }
  }

  /** @internal The connection closed. */
  _ended(code: number, reason: Buffer): void {
    this._heartbeats.stop(this)
    const end = this._end
    this._peerReason = end?.protocolError ?? _closeReasonOf(code, reason)
    const consumer = this._consumer
    this._consumer = undefined
    if (this._queue !== undefined) this._queue.close()
    else consumer?.end()
    const resolve = end?.resolveReason
    if (end !== undefined) end.resolveReason = undefined
    resolve?.(this._peerReason)
    this._owner?._sessionClosed(this)
  }

  /** @internal The heartbeat: a pong arrived. */
  _ponged(payload: string): void {
    this._heartbeats.pong(this, payload)
  }

  /** @internal The incoming queue is full: stop reading. */
  _pauseReads(): void {
    this._ws.pause()
  }

  /** @internal The incoming queue has room again. */
  _resumeReads(): void {
    this._ws.resume()
  }

  /** @internal What `receive()` rejects with once the connection closed. */
  _receiveClosedError(): Error {
    return new ClosedReceiveError(this._peerReason)
  }

  /** @internal The heartbeat sends a ping. */
  _heartbeatPing(payload: string): void {
    this._ws.ping(payload)
  }

  /** @internal Whether reads are paused (the incoming queue is full): a missing pong is not held against the peer. */
  _heartbeatReadsPaused(): boolean {
    return this._queue?.paused === true
  }

  /** @internal No pong within `timeout`: closes with 1011. */
  _heartbeatTimedOut(): void {
    this._options.logger.warn?.(
      `WebSocket session ${this.id}: no pong within ${this.timeout} ms, closing 1011`,
    )
    void this.close(new CloseReason(CloseReason.Codes.INTERNAL_ERROR, 'Ping timeout'))
  }

  /** @internal For `sendMany`: queues without a promise. Returns whether it was queued. */
  _sendQuietly(wire: _Wire): boolean {
    if (this._refuseSend()) return false
    this._write(wire, undefined)
    return true
  }

  /** Whether the socket still holds bytes it has not written (and can still write). */
  private _socketHolds(): boolean {
    const socket = (this._ws as unknown as { _socket?: _DirectSocket })._socket
    return socket?.writable === true && socket.writableLength > 0
  }

  /** @internal The reason the session closed with as far as this side knows (for logs and errors). */
  get _endReason(): CloseReason | null | undefined {
    return this._end?.localReason ?? this._peerReason
  }

  /** The incoming queue (made at its first use; closed at once after the connection closed). */
  private _incomingQueue(): FrameQueue<Frame> {
    if (this._queue === undefined) {
      this._queue = new FrameQueue<Frame>(INCOMING_LIMITS, this)
      if (this._peerReason !== undefined) this._queue.close()
    }
    return this._queue
  }

  /** The closing's state (made at its first use). */
  private _ending(): SessionEnd {
    this._end ??= {
      localReason: undefined,
      protocolError: undefined,
      closeReason: undefined,
      resolveReason: undefined,
      closed: undefined,
    }
    return this._end
  }

  /**
   * The socket's callback for a write: one function per session, not one
   * per frame (a bound method: smaller than an arrow function and its context).
   */
  private get _written(): () => void {
    this._writtenFn ??= this._writeFinished.bind(this)
    return this._writtenFn
  }

  private _write(wire: _Wire, done: ((error?: Error) => void) | undefined): void {
    // A whole frame goes straight to the socket in one write when ws allows it
    // (see directWrite.ts): a prepared message's frame is made once for every session.
    if (wire.fin) {
      const socket = _directSocket(this._ws)
      const frame = socket === undefined ? undefined : directFrame(wire)
      if (frame !== undefined) {
        ;(socket as NonNullable<typeof socket>).write(frame, done && (error => done(error ?? undefined)))
        return
      }
    }
    this._pendingWrites++
    this._ws.send(
      wire.payload,
      { binary: wire.binary, fin: wire.fin },
      done === undefined
        ? this._written
        : error => {
            this._written()
            done(error ?? undefined)
          },
    )
  }

  /** A write handed to the socket finished (`_written`, bound once per session). */
  private _writeFinished(): void {
    if (--this._pendingWrites === 0 && this._flushWaiters !== undefined) {
      const waiters = this._flushWaiters
      this._flushWaiters = undefined
      for (const resolve of waiters) resolve()
    }
  }

  private _refuseSend(): ServerError | undefined {
    if (this._ws.readyState !== WebSocket.OPEN) return this._closedError()
    const unsent = this._ws.bufferedAmount
    const { maxBufferedBytes } = this._options
    if (unsent > maxBufferedBytes) {
      this._options.logger.warn?.(
        `WebSocket session ${this.id}: ${unsent} bytes unsent (maxBufferedBytes ${maxBufferedBytes}); ` +
          'closing 1013 as a slow consumer',
      )
      void this.close(new CloseReason(CloseReason.Codes.TRY_AGAIN_LATER, 'Slow consumer'))
      return this._closedError()
    }
    return undefined
  }

  private _closedError(cause?: Error): ServerError {
    const reason = this._endReason
    return new ServerError(
      'SESSION_CLOSED',
      `WebSocket session ${this.id} is ${this._ws.readyState === WebSocket.CLOSED ? 'closed' : 'closing'}` +
        (reason ? ` (${reason})` : '') +
        '; nothing more can be sent',
      { closeReason: reason, cause },
    )
  }
}

/** What a session knows of its closing, besides the peer's reason. */
interface SessionEnd {
  /** The reason this side closed with, when it closed first. */
  localReason: CloseReason | undefined
  /** The code of a protocol error ws reported (it closes with that code). */
  protocolError: CloseReason | undefined
  /** What `closeReason` returns, made at its first read (most sessions never read it). */
  closeReason: Promise<CloseReason | null> | undefined
  resolveReason: ((reason: CloseReason | null) => void) | undefined
  /** What `close()` returns (made at its first call). */
  closed: Promise<void> | undefined
}

/** Bytes copied into a frame of their own at most; larger ones go through ws without a copy. */
const DIRECT_COPY_LIMIT = 16 << 10

/** An empty write: its callback runs once the socket wrote everything before it. */
const EMPTY: Buffer = Buffer.alloc(0)

/** The whole frame for a direct write, or `undefined` when ws should frame it (large bytes: no copy). */
function directFrame(wire: _Wire): Buffer | undefined {
  const { prepared, payload } = wire
  if (prepared !== undefined) {
    prepared._frame ??= _framed(prepared._payload, prepared.binary)
    return prepared._frame
  }
  if (typeof payload === 'string') return _framedText(payload)
  return payload.byteLength <= DIRECT_COPY_LIMIT ? _framed(payload, wire.binary) : undefined
}

/** Marks a promise as handled, so ignoring it cannot crash the process; awaiting it still sees the rejection. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {})
  return promise
}
