import {
  type CacheNotice,
  indexedDbCache,
  type LockManagerLike,
  memoryCache,
  type OutboxEntry,
  type SyncCache,
} from '@lensync/sync-client'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, describe, expect, it } from 'vitest'
// The coordinator is internal to the package (the syncs drive it): no public name to import it by.
import {
  type TabCoordinator,
  type TabCoordinatorOptions,
  tabCoordinator,
} from '../../src/cache/TabCoordinator.ts'
import { ManualClock, patch, randomTurns, seeded, settle, uniqueName } from './cacheHelpers.ts'
import { locksShim } from './locksShim.ts'

const caches: SyncCache[] = []
const coordinators: TabCoordinator[] = []
afterEach(async () => {
  await Promise.all(coordinators.splice(0).map(c => c.stop()))
  for (const c of caches.splice(0)) c.close()
})

/** One browser: an IndexedDB, Web Locks (or none), and a cache name its tabs share. */
function browser(locks: LockManagerLike | null, idb = new IDBFactory()) {
  const name = uniqueName('tabs')
  return {
    locks,
    /** A tab's cache object on the shared database. */
    tab(): SyncCache {
      const cache = indexedDbCache(name, { indexedDB: idb, locks })
      caches.push(cache)
      return cache
    },
  }
}

interface Takeover {
  by: string
  client: string
  entries: OutboxEntry[]
}

/** A coordinator recording its takeovers into `log`. */
function coordinate(
  cache: SyncCache,
  clientId: string,
  log: Takeover[],
  options: Partial<TabCoordinatorOptions> = {},
): TabCoordinator {
  const coordinator = tabCoordinator({
    cache,
    clientId,
    onTakeover: (client, entries) => log.push({ by: clientId, client, entries }),
    ...options,
  })
  coordinators.push(coordinator)
  return coordinator
}

/** Resolves with the first takeover logged (checked on every scan's end via the log's length). */
async function firstTakeover(log: Takeover[]): Promise<Takeover> {
  await expect.poll(() => log.length, { timeout: 5000, interval: 5 }).toBeGreaterThan(0)
  return log[0]!
}

describe('tab coordination with Web Locks', () => {
  it('lets the tabs see each other’s changes and hears when a client is gone', async () => {
    const shim = locksShim()
    const b = browser(shim)
    const tabA = b.tab()
    const tabB = b.tab()
    const seenByB: CacheNotice[] = []
    tabB.subscribe(n => seenByB.push(n))
    const a = coordinate(tabA, 'client-a', [])
    coordinate(tabB, 'client-b', [])
    await a.started
    await tabA.enqueue(patch('client-a', 1, 'p1', 'typed in A'))
    await a.stop()
    await expect.poll(() => seenByB.map(n => n.kind)).toEqual(['enqueued', 'client-gone'])
    expect(seenByB[0]).toEqual({ kind: 'enqueued', entry: patch('client-a', 1, 'p1', 'typed in A') })
  })

  it('holds its own client id: a live tab’s outbox is never taken over', async () => {
    const shim = locksShim()
    const b = browser(shim)
    const tabA = b.tab()
    const log: Takeover[] = []
    const a = coordinate(tabA, 'client-a', log)
    await a.started
    expect(shim.held()).toEqual([`lensync:${tabA.name}:client:client-a`])
    await tabA.enqueue(patch('client-a', 1, 'p1', 'mine'))
    const other = coordinate(b.tab(), 'client-b', log)
    await other.started
    for (let i = 0; i < 5; i++) await other.scan()
    expect(log).toEqual([])
  })

  it('hands a stopped tab’s unsent edits, in op order, to another tab at once', async () => {
    const shim = locksShim()
    const b = browser(shim)
    const tabA = b.tab()
    const log: Takeover[] = []
    const a = coordinate(tabA, 'client-a', log)
    coordinate(b.tab(), 'client-b', log)
    await a.started
    for (const op of [2, 1, 3]) await tabA.enqueue(patch('client-a', op, 'p1', `edit ${op}`))
    const stoppedAt = Date.now()
    await a.stop()
    const takeover = await firstTakeover(log)
    // The `client-gone` notice makes it immediate; the scan timer (1 s) would do it too.
    expect(Date.now() - stoppedAt).toBeLessThan(2000)
    expect(takeover).toEqual({
      by: 'client-b',
      client: 'client-a',
      entries: [1, 2, 3].map(op => patch('client-a', op, 'p1', `edit ${op}`)),
    })
  })

  it('takes over a crashed tab’s outbox on its scan timer, within 2 s', async () => {
    const shim = locksShim()
    const b = browser(shim)
    const tabA = b.tab()
    const frozen = new ManualClock() // the crashed tab's timers never fire again
    const a = coordinate(tabA, 'client-a', [], { timers: frozen, now: frozen.now })
    await a.started
    await tabA.enqueue(patch('client-a', 1, 'p1', 'unsent'))
    const clock = new ManualClock()
    const log: Takeover[] = []
    const survivor = coordinate(b.tab(), 'client-b', log, { timers: clock, now: clock.now })
    await survivor.started
    await settle()
    shim.crash(`lensync:${tabA.name}:client:client-a`)
    let elapsed = 0
    while (log.length === 0 && elapsed < 2000) {
      clock.advance(100)
      elapsed += 100
      await settle()
    }
    expect(log.map(t => t.client)).toEqual(['client-a'])
    expect(elapsed).toBeLessThanOrEqual(1000)
  })

  it('is taken over by the next tab to start when no other tab was open', async () => {
    const shim = locksShim()
    const b = browser(shim)
    const tabA = b.tab()
    const a = coordinate(tabA, 'client-a', [])
    await a.started
    await tabA.enqueue(patch('client-a', 1, 'p1', 'left behind'))
    await a.stop()
    tabA.close()
    const log: Takeover[] = []
    coordinate(b.tab(), 'client-next', log)
    expect((await firstTakeover(log)).entries).toEqual([patch('client-a', 1, 'p1', 'left behind')])
  })

  it('lets a taken-over client go once its outbox is sent, and everything on stop', async () => {
    const shim = locksShim()
    const b = browser(shim)
    const tabA = b.tab()
    const a = coordinate(tabA, 'client-a', [])
    await a.started
    await tabA.enqueue(patch('client-a', 1, 'p1', 'x'))
    await a.stop()
    const tabB = b.tab()
    const log: Takeover[] = []
    const clock = new ManualClock()
    const survivor = coordinate(tabB, 'client-b', log, { timers: clock, now: clock.now })
    await firstTakeover(log)
    expect([...survivor.adopted]).toEqual(['client-a'])
    expect(shim.held().sort()).toEqual([
      `lensync:${tabB.name}:client:client-a`,
      `lensync:${tabB.name}:client:client-b`,
    ])
    await tabB.ack('client-a', 1)
    await survivor.scan()
    expect([...survivor.adopted]).toEqual([])
    await expect.poll(() => shim.held()).toEqual([`lensync:${tabB.name}:client:client-b`])
    await survivor.stop()
    expect(survivor.state).toBe('stopped')
    expect(shim.held()).toEqual([])
    expect(clock.pending).toBe(0)
  })

  it('gives up a client taken over when another page steals its lock', async () => {
    const shim = locksShim()
    const b = browser(shim)
    const tabA = b.tab()
    const a = coordinate(tabA, 'client-a', [])
    await a.started
    await tabA.enqueue(patch('client-a', 1, 'p1', 'x'))
    await a.stop()
    const log: Takeover[] = []
    const lost: string[] = []
    const survivor = coordinate(b.tab(), 'client-b', log, { onLost: client => lost.push(client) })
    await firstTakeover(log)
    const stolen = shim.request(`lensync:${tabA.name}:client:client-a`, { steal: true }, () => 'stolen')
    expect(await stolen).toBe('stolen')
    await expect.poll(() => lost).toEqual(['client-a'])
    expect([...survivor.adopted]).toEqual([])
  })

  it('never lets two survivors take over the same orphan (100 seeded schedules)', async () => {
    for (let seed = 1; seed <= 100; seed++) {
      const random = seeded(seed)
      const shim = locksShim({ schedule: randomTurns(random) })
      const b = browser(shim)
      const orphanTab = b.tab()
      await orphanTab.enqueue(patch('orphan', 1, 'p1', 'x'))
      await orphanTab.enqueue(patch('orphan', 2, 'p1', 'y'))
      const log: Takeover[] = []
      const clock = new ManualClock()
      const survivors = ['client-b', 'client-c', 'client-d'].map(id =>
        coordinate(b.tab(), id, log, { timers: clock, now: clock.now }),
      )
      await Promise.all(survivors.map(s => s.started))
      const delay = randomTurns(random, 6)
      await Promise.all(survivors.flatMap(s => [delay().then(() => s.scan()), delay().then(() => s.scan())]))
      await settle(10)
      expect(
        log.map(t => t.client),
        `seed ${seed}`,
      ).toEqual(['orphan'])
      expect(log[0]!.entries.map(e => e.op)).toEqual([1, 2])
      await Promise.all(coordinators.splice(0).map(c => c.stop()))
      for (const c of caches.splice(0)) c.close()
    }
  })
})

describe('tab coordination without Web Locks (heartbeat fallback)', () => {
  it('takes over a stopped tab at once', async () => {
    const b = browser(null)
    const tabA = b.tab()
    const log: Takeover[] = []
    const a = coordinate(tabA, 'client-a', log)
    coordinate(b.tab(), 'client-b', log)
    await a.started
    await tabA.enqueue(patch('client-a', 1, 'p1', 'unsent'))
    await a.stop()
    expect(await firstTakeover(log)).toEqual({
      by: 'client-b',
      client: 'client-a',
      entries: [patch('client-a', 1, 'p1', 'unsent')],
    })
  })

  it('takes over a crashed tab once its heartbeat is stale, within 2 s', async () => {
    const b = browser(null)
    const clock = new ManualClock()
    const tabA = b.tab()
    // The crashed tab beat once, at the start, on the shared clock; then its timers stopped.
    const a = coordinate(tabA, 'client-a', [], { timers: new ManualClock(), now: clock.now })
    await a.started
    await tabA.enqueue(patch('client-a', 1, 'p1', 'unsent'))
    const log: Takeover[] = []
    const survivor = coordinate(b.tab(), 'client-b', log, { timers: clock, now: clock.now })
    await survivor.started
    let elapsed = 0
    while (log.length === 0 && elapsed < 3000) {
      clock.advance(100)
      elapsed += 100
      await settle()
    }
    expect(log.map(t => t.client)).toEqual(['client-a'])
    // Stale after 1.5 s without a beat, found by the next scan (every 0.5 s).
    expect(elapsed).toBeGreaterThan(1500)
    expect(elapsed).toBeLessThanOrEqual(2000)
  })

  it('gives a client back when its tab was only asleep and beats again', async () => {
    const b = browser(null)
    const clock = new ManualClock()
    const sleepy = new ManualClock()
    const tabA = b.tab()
    const a = coordinate(tabA, 'client-a', [], { timers: sleepy, now: clock.now })
    await a.started
    await tabA.enqueue(patch('client-a', 1, 'p1', 'unsent'))
    const log: Takeover[] = []
    const lost: string[] = []
    const survivor = coordinate(b.tab(), 'client-b', log, {
      timers: clock,
      now: clock.now,
      onLost: client => lost.push(client),
    })
    await survivor.started
    for (let i = 0; i < 30 && log.length === 0; i++) {
      clock.advance(100)
      await settle()
    }
    expect([...survivor.adopted]).toEqual(['client-a'])
    // A wakes up: its next beat claims its own id back, and B stops sending for it.
    sleepy.advance(500)
    await settle()
    clock.advance(500)
    await settle()
    expect(lost).toEqual(['client-a'])
    expect([...survivor.adopted]).toEqual([])
  })

  it('never lets two survivors take over the same orphan (50 seeded schedules)', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const random = seeded(seed)
      const b = browser(null)
      const orphanTab = b.tab()
      await orphanTab.enqueue(patch('orphan', 1, 'p1', 'x'))
      const log: Takeover[] = []
      let time = 0
      const now = () => time
      const survivors = ['client-b', 'client-c', 'client-d'].map(id =>
        coordinate(b.tab(), id, log, { timers: new ManualClock(), now }),
      )
      await Promise.all(survivors.map(s => s.started))
      await Promise.all(survivors.map(s => s.scan())) // first sighting of the orphan, with no heartbeat
      expect(log, `seed ${seed}`).toEqual([])
      time = 10_000
      const delay = randomTurns(random, 6)
      await Promise.all(survivors.flatMap(s => [delay().then(() => s.scan()), delay().then(() => s.scan())]))
      expect(
        log.map(t => t.client),
        `seed ${seed}`,
      ).toEqual(['orphan'])
      await Promise.all(coordinators.splice(0).map(c => c.stop()))
      for (const c of caches.splice(0)) c.close()
    }
  })

  it('works on a memory cache shared by several sockets of one page', async () => {
    const cache = memoryCache({ locks: null })
    const log: Takeover[] = []
    const a = coordinate(cache, 'socket-1', log)
    coordinate(cache, 'socket-2', log)
    await a.started
    await cache.enqueue(patch('socket-1', 1, 'p1', 'x'))
    await a.stop()
    expect((await firstTakeover(log)).by).toBe('socket-2')
  })
})

describe('tabCoordinator options', () => {
  it('refuses what it cannot use', () => {
    const cache = memoryCache({ locks: locksShim() })
    const onTakeover = () => {}
    expect(() => tabCoordinator({ cache, clientId: '', onTakeover })).toThrow(/clientId/)
    expect(() => tabCoordinator({ cache, clientId: 'a', onTakeover, scanInterval: 0 })).toThrow(
      /scanInterval/,
    )
  })
})
