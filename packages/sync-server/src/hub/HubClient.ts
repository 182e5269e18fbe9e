import { CloseCodes, createServerWire, ProtocolError, parseFrame, type ServerWire } from '@lensync/protocol'
import type { UpgradeRequest } from '../UpgradeRequest.ts'
import { _ErrorWindow, _TokenBucket } from './limits.ts'
import { _Outbox } from './Outbox.ts'
import { _ClientSubscriptions, type _SubscriptionIndex } from './Subscriptions.ts'
import type { _ResolvedSyncOptions, _ResolvedTimers } from './syncOptions.ts'
import type { HubConnection } from './syncTypes.ts'

/**
 * @internal
 * A connection as a presence member: one stable object per connection, with
 * the client id of its `hello` (`anon:<connection id>` when presence was
 * used before any `hello`).
 */
export interface _PresenceMember {
  readonly client: string
  readonly conn: HubClient
}

/** Envelopes waiting before `receive()` asks its caller to slow down. */
const BACKLOG_HIGH_WATER = 1024

/** How long a policy close waits for the answers to the client's accepted writes (async storage). */
const CLOSE_AFTER_ANSWERS_MS = 2_000

/** @internal What the hub does with one incoming envelope; may finish later. */
export type _EnvelopeHandler = (client: HubClient, raw: unknown) => void | Promise<void>

/** @internal Told about every envelope as it arrives, before it waits its turn (to start reads early). */
export type _EnvelopeListener = (client: HubClient, raw: unknown) => void

/**
 * @internal
 * Where a connection is in its life: `open` (envelopes are handled),
 * `closing` (nothing more is handled; what is queued goes out at the next
 * flush, then the transport is closed with `code`), `gone` (the transport
 * reported the end: nothing is sent).
 */
export type _ConnectionState =
  | { readonly kind: 'open' }
  | {
      readonly kind: 'closing'
      readonly code: number
      readonly reason: string
      /** Whether the close waits (bounded by `timer`) until the client's accepted writes are answered. */
      waitForAnswers: boolean
      readonly timer: unknown
    }
  | { readonly kind: 'gone' }

/**
 * @internal
 * Where a connection is in its handshake: `anonymous` (no `authenticate`:
 * everything is handled, `hello` optional), `awaitingHello` and
 * `authenticating` (only `hello` is handled; `deadline` closes it with 4401),
 * `welcomed` (a `hello` was answered). The client id the `hello` gave is
 * kept beside it (`HubClient.clientId`), so the states without a deadline
 * or principal of their own are shared by every connection.
 */
export type _HandshakeState =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'awaitingHello'; readonly deadline: unknown }
  | { readonly kind: 'authenticating'; readonly deadline: unknown }
  | { readonly kind: 'welcomed'; readonly principal: unknown }

/** @internal What the hub wires into each connection it makes. */
export interface _HubClientWiring {
  readonly options: _ResolvedSyncOptions
  /** The hub's fan-out index, kept in step by the connection's subscriptions. */
  readonly subscriptions: _SubscriptionIndex<HubClient>
  /** Handles one envelope in its turn. */
  readonly handle: _EnvelopeHandler
  /** Sees every envelope as it arrives. */
  readonly arrived: _EnvelopeListener
  /** The connection started closing, or may close now: flush soon. */
  readonly closing: (client: HubClient) => void
  /** The connection is gone; `clean` when it ended with a close frame (see {@link HubClient.disconnect}). */
  readonly gone: (client: HubClient, clean: boolean) => void
  /**
   * With `authenticate`: binds a client id to a principal.
   * @returns `false` when it belongs to another principal.
   */
  readonly bind: (clientId: string, principal: unknown) => boolean
}

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
  readonly request: UpgradeRequest

  /** @internal Its subscriptions. */
  readonly subscriptions: _ClientSubscriptions<HubClient>
  /** @internal Its wire format: protocol version 1 until its `hello` agrees on another. */
  wire: ServerWire = V1_WIRE

  private _state: _ConnectionState = OPEN
  private _handshake: _HandshakeState
  /** The client id its `hello` gave; `undefined` before one. */
  private _clientId: string | undefined = undefined
  private readonly _wiring: _HubClientWiring
  /** Envelopes waiting for their turn (the shared empty list while none wait). */
  private _backlog: unknown[] = NO_BACKLOG
  // Made at their first use: an idle connection holds none of them.
  private _outbox: _Outbox | undefined = undefined
  private _bucket: _TokenBucket | undefined = undefined
  private _errors: _ErrorWindow | undefined = undefined
  private _busy = false
  /**
   * @internal Whether the hub's delivery holds it in its list of connections
   * to flush this tick (a flag instead of a `Set`: a fan-out marks every
   * subscriber, and a set hashed each one and regrew every tick).
   */
  _flushQueued = false
  private _drained: (() => void) | undefined
  private _member: _PresenceMember | undefined

  /** @internal Made by `hub.connect()`. */
  constructor(connection: HubConnection, request: UpgradeRequest, wiring: _HubClientWiring) {
    const { options } = wiring
    this.connection = connection
    this.request = request
    this._wiring = wiring
    this.subscriptions = new _ClientSubscriptions<HubClient>(this, wiring.subscriptions)
    this._handshake = options.authenticate
      ? {
          kind: 'awaitingHello',
          deadline: options.timers.setTimeout(() => {
            if (!this.authenticated) this.close(CloseCodes.UNAUTHENTICATED, 'No hello in time')
          }, options.helloTimeout),
        }
      : ANONYMOUS
  }

  /** @internal The hub's options. */
  get options(): _ResolvedSyncOptions {
    return this._wiring.options
  }

  /** @internal What the hub queued for it (made at the first use). */
  get outbox(): _Outbox {
    this._outbox ??= new _Outbox()
    return this._outbox
  }

  /**
   * @internal
   * Its rate limit; `undefined` without one. Made at the first use, full:
   * as a bucket made at connect time would be by then.
   */
  get bucket(): _TokenBucket | undefined {
    const { rateLimit, now } = this._wiring.options
    if (this._bucket === undefined && rateLimit) this._bucket = new _TokenBucket(rateLimit, now)
    return this._bucket
  }

  /** @internal Its unusable or refused envelopes (made at the first one). */
  get errors(): _ErrorWindow {
    const { maxErrors, now } = this._wiring.options
    this._errors ??= new _ErrorWindow(maxErrors, now)
    return this._errors
  }

  /** What `authenticate` returned; `undefined` without authentication. */
  get principal(): unknown {
    return this._handshake.kind === 'welcomed' ? this._handshake.principal : undefined
  }

  /** Whether envelopes other than `hello` are accepted. */
  get authenticated(): boolean {
    return this._handshake.kind === 'anonymous' || this._handshake.kind === 'welcomed'
  }

  /** Set once the connection is closing or gone: nothing more is handled or sent. */
  get closed(): boolean {
    return this._state.kind !== 'open'
  }

  /**
   * @internal
   * The client id its `hello` gave (the `client` of its writes' origin);
   * `undefined` before a `hello` (optional without `authenticate`).
   */
  get clientId(): string | undefined {
    return this._clientId
  }

  /** @internal This connection as a presence member (made at its first use). */
  get presenceMember(): _PresenceMember {
    this._member ??= { client: this.clientId ?? `anon:${this.connection.id}`, conn: this }
    return this._member
  }

  /** @internal The presence member, when the connection used presence. */
  get presenceMemberIfAny(): _PresenceMember | undefined {
    return this._member
  }

  /** @internal Where the connection is in its life. */
  get state(): _ConnectionState {
    return this._state
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
    if (this._backlog === NO_BACKLOG) this._backlog = []
    if (envelopes instanceof ProtocolError) this._backlog.push(envelopes)
    else
      for (const envelope of envelopes) {
        this._backlog.push(envelope)
        this._wiring.arrived(this, envelope)
      }
    return this._pump()
  }

  /**
   * Handles a binary frame: the protocol is text only, so it is answered with
   * `error BAD_FRAME` (and counts towards the error limit).
   */
  receiveBinary(): Promise<void> | undefined {
    if (this.closed) return undefined
    if (this._backlog === NO_BACKLOG) this._backlog = []
    this._backlog.push(new ProtocolError('BAD_FRAME', 'binary frames are not part of the protocol'))
    return this._pump()
  }

  /**
   * Tells the hub the connection is gone: its subscriptions end, queued
   * envelopes are dropped. Idempotent.
   *
   * @param how - `clean: false` when the connection was lost without a close
   *   frame (1006, a ping timeout): its presence places are kept for
   *   `presenceTimeout`, so a reconnect re-joins without a leave. Default clean.
   */
  disconnect(how: { readonly clean?: boolean } = {}): void {
    if (this._state.kind === 'gone') return
    this._stopTimers()
    this._state = GONE
    this._backlog = DISCONNECTED
    this._outbox?.clear()
    this.subscriptions.clear()
    this._drained?.()
    this._wiring.gone(this, how.clean ?? true)
  }

  /**
   * @internal
   * Notes a `hello`.
   *
   * @param client - The client id it gave.
   * @returns `false` when one was already received (a second is a bad frame).
   */
  helloReceived(client: string): boolean {
    const handshake = this._handshake
    if (handshake.kind === 'anonymous') this._handshake = WELCOMED_ANONYMOUS
    else if (handshake.kind === 'awaitingHello')
      this._handshake = { kind: 'authenticating', deadline: handshake.deadline }
    else return false
    this._clientId = client
    return true
  }

  /**
   * @internal
   * `authenticate` let the connection in as `principal`. When its client id
   * belongs to another principal, it is closed with 4403 instead (nothing
   * more is sent, the `welcome` neither).
   */
  accept(principal: unknown): void {
    const handshake = this._handshake
    if (handshake.kind !== 'authenticating') return
    this._timers.clearTimeout(handshake.deadline)
    this._handshake = { kind: 'welcomed', principal }
    if (!this._wiring.bind(this._clientId as string, principal))
      this.close(CloseCodes.FORBIDDEN, 'This client id belongs to another user')
  }

  /**
   * @internal
   * A fresh credential (`auth`) was accepted: `principal` replaces the old
   * one — unless the client id belongs to another principal (4403), as in
   * {@link HubClient.accept}.
   */
  renew(principal: unknown): void {
    const handshake = this._handshake
    if (handshake.kind !== 'welcomed') return
    this._handshake = { kind: 'welcomed', principal }
    if (!this._wiring.bind(this._clientId as string, principal))
      this.close(CloseCodes.FORBIDDEN, 'This client id belongs to another user')
  }

  /**
   * @internal
   * Stops handling the client's envelopes at once; at the next flush (after
   * the commit of its staged writes) what is queued is sent and the
   * transport closed. Nothing happens when it is already closing or gone.
   *
   * @param waitForAnswers - Wait until the writes it already got accepted are
   *   answered (with storage that commits asynchronously that can take a
   *   moment), at most `CLOSE_AFTER_ANSWERS_MS`: a client closed for its
   *   behaviour still learns which of its writes are stored.
   */
  close(code: number, reason: string, waitForAnswers = false): void {
    if (this._state.kind !== 'open') return
    this._closing(code, reason, waitForAnswers)
  }

  /**
   * @internal
   * A slow consumer: drops what is queued and closes with `code` at once,
   * replacing a close in progress (and its wait). Nothing happens when gone.
   */
  closeNow(code: number, reason: string): void {
    const state = this._state
    if (state.kind === 'gone') return
    if (state.kind === 'closing') this._timers.clearTimeout(state.timer)
    this._outbox?.clear()
    this._closing(code, reason, false)
  }

  /**
   * @internal
   * Closes the transport with the closing state's code (the hub's flush
   * calls it once the answers went out). May throw (the transport's error).
   */
  closeTransport(): void {
    const state = this._state
    if (state.kind !== 'closing') return
    this._timers.clearTimeout(state.timer)
    this.connection.close(state.code, state.reason)
  }

  /** The hub's timer functions. */
  private get _timers(): _ResolvedTimers {
    return this._wiring.options.timers
  }

  private _closing(code: number, reason: string, waitForAnswers: boolean): void {
    const state = { kind: 'closing' as const, code, reason, waitForAnswers, timer: undefined as unknown }
    if (waitForAnswers)
      state.timer = this._timers.setTimeout(() => {
        state.waitForAnswers = false
        this._wiring.closing(this)
      }, CLOSE_AFTER_ANSWERS_MS)
    this._state = state
    this._wiring.closing(this)
  }

  private _stopTimers(): void {
    const handshake = this._handshake
    if (handshake.kind === 'awaitingHello' || handshake.kind === 'authenticating')
      this._timers.clearTimeout(handshake.deadline)
    if (this._state.kind === 'closing') this._timers.clearTimeout(this._state.timer)
  }

  private _pump(): Promise<void> | undefined {
    while (!this._busy && this._backlog.length > 0 && !this.closed) {
      const raw = this._backlog.shift()
      let result: void | Promise<void>
      try {
        result = this._wiring.handle(this, raw)
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
    if (this._backlog.length === 0 && this._backlog !== DISCONNECTED) this._backlog = NO_BACKLOG
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
    this._wiring.options.logger.error(
      `lensync hub: handling an envelope of connection ${this.connection.id} failed`,
      error,
    )
  }
}

const V1_WIRE = createServerWire(1)
const OPEN: _ConnectionState = Object.freeze({ kind: 'open' })
const GONE: _ConnectionState = Object.freeze({ kind: 'gone' })
const ANONYMOUS: _HandshakeState = Object.freeze({ kind: 'anonymous' })
/** Welcomed without `authenticate` (no principal): the same state for every connection. */
const WELCOMED_ANONYMOUS: _HandshakeState = Object.freeze({ kind: 'welcomed', principal: undefined })
const DISCONNECTED: unknown[] = []
/** The backlog of every connection with nothing waiting (never written to). */
const NO_BACKLOG: unknown[] = Object.freeze([]) as unknown as unknown[]
