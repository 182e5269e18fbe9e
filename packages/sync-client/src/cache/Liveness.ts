import type { LockManagerLike, SyncCache } from './types.ts'

/**
 * How tab coordination knows which client ids are alive, and takes over the
 * ones that are not: a client id is *held* by exactly one live coordinator
 * (its own, or the one that took it over).
 *
 * @internal
 */
export interface Liveness {
  /** Holds a client id for as long as this tab lives (until {@link Liveness.release}). Resolves once held. */
  hold(client: string): Promise<void>
  /** Takes a client id nobody holds. @returns whether it is now held here. */
  tryTake(client: string): Promise<boolean>
  /** Lets a held client id go; resolves once others can take it. */
  release(client: string): Promise<void>
  /** Upkeep on a timer (heartbeats); resolves to the held ids this tab lost. Absent when nothing needs upkeep. */
  readonly beat?: () => Promise<string[]>
}

/** The Web Lock a live client id holds: `lensync:<cache name>:client:<client id>`. @internal */
export const clientLockName = (cacheName: string, client: string): string =>
  `lensync:${cacheName}:client:${client}`

interface Hold {
  release: () => void
  /** Set once released: a grant arriving later lets go at once. */
  over: boolean
  /** Settles once the lock is released. */
  done: Promise<unknown>
}

/**
 * Liveness from Web Locks: each held client id is an exclusive lock whose
 * callback never resolves until released. The browser releases a closed or
 * crashed tab's locks, so a free lock is a client nobody sends for; taking it
 * with `ifAvailable` is atomic, so two tabs never take the same one.
 *
 * @internal
 */
export class WebLocksLiveness implements Liveness {
  private readonly holds = new Map<string, Hold>()

  /**
   * @param locks - The lock manager (`navigator.locks`).
   * @param cacheName - The cache name, part of every lock name.
   * @param onLost - Called when a held lock is taken from this tab (`steal` by another page).
   */
  constructor(
    private readonly locks: LockManagerLike,
    private readonly cacheName: string,
    private readonly onLost: (client: string) => void,
  ) {}

  hold(client: string): Promise<void> {
    return new Promise<void>(resolve => {
      // Requested synchronously, so the lock is queued before any edit of this client reaches the cache.
      this.request(client, {}, granted => resolve(void granted))
    })
  }

  tryTake(client: string): Promise<boolean> {
    return new Promise<boolean>(resolve => this.request(client, { ifAvailable: true }, resolve))
  }

  async release(client: string): Promise<void> {
    const hold = this.holds.get(client)
    if (hold === undefined) return
    this.holds.delete(client)
    hold.over = true
    hold.release()
    await hold.done
  }

  private request(
    client: string,
    options: { ifAvailable?: boolean },
    granted: (held: boolean) => void,
  ): void {
    let release!: () => void
    const released = new Promise<void>(r => {
      release = r
    })
    const hold: Hold = { release, over: false, done: released }
    // A lock of our own is ours to release even before it is granted.
    if (!options.ifAvailable) this.holds.set(client, hold)
    const done = this.locks.request(clientLockName(this.cacheName, client), options, lock => {
      if (lock === null || hold.over) {
        granted(false)
        return undefined
      }
      this.holds.set(client, hold)
      granted(true)
      return released
    })
    hold.done = done.then(
      () => undefined,
      () => {
        // Stolen (AbortError) or refused: this tab no longer holds it.
        granted(false)
        if (this.holds.get(client) === hold) {
          this.holds.delete(client)
          this.onLost(client)
        }
      },
    )
  }
}

/**
 * Liveness without Web Locks: every held client id has a record in the cache
 * rewritten every heartbeat; one not rewritten for `staleAfter` ms is free,
 * and taking it is a compare-and-set in one IndexedDB transaction (so two tabs
 * never both take it). Weaker than locks: a tab whose timers are throttled for
 * longer than `staleAfter` looks dead, its outbox is taken over, and until its
 * next beat reclaims it both may send the same writes — which the server's
 * deduplication by (client id, op id) makes harmless.
 *
 * @internal
 */
export class HeartbeatLiveness implements Liveness {
  private readonly held = new Set<string>()
  private beats = 0

  /**
   * @param cache - Where liveness records are kept.
   * @param self - This tab's own client id (the holder written in records).
   * @param now - The clock.
   * @param staleAfter - How old a record may be before its client counts as gone, in ms.
   */
  constructor(
    private readonly cache: SyncCache,
    private readonly self: string,
    private readonly now: () => number,
    private readonly staleAfter: number,
  ) {}

  async hold(client: string): Promise<void> {
    this.held.add(client)
    await this.cache.claimClient(client, this.self, this.now(), { kind: 'force' })
  }

  async tryTake(client: string): Promise<boolean> {
    const rule = { kind: 'ifStale', staleAfter: this.staleAfter } as const
    if (!(await this.cache.claimClient(client, this.self, this.now(), rule))) return false
    this.held.add(client)
    return true
  }

  async release(client: string): Promise<void> {
    if (!this.held.delete(client)) return
    await this.cache.releaseClient(client, this.self)
  }

  readonly beat = async (): Promise<string[]> => {
    const lost: string[] = []
    const now = this.now()
    for (const client of [...this.held]) {
      // Released while an earlier beat was written: do not bring it back.
      if (!this.held.has(client)) continue
      const rule = { kind: client === this.self ? 'force' : 'renew' } as const
      if (await this.cache.claimClient(client, this.self, now, rule)) continue
      // Its owner came back (it was only throttled) and beats for itself again.
      this.held.delete(client)
      lost.push(client)
    }
    // Now and then, forget records of clients long gone that left nothing to send.
    if (++this.beats % 20 === 0) await this.cache.pruneClients(now - 20 * this.staleAfter)
    return lost
  }
}
