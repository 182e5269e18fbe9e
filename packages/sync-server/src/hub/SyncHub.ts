import type { IncomingMessage } from 'node:http'
import {
  type ClientMessage,
  CloseCodes,
  type EncodedSnapItem,
  type ErrorCode,
  encodeAck,
  encodeCollectionSnap,
  encodeEntitySnap,
  encodeError,
  encodeReject,
  encodeWelcome,
  type HelloMessage,
  type Issue,
  type OpId,
  PROTOCOL_VERSION,
  ProtocolError,
  parseClientMessage,
  type RejectCode,
  type SubMessage,
} from '@lensync/protocol'
import { CloseReason } from '../CloseReason.ts'
import type { ListCursor, Storage } from '../storage/Storage.ts'
import { type _EntityEntry, _EntityTable, type _WriteTask } from './EntityTable.ts'
import { _EntityWriter, isThenable } from './EntityWriter.ts'
import { HubClient } from './HubClient.ts'
import { type _Slot, SharedFrame } from './Outbox.ts'
import { _Subscriptions } from './Subscriptions.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'
import type { AuthorizeRequest, HubConnection } from './syncTypes.ts'

/** A snapshot page stops growing past this many bytes of values, whatever `snapshotPageSize` says. */
const SNAPSHOT_PAGE_BYTES = 1 << 20

/** Snapshot bytes that cost one rate-limit token (on top of the `sub`'s own). */
const SNAPSHOT_BYTES_PER_TOKEN = 1 << 16

/** How long `flush()` waits for this node's committed writes to come back through a storage feed. */
const FEED_DRAIN_MS = 5_000

/** How long a policy close waits for the answers to the client's accepted writes (async storage). */
const CLOSE_AFTER_ANSWERS_MS = 2_000

/** @internal A connection the hub is closing, at the next flush. */
interface _Closing {
  readonly code: number
  readonly reason: string
  /** Whether the close waits (bounded) until the client's accepted writes are answered. */
  waitForAnswers: boolean
  timer: ReturnType<typeof setTimeout> | undefined
}

const CLOSE = CloseCodes

/**
 * The sync hub: keeps entities (through a {@link Storage}), answers
 * subscriptions, applies writes in arrival order and fans changes out to the
 * other subscribers. Transport-independent: `syncRoute` connects WebSocket
 * sessions to it through {@link HubConnection}s. Make one with `createSyncHub`.
 *
 * Everything sent to one connection in one tick goes out as one frame (one
 * envelope, or a JSON array of them); a broadcast is serialized once and the
 * same {@link SharedFrame} goes to every receiver.
 */
export class SyncHub {
  /** The id of this server node (sent in `welcome`). */
  readonly node: string
  /** The storage entities live in. */
  readonly storage: Storage

  private readonly _options: _ResolvedSyncOptions
  private readonly _clients = new Set<HubClient>()
  private readonly _subs = new _Subscriptions<HubClient>()
  private readonly _table: _EntityTable
  private readonly _writer: _EntityWriter
  private readonly _revisions = new Map<string, number>()
  private readonly _dirty = new Set<HubClient>()
  private _flushScheduled = false
  private _flushWaiters: (() => void)[] = []
  private readonly _closing = new Map<HubClient, _Closing>()
  private _closed: Promise<void> | undefined
  private readonly _ready: Promise<void>
  private _unwatch: (() => void) | undefined

  /** @internal Use `createSyncHub` or `syncRoute`. */
  constructor(storage: Storage, options: _ResolvedSyncOptions) {
    this.storage = storage
    this.node = options.node
    this._options = options
    this._table = new _EntityTable(options.cacheSize)
    this._writer = new _EntityWriter(this, storage, this._table, options)
    this._ready = storage.watch
      ? storage
          .watch({
            change: change => {
              try {
                this._writer.changed(change)
              } catch (error) {
                // What this node cached or answered may now be wrong: start its clients over.
                this._options.logger.error(
                  'lensync hub: applying a change from the storage feed failed',
                  error,
                )
                this._reset('a change from the feed could not be applied')
              }
            },
            reset: reason => this._reset(reason),
          })
          .then(stop => {
            if (this._closed) stop()
            else this._unwatch = stop
          })
      : Promise.resolve()
    // Whoever serves connections awaits `ready`; this only keeps an early
    // failure from being reported as unhandled.
    this._ready.catch(() => {})
  }

  /**
   * Resolves when the hub can serve: at once, or — with storage shared
   * between nodes — once it follows the storage's change feed. Rejects when
   * the feed cannot be read (e.g. Redis is unreachable).
   */
  get ready(): Promise<void> {
    return this._ready
  }

  /** How many connections are attached. */
  get connections(): number {
    return this._clients.size
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this._closed !== undefined
  }

  /**
   * Attaches a connection.
   *
   * @param connection - How to reach the client.
   * @param request - The upgrade request, passed to `authenticate`.
   * @returns The client: feed it frames with `receive()`, call `disconnect()` at the end.
   */
  connect(connection: HubConnection, request: IncomingMessage): HubClient {
    const client = new HubClient(
      connection,
      request,
      this._options,
      (c, raw) => this._handle(c, raw),
      c => this._disconnect(c),
      (c, raw) => this._prefetch(c, raw),
    )
    this._clients.add(client)
    if (this._options.authenticate) {
      client._helloTimer = setTimeout(() => {
        if (!client.authenticated) this._closeClient(client, CLOSE.UNAUTHENTICATED, 'No hello in time')
      }, this._options.helloTimeout)
      client._helloTimer.unref?.()
    }
    return client
  }

  /**
   * Commits every staged write and sends everything queued.
   *
   * @returns Resolves when storage has it and the frames were handed to the connections.
   */
  async flush(): Promise<void> {
    while (this._writer.pending) {
      await this._writer.committing
      this._writer.commit()
    }
    // Shared storage: the acks come with the changes through the feed.
    await this._writer.feedDrained(FEED_DRAIN_MS)
    this._flush()
  }

  /**
   * Stops the hub: commits what is staged and sends what is queued. Does not
   * close the storage (its owner does). Idempotent.
   *
   * @returns Resolves when everything accepted is committed.
   */
  close(): Promise<void> {
    this._closed ??= this.flush().finally(() => {
      this._unwatch?.()
      this._unwatch = undefined
    })
    return this._closed
  }

  // ——— envelopes ———

  /**
   * Starts reading the entity of a write or entity `sub` as soon as its frame
   * arrives. Envelopes are handled one at a time, so with storage that
   * answers asynchronously (Redis) a frame of writes to uncached entities
   * would otherwise cost one round trip each; read together, they are
   * decided and committed together. Reading is harmless: nothing is sent
   * before the envelope's turn (and its authorization).
   */
  private _prefetch(client: HubClient, raw: unknown): void {
    if (!client.authenticated || typeof raw !== 'object' || raw === null) return
    const { t, r, id } = raw as { t?: unknown; r?: unknown; id?: unknown }
    if (typeof r !== 'string' || typeof id !== 'string' || !this._knownResource(r)) return
    if (t !== 'put' && t !== 'patch' && t !== 'del' && t !== 'sub') return
    const entry = this._table.peek(r, id)
    if (entry?.committed || entry?.loading) return
    this._writer.load(this._table.entry(r, id))?.catch(() => {
      // Read again (and reported) when the envelope's turn comes.
    })
  }

  private _handle(client: HubClient, raw: unknown): Promise<void> | undefined {
    // Every envelope costs a token, whatever its type or outcome: a flood of
    // anything (unsubs, garbage, writes to unknown resources) is slowed down
    // and then closed like a flood of writes.
    if (!this._admit(client)) {
      this._rateLimited(client, raw)
      return undefined
    }
    const msg = raw instanceof ProtocolError ? raw : parseClientMessage(raw)
    if (msg instanceof ProtocolError) {
      this._problem(client, msg)
      return undefined
    }
    if (!client.authenticated && msg.t !== 'hello') {
      this._error(client, 'BAD_FRAME', 'authentication required: send hello first')
      this._closeClient(client, CLOSE.UNAUTHENTICATED, 'Unauthenticated')
      return undefined
    }
    switch (msg.t) {
      case 'hello':
        return this._hello(client, msg)
      case 'sub':
        return this._sub(client, msg)
      case 'unsub':
        this._unsubscribe(client, msg.r, msg.id)
        return undefined
      default:
        return this._write(client, msg)
    }
  }

  private _hello(client: HubClient, msg: HelloMessage): Promise<void> | undefined {
    if (client._helloSeen) {
      this._problem(client, new ProtocolError('BAD_FRAME', 'hello was already received'))
      return undefined
    }
    client._helloSeen = true
    if (msg.v !== PROTOCOL_VERSION) {
      this._closeClient(
        client,
        CLOSE.PROTOCOL_ERROR,
        `Unsupported protocol version ${msg.v}; this server speaks ${PROTOCOL_VERSION}`,
      )
      return undefined
    }
    const welcome = () => this._send(client, encodeWelcome(msg.client, this.node))
    const authenticate = this._options.authenticate
    if (!authenticate || client.authenticated) {
      welcome()
      return undefined
    }
    const accept = (principal: unknown) => {
      if (client.closed) return
      if (principal === null || principal === false || principal === undefined) {
        this._closeClient(client, CLOSE.UNAUTHENTICATED, 'Unauthenticated')
        return
      }
      if (principal instanceof CloseReason) {
        // Refused with a reason of its own, e.g. 4403: known, but not welcome.
        this._closeClient(client, principal.code, principal.message)
        return
      }
      client.principal = principal
      client.authenticated = true
      clearTimeout(client._helloTimer)
      welcome()
    }
    const failed = (error: unknown) => {
      this._options.logger.error('lensync hub: authenticate threw', error)
      this._closeClient(client, CLOSE.INTERNAL_ERROR, 'Authentication failed')
    }
    let result: unknown
    try {
      result = authenticate(client.request, msg)
    } catch (error) {
      failed(error)
      return undefined
    }
    if (!isThenable(result)) {
      accept(result)
      return undefined
    }
    return Promise.resolve(result).then(accept, failed)
  }

  private _sub(client: HubClient, msg: SubMessage): Promise<void> | undefined {
    const { r, id } = msg
    const refuse = (code: RejectCode, message: string) =>
      this._send(client, encodeReject({ r, id }, code, message))
    if (!this._knownResource(r)) {
      refuse('FORBIDDEN', `unknown resource ${JSON.stringify(r)}`)
      this._countRefusal(client)
      return undefined
    }
    if (
      !client._subscriptions.has(subKey(r, id)) &&
      client._subscriptions.size >= this._options.maxSubscriptions
    ) {
      refuse(
        'RATE_LIMITED',
        `too many subscriptions on this connection (maxSubscriptions ${this._options.maxSubscriptions})`,
      )
      return undefined
    }
    return this._authorized(client, { op: 'read', resource: r, id }, allowed => {
      if (!allowed) {
        refuse('FORBIDDEN', `not allowed to read ${r}${id === undefined ? '' : ` ${id}`}`)
        this._countRefusal(client)
        return undefined
      }
      return id === undefined ? this._collectionSnap(client, r, msg.since) : this._entitySnap(client, r, id)
    })
  }

  private _entitySnap(client: HubClient, r: string, id: string): Promise<void> | undefined {
    const entry = this._table.entry(r, id)
    const answer = () => {
      if (client.closed) return
      // Subscribing and reading the committed state happen together, so
      // every write committed later reaches the client as a change.
      this._subscribe(client, r, id)
      this._sendEntitySnap(client, entry)
      this._table.trim()
    }
    const loading = this._writer.load(entry)
    if (!loading) {
      answer()
      return undefined
    }
    return loading.then(answer)
  }

  private async _collectionSnap(client: HubClient, r: string, since: number | undefined): Promise<void> {
    // Subscribed first: whatever is committed while the pages are read
    // arrives as a change (and pages are freshened from the hub's cache).
    this._subscribe(client, r, undefined)
    const key = subKey(r, undefined)
    const limit = this._options.snapshotPageSize
    // The snapshot's revision (the client's next `since`) is read before the
    // first page: every write after it is in a page or arrives as a change,
    // and one that has not arrived when the client drops is fetched again.
    // (Read after the pages, it could name a write whose change was still on
    // its way, and a reconnect with that `since` would skip it.)
    const known = this._revisions.get(r) ?? 0
    const rev = Math.max(await this.storage.revision(r), known)
    let after: ListCursor | undefined
    for (;;) {
      if (client.closed || !client._subscriptions.has(key)) return
      const page = await this.storage.list(
        r,
        after === undefined ? { since, limit } : { after, since, limit },
      )
      const items: EncodedSnapItem[] = []
      const gone: string[] = []
      let bytes = 0
      let more = page.more
      for (const listed of page.entities) {
        if (bytes > SNAPSHOT_PAGE_BYTES) {
          more = true
          break
        }
        after = listed.cursor
        let { rev, value } = listed
        const committed = this._table.peek(r, listed.id)?.committed
        if (committed && committed.rev > rev) ({ rev, text: value } = committed)
        if (value === null) {
          if (since !== undefined) gone.push(listed.id)
          continue
        }
        bytes += value.length
        items.push({ id: listed.id, rev, value })
      }
      if (client.closed) return
      // A snapshot costs by its size: a client asking for the same big
      // collection again and again pays for the bytes, not one token a page.
      client._bucket?.charge(Math.floor(bytes / SNAPSHOT_BYTES_PER_TOKEN))
      this._send(client, encodeCollectionSnap(r, rev, items, gone, more))
      if (!more) return
      // One page per frame: let this one go out before reading the next, and
      // wait for a slow reader rather than queueing the collection for it.
      await this._nextFlush()
      const { connection } = client
      if (connection.drain && (connection.bufferedAmount?.() ?? 0) > this._options.maxBufferedBytes / 2)
        await connection.drain()
    }
  }

  private _write(client: HubClient, msg: Exclude<ClientMessage, HelloMessage | SubMessage | { t: 'unsub' }>) {
    const { op, r, id } = msg
    if (!this._knownResource(r)) {
      this._refuse(client, op, 'FORBIDDEN', `unknown resource ${JSON.stringify(r)}`)
      this._countRefusal(client)
      return undefined
    }
    if (msg.t === 'patch') {
      const entries = msg.set.length + (msg.unset?.length ?? 0)
      if (entries > this._options.maxPatchEntries) {
        this._refuse(
          client,
          op,
          'TOO_LARGE',
          `a patch of ${entries} fields; the limit is ${this._options.maxPatchEntries} (send a put)`,
        )
        return undefined
      }
    }
    const what = msg.t === 'del' ? 'delete' : 'write'
    return this._authorized(client, { op: what, resource: r, id }, allowed => {
      if (!allowed) {
        this._refuse(client, op, 'FORBIDDEN', `not allowed to ${what} ${r} ${id}`)
        this._countRefusal(client)
        return undefined
      }
      // A create-only put that finds the entity answers with its value.
      if (msg.t === 'put' && msg.create === true)
        return this._authorized(client, { op: 'read', resource: r, id }, readable =>
          this._writer.enqueue(client, msg, readable),
        )
      return this._writer.enqueue(client, msg)
    })
  }

  /** Asks `authorize` (when configured) and continues with the answer; a throwing `authorize` means no. */
  private _authorized(
    client: HubClient,
    request: AuthorizeRequest,
    then: (allowed: boolean) => Promise<void> | undefined,
  ): Promise<void> | undefined {
    const authorize = this._options.authorize
    if (!authorize) return then(true)
    const failed = (error: unknown) => {
      this._options.logger.error('lensync hub: authorize threw; refusing', error)
      return false
    }
    let result: boolean | PromiseLike<boolean>
    try {
      result = authorize(client.principal, request)
    } catch (error) {
      return then(failed(error))
    }
    if (!isThenable(result)) return then(result === true)
    return Promise.resolve(result).then(
      allowed => (client.closed ? undefined : then(allowed === true)),
      error => (client.closed ? undefined : then(failed(error))),
    )
  }

  private _knownResource(r: string): boolean {
    return this._options.allowUnknownResources || this._options.resources.has(r)
  }

  /** Takes a rate-limit token. */
  private _admit(client: HubClient): boolean {
    return !client._bucket || client._bucket.take()
  }

  /** Answers an envelope that found no token (a write or `sub` learns it; the rest is dropped). */
  private _rateLimited(client: HubClient, raw: unknown): void {
    const { t, op, r, id } = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
    const message = 'too many requests; slow down'
    if ((t === 'put' || t === 'patch' || t === 'del') && (typeof op === 'number' || typeof op === 'string'))
      this._refuse(client, op, 'RATE_LIMITED', message)
    else if (t === 'sub' && typeof r === 'string')
      this._send(
        client,
        encodeReject({ r, id: typeof id === 'string' ? id : undefined }, 'RATE_LIMITED', message),
      )
    this._closeIfFlooding(client)
  }

  /** A refused envelope (unknown resource, not allowed) counts towards the connection's error limit. */
  private _countRefusal(client: HubClient): void {
    if (!client._errors.add()) return
    this._options.logger.warn?.(
      `lensync hub: connection ${client.connection.id} sent too many refused envelopes; closing 1008`,
    )
    this._closeClient(client, CLOSE.POLICY, 'Too many refused requests', true)
  }

  /** Closes a connection that keeps pushing after being rate-limited. */
  private _closeIfFlooding(client: HubClient): void {
    if (!client._bucket?.exhausted) return
    this._options.logger.warn?.(
      `lensync hub: connection ${client.connection.id} exceeded its rate limit; closing 1008`,
    )
    this._closeClient(client, CLOSE.POLICY, 'Rate limit exceeded', true)
  }

  private _problem(client: HubClient, problem: ProtocolError): void {
    if (problem.op !== undefined) this._refuse(client, problem.op, 'BAD_FIELD', problem.message)
    else this._error(client, problem.code as ErrorCode, problem.message)
    if (client._errors.add()) {
      this._options.logger.warn?.(
        `lensync hub: connection ${client.connection.id} sent too many bad frames; closing 1008`,
      )
      this._closeClient(client, CLOSE.POLICY, 'Too many bad frames', true)
    }
  }

  private _error(client: HubClient, code: ErrorCode, message: string): void {
    this._send(client, encodeError(code, message))
  }

  // ——— subscriptions ———

  private _subscribe(client: HubClient, r: string, id: string | undefined): void {
    client._subscriptions.add(subKey(r, id))
    this._subs.add(client, r, id)
  }

  private _unsubscribe(client: HubClient, r: string, id: string | undefined): void {
    client._subscriptions.delete(subKey(r, id))
    this._subs.delete(client, r, id)
  }

  private _disconnect(client: HubClient): void {
    for (const key of client._subscriptions) {
      const { r, id } = parseSubKey(key)
      this._subs.delete(client, r, id)
    }
    client._subscriptions.clear()
    this._dirty.delete(client)
    clearTimeout(client._helloTimer)
    clearTimeout(this._closing.get(client)?.timer)
    this._closing.delete(client)
    this._clients.delete(client)
  }

  // ——— what the writer calls (internal) ———

  /** @internal The final answer to a write. */
  _ack(task: _WriteTask, rev: number, applied?: boolean): void {
    this._answer(task, encodeAck(task.msg.op, rev, applied !== false), true)
  }

  /** @internal The final answer to a refused write. */
  _reject(task: _WriteTask, code: RejectCode, message: string, issues?: Issue[]): void {
    this._answer(task, encodeReject({ op: task.msg.op }, code, message, issues), true)
  }

  /** @internal The committed state of an entity, as an entity `snap` (for a create-only put: before its ack). */
  _sendEntitySnap(client: HubClient, entry: _EntityEntry, task?: _WriteTask): void {
    const committed = entry.committed
    const text = encodeEntitySnap(entry.resource, entry.id, committed?.rev ?? 0, committed?.text ?? null)
    if (task) this._answer(task, text, false)
    else this._send(client, text)
  }

  /** @internal Keeps the place of a staged write's answer in its client's outbox. */
  _reserve(client: HubClient, entity: _EntityEntry): _Slot {
    return client.closed ? { texts: [], open: true, entity, detached: true } : client._outbox.reserve(entity)
  }

  /** @internal Sends one envelope to every subscriber of the entity but its writer (if it is connected here). */
  _broadcast(resource: string, id: string, sender: HubClient | undefined, text: string): void {
    let shared: SharedFrame | undefined
    this._subs.forEach(resource, id, client => {
      if (client === sender || client.closed) return
      shared ??= new SharedFrame(text)
      client._outbox.pushChange(shared, resource, id)
      this._dirty.add(client)
      this._checkBacklog(client)
    })
    if (shared) this._scheduleFlush()
  }

  /**
   * The storage feed lost changes: what this node cached and what it told
   * its clients may be stale. Every connection is closed with 1012 (clients
   * reconnect, subscribe again and resend what is not acknowledged).
   */
  private _reset(reason: string): void {
    this._options.logger.warn?.(
      `lensync hub: the storage feed was reset (${reason}); reconnecting every client`,
    )
    this._writer.reset()
    this._revisions.clear()
    for (const client of this._clients) this._closeClient(client, CLOSE.SERVICE_RESTART, 'Service restart')
  }

  /** @internal */
  _noteRevision(resource: string, rev: number): void {
    if (rev > (this._revisions.get(resource) ?? 0)) this._revisions.set(resource, rev)
  }

  /**
   * @internal
   * Stops handling the client's envelopes at once; at the next flush (after
   * the commit of its staged writes) sends what is queued and closes it.
   *
   * @param waitForAnswers - Wait until the writes it already got accepted are
   *   answered (with storage that commits asynchronously that can take a
   *   moment), at most `CLOSE_AFTER_ANSWERS_MS`: a client closed for its
   *   behaviour still learns which of its writes are stored.
   */
  _closeClient(client: HubClient, code: number, reason: string, waitForAnswers = false): void {
    if (client.closed) return
    client.closed = true
    const closing: _Closing = { code, reason, waitForAnswers, timer: undefined }
    if (waitForAnswers) {
      closing.timer = setTimeout(() => {
        closing.waitForAnswers = false
        this._scheduleFlush()
      }, CLOSE_AFTER_ANSWERS_MS)
      closing.timer.unref?.()
    }
    this._closing.set(client, closing)
    this._scheduleFlush()
  }

  /** @internal */
  _scheduleFlush(): void {
    if (this._flushScheduled) return
    this._flushScheduled = true
    setImmediate(this._deferredFlush)
  }

  /** The flush run from `setImmediate`: nothing thrown there may end the process. */
  private readonly _deferredFlush = (): void => {
    try {
      this._flush()
    } catch (error) {
      // _flush guards each connection; this is a bug in the hub itself.
      this._flushScheduled = false
      this._options.logger.error('lensync hub: a flush failed', error)
    }
  }

  /** @internal Resolves after the next flush (commit and send). */
  _nextFlush(): Promise<void> {
    this._scheduleFlush()
    return new Promise(resolve => this._flushWaiters.push(resolve))
  }

  // ——— sending ———

  private _send(client: HubClient, text: string): void {
    if (client.closed) return
    client._outbox.push(text)
    this._dirty.add(client)
    this._checkBacklog(client)
    this._scheduleFlush()
  }

  /**
   * Bounds what one connection can make the server hold: what its outbox
   * queues plus what its socket has not sent yet. Past `maxBufferedBytes`
   * the client is not reading (or asks for more than it reads): its queue is
   * dropped and it is closed with 1013, like any slow consumer, before a
   * single frame or string can grow without limit.
   */
  private _checkBacklog(client: HubClient): void {
    const queued = client._outbox.chars + (client.connection.bufferedAmount?.() ?? 0)
    if (queued <= this._options.maxBufferedBytes || client._gone) return
    this._options.logger.warn?.(
      `lensync hub: connection ${client.connection.id} has ${queued} bytes unsent (maxBufferedBytes ${this._options.maxBufferedBytes}); closing 1013 as a slow consumer`,
    )
    client._outbox.clear()
    // Already closing for another reason: the slow consumer's close replaces it, without waiting.
    const closing = this._closing.get(client)
    if (closing) clearTimeout(closing.timer)
    this._closing.delete(client)
    client.closed = false
    this._closeClient(client, CLOSE.TRY_AGAIN_LATER, 'Slow consumer')
  }

  /** Refuses a write before it reached its entity's queue. */
  private _refuse(client: HubClient, op: OpId, code: RejectCode, message: string): void {
    this._send(client, encodeReject({ op }, code, message))
  }

  /** Answers a write: into its slot when it has one (it was staged), else at the end of the outbox. */
  private _answer(task: _WriteTask, text: string, final: boolean): void {
    const { slot, client } = task
    if (!slot?.open) {
      this._send(client, text)
      return
    }
    client._outbox.fill(slot, text, final)
    this._dirty.add(client)
    this._checkBacklog(client)
    this._scheduleFlush()
  }

  private _flush(): void {
    this._flushScheduled = false
    // Acks and broadcasts of a synchronous commit join this tick's frames.
    this._writer.commit()
    for (const client of this._dirty) this._sendNow(client)
    this._dirty.clear()
    for (const [client, closing] of this._closing) {
      this._sendNow(client)
      if (closing.waitForAnswers && client._outbox.waiting && !client._gone) continue
      clearTimeout(closing.timer)
      this._closing.delete(client)
      try {
        client.connection.close(closing.code, closing.reason)
      } catch (error) {
        this._options.logger.error(`lensync hub: closing connection ${client.connection.id} failed`, error)
      }
    }
    const waiters = this._flushWaiters
    this._flushWaiters = []
    for (const resolve of waiters) resolve()
  }

  /**
   * Sends what is ready for one connection. An exception here (a transport
   * that throws, a bug) concerns this connection only: it is logged and the
   * connection is closed with 1011; the others, and the process, go on.
   */
  private _sendNow(client: HubClient): void {
    if (client._gone) return
    try {
      const { connection } = client
      for (const frame of client._outbox.take(this._options.maxOutgoingFrameBytes)) {
        if (typeof frame === 'string') connection.send(frame)
        else if (connection.sendShared) connection.sendShared(frame)
        else connection.send(frame.text)
      }
    } catch (error) {
      this._options.logger.error(`lensync hub: sending to connection ${client.connection.id} failed`, error)
      client._outbox.clear()
      if (this._closing.has(client)) return
      this._closeClient(client, CLOSE.INTERNAL_ERROR, 'Internal server error')
    }
  }
}

/** The key of a subscription in a client's set; `c` for a collection, `e` for an entity. */
function subKey(r: string, id: string | undefined): string {
  return id === undefined ? `c${r.length}:${r}` : `e${r.length}:${r}${id}`
}

function parseSubKey(key: string): { r: string; id: string | undefined } {
  const colon = key.indexOf(':')
  const length = Number(key.slice(1, colon))
  const r = key.slice(colon + 1, colon + 1 + length)
  return { r, id: key[0] === 'c' ? undefined : key.slice(colon + 1 + length) }
}
