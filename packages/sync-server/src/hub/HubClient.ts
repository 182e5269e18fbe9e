import type { IncomingMessage } from 'node:http'
import { ProtocolError, parseFrame } from '@lensync/protocol'
import { _ErrorWindow, _TokenBucket } from './limits.ts'
import { _Outbox } from './Outbox.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'
import type { HubConnection } from './syncTypes.ts'

/** Envelopes waiting before `receive()` asks its caller to slow down. */
const BACKLOG_HIGH_WATER = 1024

/** @internal What the hub does with one incoming envelope; may finish later. */
export type _EnvelopeHandler = (client: HubClient, raw: unknown) => void | Promise<void>

/** @internal Told about every envelope as it arrives, before it waits its turn (to start reads early). */
export type _EnvelopeListener = (client: HubClient, raw: unknown) => void

/**
 * One connection to a {@link SyncHub}, made by `hub.connect()`. Feed it the
 * connection's frames with {@link HubClient.receive}; call
 * {@link HubClient.disconnect} when the connection is gone.
 *
 * Envelopes of one connection are handled strictly in order: while one
 * waits (an async `authorize`, schema or storage), the next ones queue.
 */
export class HubClient {
  /** The transport. */
  readonly connection: HubConnection
  /** The upgrade request (headers, cookies), for `authenticate`. */
  readonly request: IncomingMessage
  /** What `authenticate` returned; `undefined` without authentication. */
  principal: unknown = undefined
  /** Whether envelopes other than `hello` are accepted. */
  authenticated: boolean
  /** Set once the connection is closing or gone: nothing more is handled or sent. */
  closed = false

  /** @internal Set by `disconnect()`. */
  _gone = false
  /** @internal */
  readonly _outbox = new _Outbox()
  /** @internal Subscription keys, for cleanup and the per-connection limit. */
  readonly _subscriptions = new Set<string>()
  /** @internal */
  readonly _bucket: _TokenBucket | undefined
  /** @internal */
  readonly _errors: _ErrorWindow
  /** @internal Whether a `hello` came (one per connection). */
  _helloSeen = false
  /** @internal Closes a connection that does not authenticate in time. */
  _helloTimer: ReturnType<typeof setTimeout> | undefined

  private readonly _handle: _EnvelopeHandler
  private readonly _arrived: _EnvelopeListener | undefined
  private readonly _logger: _ResolvedSyncOptions['logger']
  private readonly _onDisconnect: (client: HubClient) => void
  private _backlog: unknown[] = []
  private _busy = false
  private _drained: (() => void) | undefined

  /** @internal Made by `hub.connect()`. */
  constructor(
    connection: HubConnection,
    request: IncomingMessage,
    options: _ResolvedSyncOptions,
    handle: _EnvelopeHandler,
    onDisconnect: (client: HubClient) => void,
    arrived?: _EnvelopeListener,
  ) {
    this.connection = connection
    this.request = request
    this.authenticated = options.authenticate === undefined
    this._bucket = options.rateLimit ? new _TokenBucket(options.rateLimit, options.now) : undefined
    this._errors = new _ErrorWindow(options.maxErrors, options.now)
    this._handle = handle
    this._arrived = arrived
    this._logger = options.logger
    this._onDisconnect = onDisconnect
  }

  /**
   * Handles a text frame (one envelope or a JSON array of envelopes).
   *
   * @param text - The frame.
   * @returns `undefined`, or a promise when envelopes pile up: wait for it
   *   before passing the next frame, so a flooding client is slowed down by
   *   the socket's backpressure instead of filling memory.
   */
  receive(text: string): Promise<void> | undefined {
    if (this.closed) return undefined
    const envelopes = parseFrame(text)
    if (envelopes instanceof ProtocolError) this._backlog.push(envelopes)
    else
      for (const envelope of envelopes) {
        this._backlog.push(envelope)
        this._arrived?.(this, envelope)
      }
    return this._pump()
  }

  /**
   * Handles a binary frame: the protocol is text only, so it is answered with
   * `error BAD_FRAME` (and counts towards the error limit).
   */
  receiveBinary(): Promise<void> | undefined {
    if (this.closed) return undefined
    this._backlog.push({
      problem: true,
      code: 'BAD_FRAME',
      message: 'binary frames are not part of the protocol',
    })
    return this._pump()
  }

  /** Tells the hub the connection is gone: its subscriptions end, queued envelopes are dropped. Idempotent. */
  disconnect(): void {
    if (this._gone) return
    this._gone = true
    this.closed = true
    this._backlog = DISCONNECTED
    this._outbox.clear()
    this._drained?.()
    this._onDisconnect(this)
  }

  private _pump(): Promise<void> | undefined {
    while (!this._busy && this._backlog.length > 0 && !this.closed) {
      const raw = this._backlog.shift()
      let result: void | Promise<void>
      try {
        result = this._handle(this, raw)
      } catch (error) {
        this._crash(error)
        continue
      }
      if (result) {
        this._busy = true
        result
          .catch(error => this._crash(error))
          .finally(() => {
            this._busy = false
            this._pump()
          })
      }
    }
    if (this.closed || this._backlog.length <= BACKLOG_HIGH_WATER) {
      const drained = this._drained
      this._drained = undefined
      drained?.()
      return undefined
    }
    return new Promise(resolve => {
      this._drained = resolve
    })
  }

  private _crash(error: unknown): void {
    // A bug in the hub must not take the connection's queue down with it.
    this._logger.error(`lensync hub: handling an envelope of connection ${this.connection.id} failed`, error)
  }
}

const DISCONNECTED: unknown[] = []
