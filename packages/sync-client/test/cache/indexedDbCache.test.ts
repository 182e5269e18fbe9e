import { type CacheNotice, indexedDbCache, type SyncCache, SyncError } from '@lensync/sync-client'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, describe, expect, it } from 'vitest'
import { entity, failingFactory, instrumented, patch, uniqueName } from './cacheHelpers.ts'

const open: SyncCache[] = []
function cache(
  name: string,
  indexedDB: IDBFactory | undefined,
  options: { channel?: boolean } = {},
): SyncCache {
  const c = indexedDbCache(name, {
    ...(indexedDB === undefined ? {} : { indexedDB }),
    locks: null,
    ...(options.channel === false ? { BroadcastChannel: null } : {}),
  })
  open.push(c)
  return c
}
afterEach(() => {
  for (const c of open.splice(0)) c.close()
})

describe('indexedDbCache across a reload', () => {
  it('keeps values, revisions, collections and the outbox in op order when reopened', async () => {
    const idb = new IDBFactory()
    const name = uniqueName('reload')
    const before = cache(name, idb)
    expect(await before.opened).toEqual({ kind: 'indexeddb' })
    const a = entity('a', 4, { name: 'Ada', born: '1815' })
    await before.writeConfirmed([a, entity('b', 5, { name: 'Bea' })], {
      resource: 'person',
      version: 1,
      rev: 5,
      ids: { replace: ['a', 'b'] },
    })
    for (const op of [3, 1, 2]) await before.enqueue(patch('tab-1', op, 'a', `edit ${op}`))
    await before.enqueue(patch('tab-0', 7, 'b', 'other tab'))
    before.close()

    const after = cache(name, idb)
    expect(await after.opened).toEqual({ kind: 'indexeddb' })
    expect(await after.readEntity('person', 'a', 1)).toEqual(a)
    expect(await after.readCollection('person', 1)).toMatchObject({ rev: 5, ids: ['a', 'b'] })
    expect(await after.readOutbox()).toEqual([
      patch('tab-0', 7, 'b', 'other tab'),
      patch('tab-1', 1, 'a', 'edit 1'),
      patch('tab-1', 2, 'a', 'edit 2'),
      patch('tab-1', 3, 'a', 'edit 3'),
    ])
  })

  it('queues an edit in the task that makes it: a page closed right after still has it', async () => {
    const real = new IDBFactory()
    const idb = instrumented(real)
    const name = uniqueName('same-task')
    const page = cache(name, idb.factory)
    await page.opened
    const durable = page.enqueue(patch('tab-1', 1, 'a', 'typed just before unload'))
    // The request was issued before enqueue() returned.
    expect(idb.puts).toEqual(['outbox'])
    page.close()
    expect(await durable).toEqual({ ok: true })

    const next = cache(name, real)
    expect(await next.readOutbox()).toEqual([patch('tab-1', 1, 'a', 'typed just before unload')])
  })

  it('drops values of another resource version on read, and keeps their unsent edits', async () => {
    const idb = new IDBFactory()
    const name = uniqueName('version')
    const v1 = cache(name, idb)
    await v1.writeConfirmed([entity('a', 4, { name: 'Ada' }, { version: 1 })])
    await v1.enqueue(patch('tab-1', 1, 'a', 'offline edit', { version: 1 }))
    v1.close()

    const v2 = cache(name, idb)
    expect(await v2.readEntity('person', 'a', 2)).toBeUndefined()
    expect(await v2.readOutbox()).toEqual([patch('tab-1', 1, 'a', 'offline edit', { version: 1 })])
    v2.close()
    const again = cache(name, idb)
    expect(await again.readEntity('person', 'a', 1)).toBeUndefined()
  })
})

describe('indexedDbCache when IndexedDB fails', () => {
  it.each([
    ['throws on open', failingFactory('throw')],
    ['fails to open', failingFactory('error')],
    ['is blocked', failingFactory('blocked')],
  ])('reports CACHE_UNAVAILABLE when IndexedDB %s, and works in memory', async (_how, factory) => {
    const c = cache(uniqueName('unavailable'), factory)
    const state = await c.opened
    expect(state.kind).toBe('memory')
    const error = state.kind === 'memory' ? state.error : undefined
    expect(error).toBeInstanceOf(SyncError)
    expect(error?.code).toBe('CACHE_UNAVAILABLE')
    expect(error?.message).toMatch(/goes on in memory/)
    expect(await c.enqueue(patch('tab-1', 1, 'a', 'kept in memory'))).toEqual({ ok: true })
    expect(await c.readOutbox()).toEqual([patch('tab-1', 1, 'a', 'kept in memory')])
    expect(await c.clear()).toBe(1)
  })

  it('says what to do when there is no IndexedDB at all', async () => {
    const c = cache(uniqueName('none'), undefined)
    const state = await c.opened
    expect(state.kind === 'memory' && state.error?.code).toBe('CACHE_UNAVAILABLE')
    expect(state.kind === 'memory' && state.error?.message).toMatch(
      /fake-indexeddb in Node\) or use memoryCache\(\)/,
    )
  })

  it('reports CACHE_UNAVAILABLE for a database of that name that is not a cache', async () => {
    const idb = new IDBFactory()
    const name = uniqueName('foreign')
    await new Promise<void>((resolve, reject) => {
      const request = idb.open(`lensync:${name}`, 1)
      request.onsuccess = () => {
        request.result.close()
        resolve()
      }
      request.onerror = () => reject(request.error)
    })
    const state = await cache(name, idb).opened
    expect(state.kind === 'memory' && state.error?.message).toMatch(/not a lensync cache/)
  })

  it('reports CACHE_FULL when the quota refuses a write, tells other listeners anyway, and recovers', async () => {
    const idb = instrumented(new IDBFactory())
    const c = cache(uniqueName('full'), idb.factory)
    await c.opened
    const notices: CacheNotice[] = []
    c.subscribe(n => notices.push(n))
    idb.full = true
    const result = await c.enqueue(patch('tab-1', 1, 'a', 'too much'))
    expect(result.ok).toBe(false)
    const error = result.ok ? undefined : result.error
    expect(error?.code).toBe('CACHE_FULL')
    expect((error?.cause as DOMException | undefined)?.name).toBe('QuotaExceededError')
    const confirmed = await c.writeConfirmed([entity('a', 1, { name: 'A' })])
    expect(!confirmed.ok && confirmed.error.code).toBe('CACHE_FULL')
    await Promise.resolve()
    expect(notices.map(n => n.kind)).toEqual(['enqueued', 'confirmed'])

    idb.full = false
    expect(await c.enqueue(patch('tab-1', 2, 'a', 'fits'))).toEqual({ ok: true })
    expect(await c.readOutbox()).toEqual([patch('tab-1', 2, 'a', 'fits')])
    expect(c.state).toEqual({ kind: 'indexeddb' })
  })

  it('waits for the open before a write issued while opening, in call order', async () => {
    const idb = new IDBFactory()
    const c = cache(uniqueName('opening'), idb)
    expect(c.state).toEqual({ kind: 'opening' })
    const writes = [c.enqueue(patch('tab-1', 2, 'a', 'second')), c.enqueue(patch('tab-1', 2, 'a', 'last'))]
    expect(await Promise.all(writes)).toEqual([{ ok: true }, { ok: true }])
    expect(await c.readOutbox()).toEqual([patch('tab-1', 2, 'a', 'last')])
  })
})

describe('indexedDbCache in several tabs', () => {
  it('tells the other tabs on the same name of every change, with its data', async () => {
    const idb = new IDBFactory()
    const name = uniqueName('tabs')
    const tabA = cache(name, idb)
    const tabB = cache(name, idb)
    const elsewhere = cache(uniqueName('tabs'), idb)
    const seenByB: CacheNotice[] = []
    const seenElsewhere: CacheNotice[] = []
    tabB.subscribe(n => seenByB.push(n))
    elsewhere.subscribe(n => seenElsewhere.push(n))
    await tabA.enqueue(patch('tab-a', 1, 'a', 'typed in A'))
    await tabA.ack('tab-a', 1, entity('a', 2, { name: 'typed in A' }))
    await expect.poll(() => seenByB.length).toBe(3)
    expect(seenByB).toEqual([
      { kind: 'enqueued', entry: patch('tab-a', 1, 'a', 'typed in A') },
      { kind: 'acked', client: 'tab-a', op: 1, resource: 'person', id: 'a' },
      { kind: 'confirmed', entities: [entity('a', 2, { name: 'typed in A' })] },
    ])
    // And B reads what A wrote.
    expect(await tabB.readEntity('person', 'a', 1)).toEqual(entity('a', 2, { name: 'typed in A' }))
    expect(seenElsewhere).toEqual([])
  })

  it('keeps notices in the cache object when there is no BroadcastChannel', async () => {
    const idb = new IDBFactory()
    const name = uniqueName('no-channel')
    const tabA = cache(name, idb, { channel: false })
    const tabB = cache(name, idb, { channel: false })
    const mine: CacheNotice[] = []
    const theirs: CacheNotice[] = []
    tabA.subscribe(n => mine.push(n))
    tabB.subscribe(n => theirs.push(n))
    await tabA.enqueue(patch('tab-a', 1, 'a', 'x'))
    await expect.poll(() => mine.length).toBe(1)
    // A later notice of A's own reached A: B would have had the first by now.
    await tabA.enqueue(patch('tab-a', 2, 'a', 'y'))
    await expect.poll(() => mine.length).toBe(2)
    expect(theirs).toEqual([])
  })

  it('refuses a cache without a name', () => {
    expect(() => indexedDbCache('')).toThrow(/`name` must be a non-empty string/)
  })
})
