import { SyncError } from '../SyncError.ts'
import type { Timers } from '../types.ts'
import { HeartbeatLiveness, type Liveness, WebLocksLiveness } from './Liveness.ts'
import { rethrowLater } from './rethrowLater.ts'
import type { OutboxEntry, SyncCache } from './types.ts'

/** Options of {@link tabCoordinator}. */
export interface TabCoordinatorOptions {
  /** The cache whose outbox is coordinated (its `locks` decide Web Locks or the heartbeat fallback). */
  cache: SyncCache
  /** This socket's client id (`socket.clientId`): held for the coordinator's lifetime. */
  clientId: string
  /**
   * Called when this tab took over another client id whose tab is gone,
   * with that client's outbox in op order. Send the entries under that
   * client id and `cache.ack()` each when acknowledged; the coordinator lets
   * the client id go once its outbox is empty (or on {@link TabCoordinator.release}).
   */
  onTakeover: (client: string, entries: OutboxEntry[]) => void
  /**
   * Called when a client id taken over is no longer this tab's to send
   * (heartbeat fallback: its owner was only asleep and beats again; Web
   * Locks: another page stole the lock). Stop sending its entries.
   */
  onLost?: (client: string) => void
  /** Called with errors of the cache met while scanning. Default: reported as uncaught. */
  onError?: (error: unknown) => void
  /** Timers (for tests). Default `globalThis`. */
  timers?: Timers
  /** The clock of heartbeats, in ms. Default `Date.now`. */
  now?: () => number
  /**
   * How often the outbox is scanned for client ids nobody holds, in ms.
   * Default 1000 with Web Locks, 500 with the heartbeat fallback.
   */
  scanInterval?: number
  /** Heartbeat fallback: how often a held client's record is rewritten, in ms. Default 500. */
  heartbeatInterval?: number
  /** Heartbeat fallback: how old a record may get before its client counts as gone, in ms. Default 1500. */
  staleAfter?: number
}

/** Where a coordinator is: waiting for its own client id, running, or stopped. */
export type TabCoordinatorState = 'starting' | 'running' | 'stopped'

/** Defaults of {@link TabCoordinatorOptions}. @internal */
export const coordinatorDefaults = {
  lockScanInterval: 1000,
  heartbeatScanInterval: 500,
  heartbeatInterval: 500,
  staleAfter: 1500,
} as const

function checkInterval(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new SyncError(
      'BAD_ARGUMENT',
      `tabCoordinator(): \`${name}\` must be a positive number of milliseconds`,
    )
  }
  return value
}

/**
 * Makes the tabs (and sockets) sharing a cache send each edit exactly once:
 * each client id is held by one live coordinator — its own while its tab
 * lives; when a tab closes or its sync stops, another coordinator finds the
 * client's unsent outbox (on start, on a `client-gone` notice, and every
 * `scanInterval`), takes the client id over atomically, and hands its entries
 * to `onTakeover`. With Web Locks, a client id is the lock
 * `lensync:<cache name>:client:<client id>`; without, a heartbeat record in the cache.
 *
 * @internal
 */
export class TabCoordinator {
  readonly clientId: string
  /** Resolves once this client id is held (no other tab will take its outbox over from then on). */
  readonly started: Promise<void>
  private current: TabCoordinatorState = 'starting'
  private readonly cache: SyncCache
  private readonly liveness: Liveness
  private readonly adoptedIds = new Set<string>()
  private readonly timers: Timers
  private readonly scanInterval: number
  private readonly heartbeatInterval: number
  private readonly onTakeover: (client: string, entries: OutboxEntry[]) => void
  private readonly onLost: (client: string) => void
  private readonly onError: (error: unknown) => void
  private readonly unsubscribe: () => void
  private scanTimer: unknown = undefined
  private beatTimer: unknown = undefined
  private scanning: Promise<void> | undefined = undefined
  private rescan = false
  private stopping: Promise<void> | undefined = undefined

  /** @param options - See {@link TabCoordinatorOptions}. */
  constructor(options: TabCoordinatorOptions) {
    const { cache, clientId, onTakeover, onLost = () => {}, onError = rethrowLater } = options
    if (typeof clientId !== 'string' || clientId.length === 0) {
      throw new SyncError(
        'BAD_ARGUMENT',
        'tabCoordinator(): `clientId` must be the socket’s non-empty client id',
      )
    }
    if (typeof onTakeover !== 'function') {
      throw new SyncError(
        'BAD_ARGUMENT',
        'tabCoordinator(): `onTakeover(client, entries)` must be a function that sends them',
      )
    }
    this.cache = cache
    this.clientId = clientId
    this.onTakeover = onTakeover
    this.onError = onError
    this.timers = options.timers ?? globalThis
    const now = options.now ?? Date.now
    const locked = cache.locks !== undefined
    this.scanInterval = checkInterval(
      'scanInterval',
      options.scanInterval ??
        (locked ? coordinatorDefaults.lockScanInterval : coordinatorDefaults.heartbeatScanInterval),
    )
    this.heartbeatInterval = checkInterval(
      'heartbeatInterval',
      options.heartbeatInterval ?? coordinatorDefaults.heartbeatInterval,
    )
    const staleAfter = checkInterval('staleAfter', options.staleAfter ?? coordinatorDefaults.staleAfter)
    this.onLost = client => {
      if (this.adoptedIds.delete(client)) onLost(client)
    }
    this.liveness =
      cache.locks !== undefined
        ? new WebLocksLiveness(cache.locks, cache.name, this.onLost)
        : new HeartbeatLiveness(cache, clientId, now, staleAfter)
    this.unsubscribe = cache.subscribe(notice => {
      if (notice.kind === 'client-gone' && notice.client !== clientId) void this.scan()
    })
    // Issued now, before the caller can queue an edit under this client id.
    this.started = this.start()
  }

  /** Where the coordinator is. */
  get state(): TabCoordinatorState {
    return this.current
  }

  /** The client ids this tab took over and still holds. */
  get adopted(): ReadonlySet<string> {
    return new Set(this.adoptedIds)
  }

  /**
   * Looks for client ids with unsent writes that nobody holds, now (it also
   * runs on a timer and when another tab says a client is gone). Concurrent
   * calls share one scan.
   */
  scan(): Promise<void> {
    if (this.current !== 'running') return Promise.resolve()
    if (this.scanning !== undefined) {
      this.rescan = true
      return this.scanning
    }
    const run = async () => {
      do {
        this.rescan = false
        await this.scanOnce()
      } while (this.rescan && this.current === 'running')
    }
    this.scanning = run()
      .catch(this.onError)
      .finally(() => {
        this.scanning = undefined
      })
    return this.scanning
  }

  /**
   * Lets go of a client id taken over, e.g. once its entries are sent (the
   * next scan does it anyway when its outbox is empty). Another tab may then
   * take over what is left of it.
   */
  release(client: string): Promise<void> {
    if (!this.adoptedIds.delete(client)) return Promise.resolve()
    return this.liveness.release(client).catch(this.onError)
  }

  /**
   * Stops: lets go of this client id and those taken over, and tells other
   * tabs (`client-gone`) so one of them takes over what is unsent at once.
   * Idempotent; resolves once others can take over.
   */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping
    this.current = 'stopped'
    this.timers.clearTimeout(this.scanTimer)
    this.timers.clearTimeout(this.beatTimer)
    this.unsubscribe()
    const held = [this.clientId, ...this.adoptedIds]
    this.adoptedIds.clear()
    this.stopping = (async () => {
      await Promise.all(held.map(client => this.liveness.release(client).catch(this.onError)))
      for (const client of held) this.cache.notify({ kind: 'client-gone', client })
    })()
    return this.stopping
  }

  private async start(): Promise<void> {
    try {
      await this.liveness.hold(this.clientId)
    } catch (error) {
      this.onError(error)
    }
    if (this.current !== 'starting') return
    this.current = 'running'
    this.scheduleScan()
    if (this.liveness.beat !== undefined) this.scheduleBeat()
    void this.scan()
  }

  private async scanOnce(): Promise<void> {
    const clients = await this.cache.outboxClients()
    const waiting = new Set(clients)
    // A client taken over whose outbox is empty is done.
    for (const client of [...this.adoptedIds]) if (!waiting.has(client)) await this.release(client)
    for (const client of clients) {
      if (this.current !== 'running') return
      if (client === this.clientId || this.adoptedIds.has(client)) continue
      if (!(await this.liveness.tryTake(client))) continue
      const entries = this.current === 'running' ? await this.cache.readOutbox({ client }) : []
      if (this.current !== 'running' || entries.length === 0) {
        // Stopped meanwhile, or its outbox was sent after all: nothing to take over.
        await this.liveness.release(client)
        continue
      }
      this.adoptedIds.add(client)
      try {
        this.onTakeover(client, entries)
      } catch (error) {
        rethrowLater(error)
      }
    }
  }

  private scheduleScan(): void {
    this.scanTimer = this.timers.setTimeout(() => {
      if (this.current !== 'running') return
      void this.scan().finally(() => {
        if (this.current === 'running') this.scheduleScan()
      })
    }, this.scanInterval)
  }

  private scheduleBeat(): void {
    const beat = this.liveness.beat!
    this.beatTimer = this.timers.setTimeout(() => {
      if (this.current !== 'running') return
      void beat()
        .then(lost => {
          for (const client of lost) this.onLost(client)
        }, this.onError)
        .finally(() => {
          if (this.current === 'running') this.scheduleBeat()
        })
    }, this.heartbeatInterval)
  }
}

/**
 * Starts tab coordination for one socket's client id over a cache (see
 * {@link TabCoordinator}). Create it before queueing edits under `clientId`,
 * and `stop()` it when the socket's syncs stop or the page goes away (`pagehide`).
 *
 * @param options - See {@link TabCoordinatorOptions}.
 * @returns The running coordinator.
 * @example
 * const tabs = tabCoordinator({ cache, clientId: socket.clientId, onTakeover: (client, entries) => send(client, entries) })
 * addEventListener('pagehide', () => void tabs.stop())
 * @internal
 */
export function tabCoordinator(options: TabCoordinatorOptions): TabCoordinator {
  return new TabCoordinator(options)
}
