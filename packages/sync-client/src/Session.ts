import {
  computed,
  createStream,
  type ReadonlySignal,
  type Signal,
  type Stream,
  type StreamController,
  signal,
} from '@lensync/store'
import { Backoff } from './backoff.ts'
import { isSendable } from './convert.ts'
import { ConnectionError, SendError } from './errors.ts'
import { _MessageHub } from './messageStream.ts'
import type {
  CloseOptions,
  MessageStream,
  ResolvedReconnectOptions,
  SendData,
  SessionState,
  SocketOptions,
  WebSocketLike,
} from './types.ts'

const CONNECTING = 0
const OPEN = 1

/** Close codes after which a session does not reconnect: unauthorized and forbidden. */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([4401, 4403])

interface QueuedSend {
  readonly data: SendData
  readonly resolve: () => void
  readonly reject: (error: SendError) => void
}

/** One connection attempt. A socket's events count only while its attempt is the session's current one. */
interface Attempt {
  ws: WebSocketLike | undefined
  unlisten: () => void
}

function errorEvent(error: unknown): Event {
  return Object.assign(new Event('error'), {
    error,
    message: error instanceof Error ? error.message : String(error),
  })
}

// For attempts that never got a socket; Node before 23 has no CloseEvent.
function closeEvent(code: number, reason: string): CloseEvent {
  const Close = (globalThis as { CloseEvent?: typeof CloseEvent }).CloseEvent
  if (Close) return new Close('close', { code, reason, wasClean: false })
  return Object.assign(new Event('close'), { code, reason, wasClean: false }) as CloseEvent
}

function validateClose(code: number | undefined, reason: string | undefined): void {
  if (code !== undefined && code !== 1000 && !(Number.isInteger(code) && code >= 3000 && code <= 4999)) {
    throw new ConnectionError(
      'BAD_CLOSE',
      `close() code must be 1000 or from 3000 to 4999; got ${String(code)}`,
    )
  }
  if (reason !== undefined && new TextEncoder().encode(reason).byteLength > 123) {
    throw new ConnectionError('BAD_CLOSE', 'close() reason must be at most 123 bytes of UTF-8')
  }
}

/**
 * A WebSocket session (fritz2's `Session`), made by `socket.connect()`. It
 * starts connecting at once.
 *
 * Without reconnect it is one connection: `connecting → open → closing →
 * closed` (or `connecting → closed` when it never opens). With reconnect, a
 * connection that ends goes back to `connecting` and is tried again with
 * backoff, until `close()` or a 4401/4403 close code; then `closed`.
 *
 * On every (re)open: `state` becomes `open`, the queued sends go out in
 * order, then `opens` fires. On every connection that ends (failed attempts
 * and drops that will be retried included) `closes` fires once, after `state`
 * changed. When the session is closed for good, the streams end.
 *
 * @example
 * const session = websocket('ws://localhost:8787/chat', { WebSocket }).connect()
 * session.messages.body().subscribe(text => console.log(text))
 * await session.send('Hello')
 * await session.close()
 */
export class Session {
  /** `connecting`, `open`, `closing` (after `close()`, until the socket closed) or `closed` (for good). */
  readonly state: ReadonlySignal<SessionState>
  /** `state === 'connecting'` (also while waiting to reconnect). */
  readonly isConnecting: ReadonlySignal<boolean>
  /** `state === 'open'`. */
  readonly isOpen: ReadonlySignal<boolean>
  /** `state === 'closed'`. */
  readonly isClosed: ReadonlySignal<boolean>
  /** The URL of the current (or last) connection attempt; it moves on to the next URL on each reconnect. */
  readonly url: ReadonlySignal<string>
  /** Incoming messages, kept for the first subscriber if they come before it (see {@link MessageStream}). */
  readonly messages: MessageStream
  /** Every open, reconnects included (after the queued sends went out). */
  readonly opens: Stream<Event>
  /** Every connection that ended, including failed attempts and drops that will be retried. */
  readonly closes: Stream<CloseEvent>
  /** The socket's error events (a failure is followed by a close). */
  readonly errors: Stream<Event>

  private readonly _state: Signal<SessionState>
  private readonly _url: Signal<string>
  private readonly _hub: _MessageHub
  private readonly _opens: StreamController<Event>
  private readonly _closes: StreamController<CloseEvent>
  private readonly _errors: StreamController<Event>
  private readonly _reconnect: ResolvedReconnectOptions
  private readonly _backoff: Backoff
  private readonly _whenClosed: Promise<void>
  private _resolveClosed!: () => void
  private _attempt: Attempt | undefined
  private _urlIndex = 0
  private _queue: QueuedSend[] = []
  /** `close()` was called, or the session ended for good. */
  private _ending = false
  private _ended = false
  private _endedBecause = 'the session is closed'

  /**
   * The socket's options, reconnect resolved for this session. The sync
   * layer reads `token` and `timers` from here when given a session.
   * @internal
   */
  readonly _options: SocketOptions

  /**
   * Use `socket.connect()`.
   * @param _urls - The URLs to connect to, in turn.
   * @param options - The socket's options, reconnect resolved for this session.
   * @internal
   */
  constructor(
    private readonly _urls: readonly string[],
    options: SocketOptions,
  ) {
    this._options = options
    this._state = signal<SessionState>('connecting')
    this.state = this._state
    this.isConnecting = computed(() => this._state.value === 'connecting')
    this.isOpen = computed(() => this._state.value === 'open')
    this.isClosed = computed(() => this._state.value === 'closed')
    this._url = signal(_urls[0] as string)
    this.url = this._url
    this._hub = new _MessageHub(options.maxBuffer)
    this.messages = this._hub.stream
    this._opens = createStream<Event>()
    this.opens = this._opens.stream
    this._closes = createStream<CloseEvent>()
    this.closes = this._closes.stream
    this._errors = createStream<Event>()
    this.errors = this._errors.stream
    this._reconnect = options.reconnect
    this._backoff = new Backoff(options.reconnect, options)
    this._whenClosed = new Promise(resolve => {
      this._resolveClosed = resolve
    })
    this._connect()
  }

  /**
   * Hands `data` to the socket if the connection is open now; otherwise
   * drops it. Never queued for a later connection: the sync layer sends its
   * frames only after its `hello` on that connection.
   * @returns whether the socket took it.
   * @internal
   */
  _sendNow(data: string): boolean {
    const ws = this._attempt?.ws
    if (this._state.peek() !== 'open' || ws?.readyState !== OPEN || this._queue.length > 0) return false
    try {
      ws.send(data)
      return true
    } catch {
      return false
    }
  }

  /**
   * Sends a message. Before the session is open (and while it reconnects)
   * the message is queued and sent, in order, on open.
   *
   * @param data - Text, or binary data as a Blob, ArrayBuffer or view (e.g. Uint8Array).
   * @returns Resolves once the data was handed to the WebSocket (not when the peer got it);
   *   rejects with {@link SendError}: `SESSION_CLOSED` after the session closed
   *   (by either side), `QUEUE_FULL` when `maxQueue` sends already wait, `SEND_FAILED`, `BAD_DATA`.
   */
  send(data: SendData): Promise<void> {
    if (this._ending) return Promise.reject(this._closedError())
    if (!isSendable(data)) {
      return Promise.reject(
        new SendError('BAD_DATA', 'send() takes a string, Blob, ArrayBuffer or ArrayBufferView'),
      )
    }
    const ws = this._attempt?.ws
    const open = this._state.peek() === 'open'
    // Sends made while the queue is being flushed on open go behind it, so the order holds.
    if (open && ws?.readyState === OPEN && this._queue.length === 0) {
      try {
        ws.send(data)
        return Promise.resolve()
      } catch (cause) {
        return Promise.reject(new SendError('SEND_FAILED', 'The WebSocket refused the data', { cause }))
      }
    }
    // Open, but the socket is no longer: the peer started closing, and
    // without reconnect this session will not open again. (An open socket
    // with a non-empty queue is the flush on open: the send waits its turn.)
    if (open && ws?.readyState !== OPEN && !this._reconnect.enabled) {
      return Promise.reject(this._closedError())
    }
    if (this._queue.length >= this._options.maxQueue) {
      return Promise.reject(
        new SendError(
          'QUEUE_FULL',
          `${this._queue.length} sends already wait for the session to open (maxQueue); wait for session.opens or raise maxQueue`,
        ),
      )
    }
    return new Promise((resolve, reject) => {
      this._queue.push({ data, resolve, reject })
    })
  }

  /**
   * Closes the session for good: no reconnect, queued sends reject with
   * `SESSION_CLOSED`. Resolves when the socket has closed; `closes` fires for
   * it (unless the session was between connections). Calling it again returns the same promise.
   *
   * @param options - `code` (1000 or 3000–4999) and `reason` (≤ 123 bytes) sent to the peer.
   * @returns Resolves once closed; rejects with `ConnectionError` (`BAD_CLOSE`) for a bad code or reason.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const { code, reason } = options
    try {
      validateClose(code, reason)
    } catch (error) {
      return Promise.reject(error)
    }
    if (this._ending) return this._whenClosed
    this._ending = true
    this._endedBecause = 'the session was closed with close()'
    this._backoff.stop()
    this._rejectQueue()
    const attempt = this._attempt
    const ws = attempt?.ws
    if (attempt && ws) {
      this._state.value = 'closing'
      if (ws.readyState === CONNECTING || ws.readyState === OPEN) {
        try {
          // A reason needs a code on the wire; the browser uses 1000 then, and so do we for every WebSocket.
          const sent = code ?? (reason ? 1000 : undefined)
          if (sent === undefined) ws.close()
          else ws.close(sent, reason ?? '')
        } catch (cause) {
          this._errors.emit(errorEvent(cause))
          this._drop(attempt)
          this._finish(undefined)
        }
      }
      // Otherwise the socket is already closing: its close event finishes the session.
    } else {
      if (attempt) this._drop(attempt)
      this._finish(undefined)
    }
    return this._whenClosed
  }

  private _connect(): void {
    const url = this._urls[this._urlIndex] as string
    const attempt: Attempt = { ws: undefined, unlisten: () => {} }
    this._attempt = attempt
    let ws: WebSocketLike
    try {
      const { WebSocket, protocols, binaryType } = this._options
      ws = protocols.length > 0 ? new WebSocket(url, [...protocols]) : new WebSocket(url)
      ws.binaryType = binaryType
    } catch (cause) {
      // Reported like a connection that failed, a tick later so that whoever
      // called connect() has subscribed by then.
      queueMicrotask(() => {
        if (this._attempt !== attempt) return
        this._errors.emit(errorEvent(cause))
        this._connectionEnded(attempt, closeEvent(1006, ''))
      })
      this._url.value = url
      return
    }
    const current = (): boolean => this._attempt === attempt
    const onOpen = (event: Event): void => {
      if (current()) this._opened(ws, event)
    }
    const onMessage = (event: MessageEvent): void => {
      if (current()) this._hub.emit(event)
    }
    const onError = (event: Event): void => {
      // After close() the socket may report the aborted handshake: expected, not news.
      if (current() && !this._ending) this._errors.emit(event)
    }
    const onClose = (event: CloseEvent): void => {
      if (current()) this._connectionEnded(attempt, event)
    }
    ws.addEventListener('open', onOpen)
    ws.addEventListener('message', onMessage)
    ws.addEventListener('error', onError)
    ws.addEventListener('close', onClose)
    attempt.ws = ws
    attempt.unlisten = () => {
      ws.removeEventListener('open', onOpen)
      ws.removeEventListener('message', onMessage)
      ws.removeEventListener('error', onError)
      ws.removeEventListener('close', onClose)
    }
    // Last: an effect of this change may call close(), which must find the attempt complete.
    this._url.value = url
  }

  private _opened(ws: WebSocketLike, event: Event): void {
    // The timer starts before the state changes, so a close() from an effect of that change stops it.
    if (this._reconnect.enabled) this._backoff.opened()
    this._state.value = 'open'
    // A send made by an effect of the state change lands behind the queue (see send()).
    while (this._queue.length > 0 && ws.readyState === OPEN) {
      this._transmit(ws, this._queue.shift() as QueuedSend)
    }
    this._opens.emit(event)
  }

  private _transmit(ws: WebSocketLike, item: QueuedSend): void {
    try {
      ws.send(item.data)
      item.resolve()
    } catch (cause) {
      item.reject(new SendError('SEND_FAILED', 'The WebSocket refused the data', { cause }))
    }
  }

  private _connectionEnded(attempt: Attempt, event: CloseEvent): void {
    this._drop(attempt)
    this._backoff.ended()
    const { code, reason } = event
    const final = this._ending || !this._reconnect.enabled || FINAL_CLOSE_CODES.has(code)
    if (final) {
      if (!this._ending) {
        this._endedBecause = `the session closed (code ${code}${reason ? ` "${reason}"` : ''})`
      }
      this._finish(event)
      return
    }
    // Scheduled before the state changes, so a close() from an effect of that change cancels it.
    this._scheduleRetry()
    this._state.value = 'connecting'
    this._closes.emit(event)
  }

  private _drop(attempt: Attempt): void {
    attempt.unlisten()
    if (this._attempt === attempt) this._attempt = undefined
  }

  private _scheduleRetry(): void {
    this._urlIndex = (this._urlIndex + 1) % this._urls.length
    this._backoff.schedule(() => {
      if (!this._ending) this._connect()
    })
  }

  private _closedError(): SendError {
    return new SendError(
      'SESSION_CLOSED',
      `Cannot send: ${this._endedBecause}. Make a new session with socket.connect()`,
    )
  }

  private _rejectQueue(): void {
    const queued = this._queue
    this._queue = []
    for (const item of queued) item.reject(this._closedError())
  }

  private _finish(event: CloseEvent | undefined): void {
    if (this._ended) return
    this._ended = true
    this._ending = true
    this._backoff.stop()
    this._state.value = 'closed'
    this._rejectQueue()
    if (event) this._closes.emit(event)
    this._opens.end()
    this._closes.end()
    this._errors.end()
    this._hub.end()
    this._resolveClosed()
  }
}
