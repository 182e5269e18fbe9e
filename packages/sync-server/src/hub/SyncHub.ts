import { CloseCodes } from '@lensync/protocol'
import { localPresenceBus } from '../presence/localPresenceBus.ts'
import { createPresenceRooms, type PresenceRooms } from '../presence/PresenceRooms.ts'
import type { Storage } from '../storage/Storage.ts'
import type { UpgradeRequest } from '../UpgradeRequest.ts'
import { _ChangeHooks } from './ChangeHooks.ts'
import { _ClientBindings } from './ClientBindings.ts'
import { _Delivery } from './Delivery.ts'
import { _checkDisconnect, _disconnectMatching, type PrincipalPredicate } from './disconnectMatching.ts'
import { _EntityTable } from './EntityTable.ts'
import { _EntityWriter } from './EntityWriter.ts'
import { _FeedReconciler } from './FeedReconciler.ts'
import { _Gate } from './Gate.ts'
import { _Handshake } from './Handshake.ts'
import { type _HubClientWiring, type _PresenceMember, HubClient } from './HubClient.ts'
import { _InFlightWrites } from './InFlightWrites.ts'
import { _Receiver } from './Receiver.ts'
import { _Snapshots } from './Snapshots.ts'
import { _SubscriptionIndex } from './Subscriptions.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'
import type { HubConnection } from './syncTypes.ts'
import { _TombstoneCompactor } from './TombstoneCompactor.ts'

/** How long `flush()` waits for this node's committed writes to come back through a storage feed. */
const FEED_DRAIN_MS = 5_000

/** How long `close()` waits for queued `onChange` calls. */
const HOOKS_DRAIN_MS = 5_000

/**
 * The sync hub: keeps entities (through a {@link Storage}), answers
 * subscriptions, applies writes in arrival order and fans changes out to the
 * other subscribers. Transport-independent: `syncRoute` connects WebSocket
 * sessions to it through {@link HubConnection}s. Make one with `createSyncHub`.
 *
 * Everything sent to one connection in one tick goes out as one frame (one
 * envelope, or a JSON array of them); a broadcast is serialized once and the
 * same `SharedFrame` goes to every receiver.
 *
 * The hub itself is the registry of its connections and wires its parts:
 * each {@link HubClient} (one connection's life), the receiver (dispatch),
 * the gate, the handshake, the snapshots, the writer (with group commit and,
 * with shared storage, the feed reconciler) and the delivery (outboxes and flush).
 */
export class SyncHub {
  /** The id of this server node (sent in `welcome`). */
  readonly node: string
  /** The storage entities live in. */
  readonly storage: Storage

  private readonly _options: _ResolvedSyncOptions
  private readonly _clients = new Set<HubClient>()
  private readonly _subscriptions = new _SubscriptionIndex<HubClient>()
  private readonly _table: _EntityTable
  private readonly _delivery: _Delivery
  private readonly _feed: _FeedReconciler | undefined
  private readonly _writer: _EntityWriter
  private readonly _inFlight: _InFlightWrites
  /** With `authenticate`: which principal each client id belongs to. */
  private readonly _bindings: _ClientBindings | undefined
  private readonly _receiver: _Receiver
  private readonly _handshake: _Handshake
  private readonly _hooks: _ChangeHooks
  private readonly _compactor: _TombstoneCompactor
  private _closed: Promise<void> | undefined
  private readonly _ready: Promise<void>
  private readonly _presence: PresenceRooms<_PresenceMember>
  private _unwatch: (() => void) | undefined
  private _wiring: _HubClientWiring | undefined

  /** @internal Use `createSyncHub` or `syncRoute`. */
  constructor(storage: Storage, options: _ResolvedSyncOptions) {
    this.storage = storage
    this.node = options.node
    this._options = options
    this._table = new _EntityTable(options.cacheSize, storage)
    this._delivery = new _Delivery(options, this._subscriptions, () => this._writer.commit())
    // Every answer of a write passes the in-flight registry (at most once per node).
    this._inFlight = new _InFlightWrites(this._delivery)
    this._hooks = new _ChangeHooks(options)
    this._feed = storage.watch
      ? new _FeedReconciler(this._table, this._inFlight, options.timers, this._hooks)
      : undefined
    this._writer = new _EntityWriter(storage, this._table, options, this._inFlight, this._feed, this._hooks)
    this._bindings = options.authenticate ? new _ClientBindings(options.principalKey) : undefined
    this._presence = this._rooms()
    const gate = new _Gate(options, this._delivery, this._table)
    this._handshake = new _Handshake(options, this._delivery, gate)
    this._receiver = new _Receiver({
      options,
      table: this._table,
      gate,
      handshake: this._handshake,
      snapshots: new _Snapshots(storage, this._table, this._delivery, options),
      writer: this._writer,
      delivery: this._delivery,
      bind: this._bind,
      presence: this._presence,
    })
    // The storage first: when its server cannot be reached, that failure (a
    // ServerError STORAGE_UNAVAILABLE) is the one to report, not the presence
    // bus's, which usually talks to the same server.
    const presenceReady = this._presence.ready
    presenceReady.catch(() => {})
    this._ready = this._watch().then(() => presenceReady)
    // Whoever serves connections awaits `ready`; this only keeps an early
    // failure from being reported as unhandled.
    this._ready.catch(() => {})
    this._compactor = new _TombstoneCompactor(storage, options)
    this._ready.then(
      () => this._compactor.start(),
      () => {},
    )
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
   * Revokes connections: closes every connection whose principal matches
   * with 4403 and `reason` (clients do not reconnect after 4403). Only
   * connections on this node: with several nodes, call it on each (e.g. from
   * a message your nodes all receive). Connections still in their handshake
   * are not matched; a principal revoked for good must also be refused by
   * `authenticate`.
   *
   * @param predicate - Gets each connection's principal; `true` closes it.
   * @param reason - The close reason (cut to 123 bytes). Default `'Forbidden'`.
   * @returns How many connections are being closed.
   * @example
   * hub.disconnect(principal => (principal as User).id === 'u1', 'Access revoked')
   */
  disconnect(predicate: PrincipalPredicate, reason = 'Forbidden'): number {
    _checkDisconnect(predicate, reason, 'hub.disconnect(predicate, reason)')
    return _disconnectMatching(this._clients, predicate, reason, this._options.logger)
  }

  /**
   * Attaches a connection.
   *
   * @param connection - How to reach the client.
   * @param request - The upgrade request, passed to `authenticate`.
   * @returns The client: feed it frames with `receive()`, call `disconnect()` at the end.
   */
  connect(connection: HubConnection, request: UpgradeRequest): HubClient {
    // One wiring for every connection of the hub.
    this._wiring ??= {
      options: this._options,
      subscriptions: this._subscriptions,
      handle: this._receiver.handle,
      arrived: this._receiver.prefetch,
      closing: this._closing,
      gone: this._gone,
      bind: this._bind,
    }
    const client = new HubClient(connection, request, this._wiring)
    this._clients.add(client)
    // Arrived while the hub drains: nothing of it is handled.
    if (this._closed) client.close(CloseCodes.GOING_AWAY, 'Server shutting down')
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
    await this._feed?.drained(FEED_DRAIN_MS)
    this._delivery.flush()
  }

  /**
   * Stops the hub, draining it: from now on no connection's envelopes are
   * handled (frames that arrive are ignored, writes not decided yet are not
   * applied — their clients resend them after reconnecting); the writes
   * already accepted are committed, every answer is sent, and only then is
   * each connection closed with 1001 (a connection waits at most 2 s for its
   * answers). Does not close the storage (its owner does). Idempotent.
   *
   * @returns Resolves when everything accepted is committed and answered and every connection was closed.
   */
  close(): Promise<void> {
    // Then the `onChange` calls of what was committed get a bounded while to finish.
    this._closed ??= this._drain()
      .finally(() => this._compactor.stop())
      .finally(() => this._hooks.drained(HOOKS_DRAIN_MS))
      .finally(() => {
        this._unwatch?.()
        this._unwatch = undefined
      })
    return this._closed
  }

  private async _drain(): Promise<void> {
    for (const client of this._clients) client.close(CloseCodes.GOING_AWAY, 'Server shutting down', true)
    await this.flush()
    await this._delivery.allClosed()
    // The other nodes see this node's members leave.
    await this._presence.close()
  }

  /**
   * The presence rooms of this node: what they send goes into the
   * connections' outboxes (a fan-out as one shared frame), joining asks
   * `authorize` with op `'presence'`; other nodes through `presenceBus`
   * (default: this node alone).
   */
  private _rooms(): PresenceRooms<_PresenceMember> {
    const options = this._options
    const { authorize } = options
    const { bus, presenceTimeout, maxPresenceBytes, maxRooms, rate } = options.presence
    return createPresenceRooms<_PresenceMember>({
      send: (member, text) => this._delivery.send(member.conn, text),
      broadcast: (members, text) =>
        this._delivery.sendShared(
          members.map(member => member.conn),
          text,
        ),
      authorize: authorize
        ? (member, room) =>
            authorize(member.conn.principal, { op: 'presence', resource: room, id: undefined })
        : undefined,
      bus: bus ?? localPresenceBus(this.node),
      presenceTimeout,
      maxPresenceBytes,
      maxRooms,
      rate,
      timers: options.timers,
      now: options.now,
      logger: options.logger,
    })
  }

  private readonly _closing = (client: HubClient): void => this._delivery.closing(client)

  private readonly _bind = (clientId: string, principal: unknown): boolean =>
    this._bindings?.bind(clientId, principal) ?? true

  private readonly _gone = (client: HubClient, clean: boolean): void => {
    const member = client.presenceMemberIfAny
    if (member) this._presence.disconnect(member, { clean })
    this._delivery.forget(client)
    this._clients.delete(client)
    this._handshake.gone(client)
  }

  /** Follows the storage's change feed (shared storage); resolves once it does. */
  private _watch(): Promise<void> {
    const { storage, _feed: feed } = this
    if (!storage.watch || !feed) return Promise.resolve()
    return storage
      .watch({
        change: change => {
          try {
            feed.changed(change)
          } catch (error) {
            // What this node cached or answered may now be wrong: start its clients over.
            this._options.logger.error('lensync hub: applying a change from the storage feed failed', error)
            this._reset('a change from the feed could not be applied')
          }
        },
        reset: reason => this._reset(reason),
      })
      .then(stop => {
        if (this._closed) stop()
        else this._unwatch = stop
      })
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
    this._feed?.reset()
    // The writes waiting for the feed will not be answered: resends decide for themselves.
    this._inFlight.releaseAll()
    for (const client of this._clients) client.close(CloseCodes.SERVICE_RESTART, 'Service restart')
  }
}
