import { type CacheNotice, indexedDbCache, memoryCache, type SyncCache } from '@lensync/sync-client'
import { IDBFactory } from 'fake-indexeddb'
import { afterEach, describe, expect, it } from 'vitest'
import { entity, patch, uniqueName } from './cacheHelpers.ts'

// The same semantics in memory and in IndexedDB (fake-indexeddb): every
// operation of SyncCache, run on both.
const kinds: ReadonlyArray<readonly [string, () => SyncCache]> = [
  ['memoryCache', () => memoryCache({ locks: null })],
  [
    'indexedDbCache',
    () => indexedDbCache(uniqueName('contract'), { indexedDB: new IDBFactory(), locks: null }),
  ],
]

describe.each(kinds)('%s', (_kind, make) => {
  const open: SyncCache[] = []
  const cache = () => {
    const c = make()
    open.push(c)
    return c
  }
  afterEach(() => {
    for (const c of open.splice(0)) c.close()
  })

  it('opens, and reads nothing from an empty cache', async () => {
    const c = cache()
    expect((await c.opened).kind).not.toBe('opening')
    expect(c.state.kind).toBe((await c.opened).kind)
    expect(await c.readEntity('person', 'a', 1)).toBeUndefined()
    expect(await c.readCollection('person', 1)).toBeUndefined()
    expect(await c.readOutbox()).toEqual([])
    expect(await c.outboxClients()).toEqual([])
  })

  it('keeps the confirmed value of an entity with its revision and version, as a copy', async () => {
    const c = cache()
    const written = entity('a', 3, { name: 'Ada', tags: ['x'] })
    expect(await c.writeConfirmed([written])).toEqual({ ok: true })
    const read = await c.readEntity('person', 'a', 1)
    expect(read).toEqual(written)
    ;(read!.value!.json as { name: string }).name = 'changed by the caller'
    expect(await c.readEntity('person', 'a', 1)).toEqual(written)
  })

  it('keeps the higher revision when writes race, and a deleted entity as null', async () => {
    const c = cache()
    await c.writeConfirmed([entity('a', 5, { name: 'newer' })])
    await c.writeConfirmed([entity('a', 4, { name: 'older' })])
    expect((await c.readEntity('person', 'a', 1))?.value).toEqual({ json: { name: 'newer' } })
    await c.writeConfirmed([entity('a', 6, null)])
    expect(await c.readEntity('person', 'a', 1)).toEqual(entity('a', 6, null))
  })

  it('drops a value of another version on read', async () => {
    const c = cache()
    await c.writeConfirmed([entity('a', 9, { name: 'v1' }, { version: 1 })])
    expect(await c.readEntity('person', 'a', 2)).toBeUndefined()
    // Dropped, not hidden: the old version is gone too.
    expect(await c.readEntity('person', 'a', 1)).toBeUndefined()
    // A value of the new version replaces one of the old whatever its revision.
    await c.writeConfirmed([entity('b', 9, { name: 'v1' }, { version: 1 })])
    await c.writeConfirmed([entity('b', 2, { name: 'v2' }, { version: 2 })])
    expect((await c.readEntity('person', 'b', 2))?.value).toEqual({ json: { name: 'v2' } })
  })

  it('keeps a collection: its revision, its ids and their values', async () => {
    const c = cache()
    const a = entity('a', 1, { name: 'A' })
    const b = entity('b', 2, { name: 'B' })
    await c.writeConfirmed([a, b], { resource: 'person', version: 1, rev: 2, ids: { replace: ['a', 'b'] } })
    expect(await c.readCollection('person', 1)).toEqual({
      resource: 'person',
      version: 1,
      rev: 2,
      ids: ['a', 'b'],
      entities: [a, b],
    })
    const d = entity('d', 4, { name: 'D' })
    await c.writeConfirmed([d, entity('a', 3, null)], {
      resource: 'person',
      version: 1,
      rev: 4,
      ids: { add: ['d'], remove: ['a'] },
    })
    expect(await c.readCollection('person', 1)).toMatchObject({ rev: 4, ids: ['b', 'd'], entities: [b, d] })
    // An older update (another tab behind this one) does not move the collection back.
    await c.writeConfirmed([], { resource: 'person', version: 1, rev: 3, ids: { replace: ['a'] } })
    expect(await c.readCollection('person', 1)).toMatchObject({ rev: 4, ids: ['b', 'd'] })
  })

  it('drops a collection of another version with its values, and keeps its unsent edits', async () => {
    const c = cache()
    await c.writeConfirmed([entity('a', 1, { name: 'A' })], {
      resource: 'person',
      version: 1,
      rev: 1,
      ids: { replace: ['a'] },
    })
    await c.enqueue(patch('c1', 1, 'a', 'edited under v1'))
    expect(await c.readCollection('person', 2)).toBeUndefined()
    expect(await c.readCollection('person', 1)).toBeUndefined()
    expect(await c.readEntity('person', 'a', 1)).toBeUndefined()
    expect(await c.readOutbox()).toEqual([patch('c1', 1, 'a', 'edited under v1')])
  })

  it('keeps the outbox in op order per client, by client, by entity', async () => {
    const c = cache()
    const writes = [
      patch('c2', 10, 'a', 'x'),
      patch('c1', 2, 'b', 'y'),
      patch('c2', 9, 'b', 'z'),
      patch('c1', 1, 'a', 'w'),
      { client: 'c1', op: 3, resource: 'person', id: 'a', kind: 'del', version: 1 } as const,
      {
        client: 'c1',
        op: 4,
        resource: 'person',
        id: 'e',
        kind: 'create',
        value: { json: 1 },
        version: 1,
      } as const,
    ]
    for (const w of writes) expect(await c.enqueue(w)).toEqual({ ok: true })
    const order = (entries: { client: string; op: number }[]) => entries.map(e => `${e.client}:${e.op}`)
    expect(order(await c.readOutbox())).toEqual(['c1:1', 'c1:2', 'c1:3', 'c1:4', 'c2:9', 'c2:10'])
    expect(order(await c.readOutbox({ client: 'c2' }))).toEqual(['c2:9', 'c2:10'])
    expect(order(await c.readOutbox({ resource: 'person', id: 'a' }))).toEqual(['c1:1', 'c1:3', 'c2:10'])
    expect(await c.outboxClients()).toEqual(['c1', 'c2'])
    expect((await c.readOutbox({ client: 'c1' }))[3]).toEqual(writes[5])
  })

  it('replaces an entry queued again under the same op (coalescing an unsent write)', async () => {
    const c = cache()
    await c.enqueue(patch('c1', 1, 'a', 'An'))
    await c.enqueue(patch('c1', 1, 'a', 'Anna'))
    expect(await c.readOutbox()).toEqual([patch('c1', 1, 'a', 'Anna')])
  })

  it('acks: removes the write and records the confirmed value in one step', async () => {
    const c = cache()
    await c.enqueue(patch('c1', 1, 'a', 'Ada'))
    await c.enqueue(patch('c1', 2, 'a', 'Bea'))
    expect(await c.ack('c1', 1, entity('a', 7, { name: 'Ada' }))).toEqual({ ok: true })
    expect(await c.readOutbox()).toEqual([patch('c1', 2, 'a', 'Bea')])
    expect(await c.readEntity('person', 'a', 1)).toEqual(entity('a', 7, { name: 'Ada' }))
    expect(await c.ack('c1', 2)).toEqual({ ok: true })
    expect(await c.ack('c1', 99)).toEqual({ ok: true })
    expect(await c.readOutbox()).toEqual([])
  })

  it('refuses a malformed outbox entry at once', () => {
    const c = cache()
    expect(() => c.enqueue({ ...patch('c1', 1, 'a', 'x'), op: -1 })).toThrow(
      /`op` must be a non-negative integer/,
    )
    expect(() => c.enqueue({ ...patch('c1', 1, 'a', 'x'), client: '' })).toThrow(/client id/)
  })

  it('clear() drops everything and resolves to how many unsent writes were dropped', async () => {
    const c = cache()
    await c.writeConfirmed([entity('a', 1, { name: 'A' })], {
      resource: 'person',
      version: 1,
      rev: 1,
      ids: { replace: ['a'] },
    })
    await c.enqueue(patch('c1', 1, 'a', 'x'))
    await c.enqueue(patch('c2', 1, 'a', 'y'))
    expect(await c.clear()).toBe(2)
    expect(await c.readEntity('person', 'a', 1)).toBeUndefined()
    expect(await c.readCollection('person', 1)).toBeUndefined()
    expect(await c.readOutbox()).toEqual([])
    expect(await c.clear()).toBe(0)
  })

  it('tells its listeners of every change, until disposed', async () => {
    const c = cache()
    const notices: CacheNotice[] = []
    const dispose = c.subscribe(n => notices.push(n))
    await c.enqueue(patch('c1', 1, 'a', 'x'))
    await c.ack('c1', 1, entity('a', 2, { name: 'x' }))
    await c.writeConfirmed([entity('b', 3, { name: 'B' })], {
      resource: 'person',
      version: 1,
      rev: 3,
      ids: { add: ['b'] },
    })
    await c.clear()
    c.notify({ kind: 'client-gone', client: 'c9' })
    await Promise.resolve()
    expect(notices).toEqual([
      { kind: 'enqueued', entry: patch('c1', 1, 'a', 'x') },
      { kind: 'acked', client: 'c1', op: 1, resource: 'person', id: 'a' },
      { kind: 'confirmed', entities: [entity('a', 2, { name: 'x' })] },
      {
        kind: 'confirmed',
        entities: [entity('b', 3, { name: 'B' })],
        collection: { resource: 'person', version: 1, rev: 3 },
      },
      { kind: 'cleared', dropped: 0 },
      { kind: 'client-gone', client: 'c9' },
    ])
    dispose()
    await c.enqueue(patch('c1', 2, 'a', 'y'))
    await Promise.resolve()
    expect(notices).toHaveLength(6)
  })

  it('writes liveness records by rule: force, renew by the holder, claim when stale', async () => {
    const c = cache()
    expect(await c.claimClient('c1', 'c1', 1000, { kind: 'force' })).toBe(true)
    expect(await c.claimClient('c1', 'c2', 1500, { kind: 'renew' })).toBe(false)
    expect(await c.claimClient('c1', 'c2', 2000, { kind: 'ifStale', staleAfter: 1500 })).toBe(false)
    expect(await c.claimClient('c1', 'c2', 2600, { kind: 'ifStale', staleAfter: 1500 })).toBe(true)
    // Now c2 holds it: c3 cannot take it while c2 renews, c1 can force it back.
    expect(await c.claimClient('c1', 'c2', 2700, { kind: 'renew' })).toBe(true)
    expect(await c.claimClient('c1', 'c3', 2800, { kind: 'ifStale', staleAfter: 1500 })).toBe(false)
    expect(await c.claimClient('c1', 'c1', 2900, { kind: 'force' })).toBe(true)
    expect(await c.claimClient('c1', 'c2', 3000, { kind: 'renew' })).toBe(false)
  })

  it('claims a client never seen beating only once its first sighting is stale', async () => {
    const c = cache()
    expect(await c.claimClient('c1', 'c2', 1000, { kind: 'ifStale', staleAfter: 1500 })).toBe(false)
    expect(await c.claimClient('c1', 'c3', 2000, { kind: 'ifStale', staleAfter: 1500 })).toBe(false)
    expect(await c.claimClient('c1', 'c3', 2600, { kind: 'ifStale', staleAfter: 1500 })).toBe(true)
  })

  it('makes a released client claimable at once, and prunes records of clients gone with nothing to send', async () => {
    const c = cache()
    await c.claimClient('c1', 'c1', 1000, { kind: 'force' })
    await c.releaseClient('c1', 'someone else')
    expect(await c.claimClient('c1', 'c2', 1001, { kind: 'ifStale', staleAfter: 1500 })).toBe(false)
    await c.releaseClient('c1', 'c1')
    expect(await c.claimClient('c1', 'c2', 1002, { kind: 'ifStale', staleAfter: 1500 })).toBe(true)

    await c.claimClient('old-idle', 'old-idle', 10, { kind: 'force' })
    await c.claimClient('old-busy', 'old-busy', 10, { kind: 'force' })
    await c.enqueue(patch('old-busy', 1, 'a', 'x'))
    await c.pruneClients(500)
    // The idle one's record is gone (a claim sees it for the first time); the busy one is still stale.
    expect(await c.claimClient('old-idle', 'c2', 600, { kind: 'ifStale', staleAfter: 100 })).toBe(false)
    expect(await c.claimClient('old-busy', 'c2', 600, { kind: 'ifStale', staleAfter: 100 })).toBe(true)
  })
})
