import type { AckMessage } from '@lensync/protocol'
import type { Session } from '../Session.ts'
import { SyncError } from '../SyncError.ts'
import type { Timers, Token } from '../types.ts'
import { OutboxSender } from './OutboxSender.ts'
import { type TabCoordinator, tabCoordinator } from './TabCoordinator.ts'
import type { OutboxEntry, SyncCache } from './types.ts'

/** The most acks with conflicts kept for a sync that does not hold their entity yet. */
const MAX_UNCLAIMED = 100

/** A listener of the conflicts of outbox writes: true when it took them. */
type ConflictListener = (entry: OutboxEntry, ack: AckMessage) => boolean

/** Options of {@link CacheLink}. @internal */
export interface CacheLinkOptions {
  cache: SyncCache
  /** The socket's client id. */
  clientId: string
  /** The first op id of this page's sequence: own entries below it were made by an earlier page. */
  firstOp: number
  /** A fresh op id of the socket's client id. */
  nextOp: () => number
  /** Opens a reconnecting session to the socket's server (each sender has its own). */
  openSession: () => Session
  token: Token | undefined
  timers: Timers
  /** Reports a problem on every sync of the socket. */
  report: (error: SyncError) => void
}

/**
 * What a socket's shared connection does with a cache beyond its syncs:
 * holds the socket's client id across tabs (a {@link TabCoordinator}),
 * takes over the outbox of client ids whose tab closed (or whose page was
 * reloaded), and of its own syncs that stopped with unsent writes, and sends
 * those with an {@link OutboxSender} per client id. Stopped with the
 * connection, and when the page goes away (`pagehide`): another tab then
 * takes over what is unsent at once.
 *
 * @internal
 */
export class CacheLink {
  private readonly coordinator: TabCoordinator
  private readonly senders = new Map<string, OutboxSender>()
  private readonly conflictListeners = new Set<ConflictListener>()
  /** Acks with conflicts no sync took yet, oldest first (see {@link onConflicts}). */
  private readonly unclaimed: Array<{ readonly entry: OutboxEntry; readonly ack: AckMessage }> = []
  private readonly disposers: Array<() => void> = []
  private stopped = false

  constructor(private readonly options: CacheLinkOptions) {
    const { cache, clientId, timers } = options
    // Requested now, before any sync can queue an edit under this client id.
    this.coordinator = tabCoordinator({
      cache,
      clientId,
      timers,
      onTakeover: (client, entries) => this.take(client, entries),
      onLost: client => this.dropSender(client),
      onError: error => this.reportError(error),
    })
    void this.coordinator.started.then(() => this.takeEarlierOwn())
    const page = globalThis as { addEventListener?: EventTarget['addEventListener'] } & Partial<EventTarget>
    if (typeof page.addEventListener === 'function' && typeof page.removeEventListener === 'function') {
      const onHide = () => this.stop()
      page.addEventListener('pagehide', onHide)
      this.disposers.push(() => page.removeEventListener?.('pagehide', onHide))
    }
    this.disposers.push(
      cache.subscribe(notice => {
        if (notice.kind !== 'cleared') return
        for (const sender of this.senders.values()) sender.drop()
        this.unclaimed.length = 0
      }),
    )
  }

  /**
   * Listens to the conflicts of the writes this link sends from the outbox
   * (an earlier page's, another tab's): each ack with conflicts goes to the
   * listeners in the order they came until one returns true (the sync that
   * holds the entity resolves and reports them). An ack no listener takes is
   * kept (the newest {@link MAX_UNCLAIMED}, until the cache is cleared) and
   * offered again on {@link offerUnclaimed}: a page's syncs often start, or
   * read their cache, after the outbox was sent.
   * @returns a disposer.
   */
  onConflicts(listener: ConflictListener): () => void {
    this.conflictListeners.add(listener)
    return () => {
      this.conflictListeners.delete(listener)
    }
  }

  /** Offers the conflicts no sync took yet to the listeners again (a sync now holds more entities). */
  offerUnclaimed(): void {
    for (let i = 0; i < this.unclaimed.length; ) {
      const { entry, ack } = this.unclaimed[i] as (typeof this.unclaimed)[number]
      if (this.offer(entry, ack)) this.unclaimed.splice(i, 1)
      else i++
    }
  }

  /** Sends entries of this socket's client id that no sync sends any more (a sync stopped with them unsent). */
  leaveBehind(entries: readonly OutboxEntry[]): void {
    if (entries.length > 0) this.take(this.options.clientId, entries)
  }

  /** Stops coordinating and sending; what is unsent stays in the cache for another tab or the next page. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    for (const dispose of this.disposers.splice(0)) dispose()
    for (const sender of this.senders.values()) sender.stop()
    this.senders.clear()
    void this.coordinator.stop()
  }

  // An id given with `clientId` may have been an earlier page's: its entries
  // made before this page's first op are nobody's but this tab's now.
  private async takeEarlierOwn(): Promise<void> {
    if (this.stopped) return
    try {
      const own = await this.options.cache.readOutbox({ client: this.options.clientId })
      this.leaveBehind(own.filter(entry => entry.op < this.options.firstOp))
    } catch (error) {
      this.reportError(error)
    }
  }

  private take(client: string, entries: readonly OutboxEntry[]): void {
    if (this.stopped) return
    let sender = this.senders.get(client)
    if (!sender) {
      const { cache, openSession, token, timers } = this.options
      sender = new OutboxSender({
        client,
        cache,
        openSession,
        token,
        timers,
        onEmpty: done => this.done(done),
        onFound: entry => this.resendEdits(entry),
        onConflicts: (entry, ack) => this.conflicts(entry, ack),
        report: this.options.report,
      })
      this.senders.set(client, sender)
    }
    sender.add(entries)
  }

  private conflicts(entry: OutboxEntry, ack: AckMessage): void {
    if (this.offer(entry, ack)) return
    this.unclaimed.push({ entry, ack })
    if (this.unclaimed.length > MAX_UNCLAIMED) this.unclaimed.shift()
  }

  private offer(entry: OutboxEntry, ack: AckMessage): boolean {
    for (const listener of [...this.conflictListeners]) if (listener(entry, ack)) return true
    return false
  }

  private done(client: string): void {
    this.dropSender(client)
    if (client !== this.options.clientId) void this.coordinator.release(client)
  }

  private dropSender(client: string): void {
    const sender = this.senders.get(client)
    this.senders.delete(client)
    sender?.stop()
  }

  // A create-only put taken over found the entity: the field edits made on
  // top of the offer go as a new patch of this client (the old op was answered).
  private resendEdits(entry: OutboxEntry): void {
    const patch: OutboxEntry = {
      client: this.options.clientId,
      op: this.options.nextOp(),
      resource: entry.resource,
      id: entry.id,
      kind: 'patch',
      version: entry.version,
      ...(entry.set ? { set: entry.set } : { set: [] }),
      ...(entry.unset ? { unset: entry.unset } : {}),
    }
    void this.options.cache.enqueue(patch).then(result => {
      if (!result.ok) this.options.report(result.error)
    })
    this.take(this.options.clientId, [patch])
  }

  private reportError(error: unknown): void {
    this.options.report(
      error instanceof SyncError
        ? error
        : new SyncError('CACHE_UNAVAILABLE', 'Coordinating the cache between tabs failed', { cause: error }),
    )
  }
}
