import { CloseCodes } from '@lensync/protocol'
import { CloseReason } from './CloseReason.ts'
import { _ConsumerRun } from './ConsumerRun.ts'
import { _toWire, type _Wire, prepareMessage } from './frame.ts'
import { checkStorage } from './hub/createSyncHub.ts'
import type { HubClient } from './hub/HubClient.ts'
import type { SharedFrame } from './hub/SharedFrame.ts'
import { SyncHub } from './hub/SyncHub.ts'
import { _resolveSyncOptions } from './hub/syncOptions.ts'
import type { HubConnection, SyncRouteHandler, SyncRouteOptions } from './hub/syncTypes.ts'
import type { ServerSession } from './ServerSession.ts'
import type { Storage } from './storage/Storage.ts'
import { sqliteStorage } from './storage/sqliteStorage.ts'
import type { Frame } from './types.ts'

/**
 * The sync hub as a WebSocket route: keeps the last value and revision of
 * every entity, answers subscriptions, merges field patches, acknowledges
 * writes once they are durable and broadcasts them to the other subscribers.
 * Speaks lensync protocol v1 (`docs/protocol.md`).
 *
 * @param options - Storage (default: SQLite at `dataFile`, `'./data/lensync.db'`),
 *   `authenticate`, `authorize`, `resources` (schemas), limits … (see `SyncRouteOptions`).
 * @returns The handler for `app.webSocket(path, handler)`, with `hub` and `close()`.
 * @throws TypeError naming an option with a bad value; the SQLite error when the file cannot be opened.
 * @example
 * const sync = syncRoute({ storage: memoryStorage(), resources: { person: { schema: Person } } })
 * app.webSocket('/sync', sync)
 * // on shutdown: await app.close(); await sync.close()
 */
export function syncRoute(options: SyncRouteOptions = {}): SyncRouteHandler {
  const resolved = _resolveSyncOptions(options, 'syncRoute(options)')
  let storage: Storage
  const owned = options.storage === undefined
  if (options.storage === undefined) storage = sqliteStorage({ file: options.dataFile })
  else {
    checkStorage(options.storage, 'syncRoute(options)')
    storage = options.storage
  }
  const hub = new SyncHub(storage, resolved)
  const { allowedOrigins } = resolved

  let ready = false
  void hub.ready.then(
    () => {
      ready = true
    },
    () => {},
  )
  // Serves the connection until it closed: frames go to the hub as they
  // arrive (a callback, not a `for await` loop per connection).
  const serve = (session: ServerSession): PromiseLike<void> => {
    if (allowedOrigins) {
      const origin = session.request.headers.origin
      // Browsers always send Origin; other clients are not what this guards against.
      if (origin !== undefined && !allowedOrigins.has(origin))
        return session.close(new CloseReason(CloseCodes.FORBIDDEN, 'Origin not allowed'))
    }
    const connection = new _SessionConnection(session, hub)
    session._consume(connection)
    return connection
  }
  const handler = (session: ServerSession): PromiseLike<void> => {
    if (hub.closed)
      return session.close(new CloseReason(CloseReason.Codes.GOING_AWAY, 'Server shutting down'))
    // Shared storage: serve only once this node follows the change feed.
    return ready ? serve(session) : hub.ready.then(() => serve(session))
  }

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await hub.close()
      if (owned) await storage.close()
    })()
    return closing
  }
  const disconnect: SyncRouteHandler['disconnect'] = (predicate, reason) => hub.disconnect(predicate, reason)
  return Object.assign(handler, { hub, close, disconnect })
}

/**
 * @internal
 * A session as the hub's connection, and the feed of its frames to its hub
 * client: one small object per connection, methods not closures. When the
 * connection closed it disconnects the client, which ends the route's
 * handler (the handler returns it).
 */
export class _SessionConnection extends _ConsumerRun implements HubConnection {
  private readonly _client: HubClient

  constructor(
    private readonly _session: ServerSession,
    hub: SyncHub,
  ) {
    super()
    this._client = hub.connect(this, _session.request)
  }

  get id(): string {
    return this._session.id
  }

  /** Without a promise per frame (as sendMany): the hub never waits for a write. */
  send(text: string): void {
    this._session._sendQuietly(_toWire(text))
  }

  /** The broadcast's bytes are encoded once and reused for every receiver. */
  sendShared(frame: SharedFrame): void {
    frame.cache ??= _toWire(prepareMessage(frame.text))
    this._session._sendQuietly(frame.cache as _Wire)
  }

  close(code: number, reason: string): void {
    void this._session.close(new CloseReason(code, reason))
  }

  bufferedAmount(): number {
    return this._session.bufferedAmount
  }

  drain(): Promise<void> {
    return this._session.flush()
  }

  take(frame: Frame): Promise<void> | undefined {
    try {
      return frame.type === 'text' ? this._client.receive(frame.text) : this._client.receiveBinary()
    } catch (error) {
      // As a route handler that throws: logged, and the session closed with 1011.
      this._client.options.logger.error(
        `lensync sync route: handling a frame of session ${this._session.id} failed`,
        error,
      )
      void this._session.close(new CloseReason(CloseReason.Codes.INTERNAL_ERROR, 'Internal server error'))
      return undefined
    }
  }

  protected _end(): void {
    // Lost without a close frame (1006, which a ping timeout ends in too):
    // presence keeps the client's places for a reconnect.
    this._client.disconnect({ clean: this._session._peerCloseReason?.code !== CloseCodes.ABNORMAL })
  }
}
