import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { lenses, lensOf, storeOf } from '@lensync/store'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { alice, type Person } from './fixtures.ts'

// A full collection on demand (the flag must be set before the context is made).
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

type Db = { byId: Record<string, Person> }
const L = lenses<Db>()

/** Collects until `done()`; finalizers only run between turns of the event loop, hence the polling. */
async function collectUntil(done: () => boolean): Promise<void> {
  await vi.waitFor(
    () => {
      gc()
      expect(done()).toBe(true)
    },
    { timeout: 10_000, interval: 20 },
  )
}

// Module-level: a registry that is itself collected never calls back.
const sentinels = new FinalizationRegistry<{ collected: boolean }>(flag => {
  flag.collected = true
})

/** Makes a path nobody keeps, and reports once it has been collected: proof that a full GC ran. */
function sentinel(): () => boolean {
  const flag = { collected: false }
  sentinels.register(L.byId[`sentinel-${Math.random()}`]!, flag)
  // A path keeps the child it handed out last; move that on, so the sentinel is free.
  void L.byId['(after the sentinel)']
  return () => flag.collected
}

describe('the lenses<T>() path cache', () => {
  it('forgets paths nobody holds any more (paths into record keys that came and went)', async () => {
    let collected = 0
    const registry = new FinalizationRegistry(() => {
      collected++
    })
    onTestFinished(() => void registry)
    const ids = 1_000
    ;(() => {
      for (let i = 0; i < ids; i++) {
        const entry = L.byId[`gone-${i}`]!
        registry.register(entry, undefined)
        registry.register(entry.address.street, undefined)
      }
      void L.byId['(after the loop)']
    })()
    await collectUntil(() => collected === 2 * ids)
  })

  it('keeps only the child a path handed out last, so a repeated L.a.b is quick', async () => {
    const flags = [{ collected: false }, { collected: false }]
    ;(() => {
      sentinels.register(L.byId.first!, flags[0]!)
      sentinels.register(L.byId.last!, flags[1]!)
    })()
    await collectUntil(() => flags[0]!.collected)
    expect(flags[1]!.collected).toBe(false)
    void L.byId['(moved on)']
    await collectUntil(() => flags[1]!.collected)
  })

  it('does not grow with the number of distinct paths made and dropped', async () => {
    // Held, as an app would hold it: its cache entries must go, not only the paths in them.
    const byId = L.byId
    const batch = (n: number) => {
      for (let i = 0; i < 50_000; i++) void byId[`b${n}-${i}`]!.name
    }
    // The first batch sets the high-water mark of the cache's tables; later ones must reuse it.
    batch(0)
    await collectUntil(sentinel())
    const before = process.memoryUsage().heapUsed
    for (let n = 1; n <= 3; n++) {
      batch(n)
      await collectUntil(sentinel())
    }
    // 150 000 more paths (each a proxy, a lens, its keys and id, a cache entry) would take
    // tens of MB if kept. Their finalizers run in batches, so wait for the heap to settle.
    await collectUntil(() => process.memoryUsage().heapUsed - before < 2 << 20)
    expect(L.byId).toBe(byId)
  })

  it('keeps the identity of a path while it, its lens, a sub-store of it or a deeper path is held', async () => {
    const person = storeOf<Db>({ byId: { c: alice } })
    const path = L.byId.a!.name
    const lens = lensOf(L.byId.b!.name)
    const sub = person.map(L.byId.c!.name)
    const deeper = L.byId.d!.address.street
    await collectUntil(sentinel())
    expect(L.byId.a!.name).toBe(path)
    expect(lensOf(L.byId.b!.name)).toBe(lens)
    expect(person.map(L.byId.c!.name)).toBe(sub)
    expect(L.byId.d!.address.street).toBe(deeper)
    expect(sub.current).toBe('Alice')
  })
})
