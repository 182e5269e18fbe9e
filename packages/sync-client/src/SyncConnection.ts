import {
  type ClientMessage,
  type ClientWire,
  CloseCodes,
  createClientWire,
  type OpId,
  type ParsedServerMessage,
  type ServerMessage,
} from '@lensync/protocol'
import { batch, type ReadonlySignal, type Signal, signal } from '@lensync/store'
import { CacheLink } from './cache/CacheLink.ts'
import type { SyncCache } from './cache/types.ts'
import type { OpSequence } from './OpSequence.ts'
import type { _SocketMonitor } from './observation.ts'
import { resolveReconnect } from './options.ts'
import { _ConnectionPresence } from './presence/ConnectionPresence.ts'
import type { PresenceServerMessage } from './presence/types.ts'
import { Session as SessionClass } from './Session.ts'
import { SyncError } from './SyncError.ts'
import type { Session, Socket, SocketOptions, Timers, Token } from './types.ts'

/**
 * The connection state as entity syncs see it:
 * `connecting` before the first open (and before any failure), `ready` after
 * `hello` went out on an open connection, `offline` while disconnected,
 * `refused` after a 4401/4403 close (no reconnect).
 *
 * @internal
 */
export type ConnectionState = 'connecting' | 'ready' | 'offline' | 'refused'

/**
 * One sync's view of the shared connection: a subscription target and a
 * handler for the messages routed to it.
 *
 * @internal
 */
export interface SyncChannel {
  /** The resource name. */
  readonly resource: string
  /** The entity id, or `undefined` for a whole collection. */
  readonly entityId: string | undefined
  /** Called when the connection is ready (after every (re)open): subscribe and resend pending writes. */
  connectionReady(): void
  /** Called when the connection dropped or was refused. */
  connectionLost(refusal: SyncError | undefined): void
  /** A message routed to this channel. */
  handle(message: ServerMessage): void
  /** A problem that concerns every channel (a bad frame, a server `error`). */
  report(error: SyncError): void
}

/**
 * A write as it goes on the wire.
 *
 * @internal
 */
export type WriteMessage = Extract<ClientMessage, { t: 'put' | 'patch' | 'del' }>

function isSession(target: Socket | Session): target is Session {
  return typeof (target as Session).send === 'function' && typeof (target as Socket).connect !== 'function'
}

/**
 * Multiplexes every entity sync made over one `Socket` (or one `Session`)
 * onto a single WebSocket: sends `hello` and the subscriptions on every
 * (re)open, batches what is written in one tick into one frame, routes
 * incoming messages to their syncs, and tracks op ids.
 *
 * @internal
 */
export class SyncConnection {
  /** The connection state (see {@link ConnectionState}). */
  readonly state: ReadonlySignal<ConnectionState>
  /** The client id sent in `hello`: writes made under it go without a `client` field. */
  readonly clientId: string
  /** For retries of refused writes (the socket's, so tests can fake them). */
  readonly timers: Timers
  /** The socket's cache, if it has one. */
  readonly cache: SyncCache | undefined
  /** Tab coordination and the sending of outboxes no sync owns (with a cache). */
  readonly cacheLink: CacheLink | undefined
  /** Counts the text frames received; the messages of one frame are routed under one number. */
  frameNumber = 0
  /** The length (characters) of the text frame whose messages are being routed. */
  frameLength = 0
  /** The presence rooms riding this connection; a room in use keeps it open like a sync. */
  readonly presence: _ConnectionPresence

  private readonly _state: Signal<ConnectionState>
  /**
   * The syncs, by resource, then by entity id (`undefined`: a whole
   * collection). Nested rather than keyed by one joined string: routing a
   * message then builds no key.
   */
  private readonly channels = new Map<string, Map<string | undefined, Set<SyncChannel>>>()
  /** Writes in flight, by op: whose they are, and the message, so other syncs on this connection learn of them when acknowledged. */
  private readonly sent = new Map<OpId, { readonly owner: SyncChannel; readonly write: WriteMessage }>()
  private outbox: ClientMessage[] = []
  private flushScheduled = false
  private readonly opSequence: OpSequence
  private readonly token: Token | undefined
  private readonly disposers: Array<() => void> = []
  private generation = 0
  private closed = false
  /** The protocol version offered in `hello`: the socket's (default the latest), until a server closes with 1002 before its `welcome` (then an older one). */
  private version: number
  /** The connection's wire format (a fresh one per connection: handles and op sequence are per connection). */
  private wire: ClientWire
  private welcomed = false

  /**
   * @param session - The session to run on.
   * @param options - The socket's options: `token` for `hello`, `clientId`
   *   and its op sequence, `timers`.
   * @param owned - Close the session when the last sync detaches.
   * @param onIdle - Called when the last sync detached.
   * @param openSession - Opens another session to the same server (a cache's outbox senders use it).
   * @param monitor - The socket's observation point (frames, connection state), if any.
   */
  constructor(
    private readonly session: Session,
    options: SocketOptions,
    private readonly owned: boolean,
    private readonly onIdle: () => void,
    openSession?: () => Session,
    private readonly monitor?: _SocketMonitor,
  ) {
    monitor?.state('connecting', session.url.peek())
    this.token = options.token
    this.version = options.protocolVersion
    this.wire = createClientWire(options.protocolVersion)
    this.timers = options.timers
    this.clientId = options.clientId
    this.opSequence = options._ops
    this.cache = options.cache
    this.cacheLink =
      options.cache && openSession
        ? new CacheLink({
            cache: options.cache,
            clientId: options.clientId,
            firstOp: options._ops.first,
            nextOp: () => options._ops.next(),
            openSession,
            token: options.token,
            timers: options.timers,
            report: error => this.broadcastError(error),
          })
        : undefined
    this._state = signal<ConnectionState>('connecting')
    this.state = this._state
    this.presence = new _ConnectionPresence({
      clientId: this.clientId,
      isReady: () => this._state.peek() === 'ready',
      write: message => this.write(message),
      idle: () => {
        if (this.channels.size === 0) this.dispose()
      },
    })
    this.disposers.push(
      session.messages.subscribe(event => this.receive(event.data)),
      session.opens.subscribe(() => void this.opened()),
      session.closes.subscribe(event => this.lost(event.code, event.reason)),
    )
    if (session.isOpen.peek()) void this.opened()
  }

  /** Adds a sync; it is subscribed at once when the connection is ready. */
  attach(channel: SyncChannel): void {
    let byId = this.channels.get(channel.resource)
    if (!byId) {
      byId = new Map()
      this.channels.set(channel.resource, byId)
    }
    let set = byId.get(channel.entityId)
    if (!set) {
      set = new Set()
      byId.set(channel.entityId, set)
    }
    set.add(channel)
    if (this._state.peek() === 'ready') channel.connectionReady()
  }

  /**
   * Removes a sync; the server subscription ends when no other sync shares it.
   * @param entityId - The id the channel was attached with (it may have changed since).
   * @param keepAlive - The caller re-attaches at once: keep the connection open, and keep
   *   routing the answers to its writes in flight (they may be of the old id).
   */
  detach(channel: SyncChannel, entityId = channel.entityId, keepAlive = false): void {
    const byId = this.channels.get(channel.resource)
    const set = byId?.get(entityId)
    if (!byId || !set?.delete(channel)) return
    if (!keepAlive) for (const [op, { owner }] of this.sent) if (owner === channel) this.sent.delete(op)
    if (set.size === 0) {
      byId.delete(entityId)
      if (byId.size === 0) this.channels.delete(channel.resource)
      if (this._state.peek() === 'ready') {
        this.write(
          entityId === undefined
            ? { t: 'unsub', r: channel.resource }
            : { t: 'unsub', r: channel.resource, id: entityId },
        )
      }
    }
    if (this.channels.size === 0 && !keepAlive && !this.presence.inUse) this.dispose()
  }

  /** Whether `op` of this connection's client id was made by this page (not an earlier one). */
  ownsOp(op: number): boolean {
    return op >= this.opSequence.first
  }

  /** A fresh op id of this connection's client id. */
  nextOp(): number {
    return this.opSequence.next()
  }

  /**
   * Queues a write of `channel`; its `ack`/`reject` is routed back to it, and
   * once acknowledged the other syncs on this connection hear of it.
   * Dropped when not ready.
   */
  send(channel: SyncChannel, message: WriteMessage): void {
    if (this._state.peek() !== 'ready') return
    this.sent.set(message.op, { owner: channel, write: message })
    this.write(message)
  }

  /** Queues a message; everything written in one tick leaves as one frame. Dropped when not ready. */
  write(message: ClientMessage): void {
    if (this._state.peek() !== 'ready' && message.t !== 'hello') return
    this.outbox.push(message)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      queueMicrotask(this.flushNow)
    }
  }

  // One function per connection, not a closure per flushed tick.
  private readonly flushNow = (): void => this.flush()

  private flush(): void {
    this.flushScheduled = false
    const batch = this.outbox
    if (batch.length === 0) return
    this.outbox = []
    // Sent now or not at all. When the connection just dropped (before the
    // session's `closes` fires), `send()` would hold the frame and send it
    // first on the next connection, before `hello` — under no client id, so
    // the server could not recognise it when it is resent. Nothing is lost:
    // every sync sends what is unacknowledged again after the next `hello`.
    this.wire.send(batch, text => {
      const sent = this.session._sendNow(text)
      if (sent && this.monitor?.observed) this.monitor.sent(text, batch)
      return sent
    })
  }

  private async opened(): Promise<void> {
    const generation = ++this.generation
    let token: string | undefined
    try {
      token = typeof this.token === 'function' ? await this.token() : this.token
    } catch (cause) {
      this.broadcastError(new SyncError('UNAUTHENTICATED', 'Reading the token failed', { cause }))
      return
    }
    if (generation !== this.generation || this.closed || !this.session.isOpen.peek()) return
    this.wire = createClientWire(this.version)
    this.welcomed = false
    const hello: ClientMessage =
      token === undefined
        ? { t: 'hello', v: this.version, client: this.clientId }
        : { t: 'hello', v: this.version, client: this.clientId, token }
    this.write(hello)
    this.sent.clear()
    this._state.value = 'ready'
    this.monitor?.state('ready', this.session.url.peek())
    for (const channel of this.allChannels()) channel.connectionReady()
    this.presence.opened()
  }

  // The server asks for a fresh credential before the session's expires:
  // read the token again and answer on this connection, which goes on as it
  // is (subscriptions, writes in flight, the outbox). No token, a failing
  // token() or a refused one: the server closes with 4401 at the expiry, and
  // lost() reports UNAUTHENTICATED with every sync's state and edits kept.
  private async reauthenticate(): Promise<void> {
    const generation = this.generation
    let token: string | undefined
    try {
      token = typeof this.token === 'function' ? await this.token() : this.token
    } catch (cause) {
      this.broadcastError(new SyncError('UNAUTHENTICATED', 'Reading the token for reauth failed', { cause }))
      return
    }
    if (generation !== this.generation || this.closed || this._state.peek() !== 'ready') return
    if (typeof token === 'string' && token !== '') this.write({ t: 'auth', token })
  }

  private lost(code: number, reason: string): void {
    // A server that speaks only older versions refuses the hello: offer the
    // newest it names on the next connection, else version 1.
    if (code === CloseCodes.PROTOCOL_ERROR && !this.welcomed && this.version > 1)
      this.version = olderVersion(reason, this.version)
    this.generation++
    this.outbox = []
    this.sent.clear()
    const refused =
      code === CloseCodes.UNAUTHENTICATED
        ? new SyncError('UNAUTHENTICATED', 'The server refused the credentials (close 4401)')
        : code === CloseCodes.FORBIDDEN
          ? new SyncError('CONNECTION_FORBIDDEN', 'The server refused the connection (close 4403)')
          : undefined
    this._state.value = refused ? 'refused' : 'offline'
    this.monitor?.state(refused ? 'refused' : 'offline', this.session.url.peek())
    for (const channel of this.allChannels()) channel.connectionLost(refused)
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') {
      if (this.monitor?.observed) this.monitor.received(data, undefined)
      this.broadcastError(
        new SyncError('BAD_MESSAGE', 'Received a binary frame; the sync protocol uses text frames'),
      )
      return
    }
    this.frameNumber++
    this.frameLength = data.length
    // Either protocol version, read into version 1 messages.
    const messages = this.wire.parse(data)
    if (this.monitor?.observed) this.monitor.received(data, Array.isArray(messages) ? messages : undefined)
    if (!Array.isArray(messages)) {
      this.broadcastError(
        new SyncError('BAD_MESSAGE', 'Received a frame that is not JSON', { cause: messages }),
      )
      return
    }
    // One frame is applied as one change: status and pending never show a
    // half-applied state (e.g. subscribed but the offer not yet counted).
    batch(() => {
      for (const message of messages) this.route(message)
    })
  }

  private route(parsed: ParsedServerMessage): void {
    // Nothing from the server is used before it passed the protocol's checks:
    // a wrong type, a forbidden key or a too deep value is reported and skipped.
    if (!parsed.ok) {
      this.broadcastError(
        new SyncError('BAD_MESSAGE', `Received a malformed message, skipped (${parsed.error.message})`, {
          ...(parsed.error.r === undefined ? {} : { resource: parsed.error.r }),
          ...(parsed.error.id === undefined ? {} : { id: parsed.error.id }),
          cause: parsed.error,
        }),
      )
      return
    }
    const m = parsed.message
    try {
      switch (m.t) {
        case 'welcome':
          this.welcomed = true
          this.wire.agreed(m.v)
          return
        case 'psnap':
        case 'ppeer':
        case 'pgone':
          this.presence.deliver(m)
          return
        case 'reauth':
          void this.reauthenticate()
          return
        case 'snap':
          if ('id' in m) {
            // An entity snapshot also answers a create-only put made by a collection sync.
            this.deliver(m.r, m.id, m)
            this.deliver(m.r, undefined, m)
          } else this.deliver(m.r, undefined, m)
          return
        case 'change':
        case 'gone':
          this.deliver(m.r, m.id, m)
          this.deliver(m.r, undefined, m)
          return
        case 'ack':
        case 'reject': {
          const sent = m.op === undefined ? undefined : this.sent.get(m.op)
          if (sent) {
            this.sent.delete(m.op as OpId)
            sent.owner.handle(m)
            if (m.t === 'ack' && m.applied !== false) this.echoToSiblings(sent.owner, sent.write, m.rev)
          } else if (m.t === 'reject' && m.op === undefined && typeof m.room === 'string') {
            this.presence.deliver(m as PresenceServerMessage)
          } else if (m.t === 'reject' && typeof m.r === 'string') {
            this.deliver(m.r, m.id, m)
          }
          return
        }
        case 'error':
          this.broadcastError(new SyncError(m.code, m.message))
          return
      }
    } catch (cause) {
      // One bad message must never stop the sync: report it and go on.
      this.broadcastError(new SyncError('BAD_MESSAGE', 'A message could not be applied', { cause }))
    }
  }

  // The server never echoes a write to the connection that sent it, so the
  // other syncs sharing this connection hear of it here, as a `change`.
  private echoToSiblings(owner: SyncChannel, write: WriteMessage, rev: number): void {
    const { r, id } = write
    // Usually the owner is alone: no message to build.
    if (!this.hasOther(r, id, owner) && !this.hasOther(r, undefined, owner)) return
    const message: ServerMessage =
      write.t === 'del'
        ? { t: 'gone', r, id, rev }
        : write.t === 'put'
          ? { t: 'change', r, id, rev, value: write.value }
          : write.unset
            ? { t: 'change', r, id, rev, set: write.set, unset: write.unset }
            : { t: 'change', r, id, rev, set: write.set }
    for (const entityId of [id, undefined]) {
      const set = this.channels.get(r)?.get(entityId)
      if (set) for (const channel of set) if (channel !== owner) channel.handle(message)
    }
  }

  private hasOther(r: string, id: string | undefined, owner: SyncChannel): boolean {
    const set = this.channels.get(r)?.get(id)
    if (set) for (const channel of set) if (channel !== owner) return true
    return false
  }

  private deliver(r: string, id: string | undefined, message: ServerMessage): void {
    const set = this.channels.get(r)?.get(id)
    if (set) for (const channel of set) channel.handle(message)
  }

  private broadcastError(error: SyncError): void {
    for (const channel of this.allChannels()) channel.report(error)
  }

  private *allChannels(): Iterable<SyncChannel> {
    for (const byId of this.channels.values()) for (const set of byId.values()) yield* set
  }

  private dispose(): void {
    if (this.closed) return
    this.closed = true
    for (const dispose of this.disposers.splice(0)) dispose()
    this.cacheLink?.stop()
    this.monitor?.state('idle', undefined)
    this.onIdle()
    if (this.owned) void this.session.close({ code: 1000, reason: 'sync stopped' }).catch(() => {})
  }
}

const connections = new WeakMap<object, SyncConnection>()

/** A reconnecting session to the server of a session the caller manages. */
function siblingSession(session: Session): Session {
  const options = session._options
  return new SessionClass([session.url.peek()], {
    ...options,
    reconnect: resolveReconnect(true, options.reconnect),
  })
}

/**
 * The shared sync connection of a socket (one WebSocket for every sync over
 * it, reconnecting) or of a session the caller manages.
 *
 * @internal
 */
export function connectionFor(target: Socket | Session): SyncConnection {
  const existing = connections.get(target)
  if (existing) return existing
  const forget = () => connections.delete(target)
  const connection = isSession(target)
    ? new SyncConnection(target, target._options, false, forget, () => siblingSession(target))
    : new SyncConnection(
        target.connect({ reconnect: true }),
        target.options,
        true,
        forget,
        () => target.connect({ reconnect: true }),
        target._monitor,
      )
  connections.set(target, connection)
  return connection
}

/**
 * The version to offer after a server refused `offered` with 1002: the
 * highest it names in its close reason (a lensync server says "this server
 * speaks 1 to N"), when that is older than `offered`; else version 1, which
 * every server speaks.
 */
function olderVersion(reason: string, offered: number): number {
  const named = /speaks 1 to (\d+)/.exec(reason)
  const highest = named ? Number(named[1]) : 1
  return highest >= 1 && highest < offered ? highest : 1
}
