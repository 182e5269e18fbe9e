import type { CollectionSnapMessage, EntitySnapMessage } from '@lensync/protocol'
import type { SyncServer, SyncServerOptions } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { enc, type RawClient, rawClient, STORAGE_KINDS, startServerOn } from './hubHelpers.ts'

let server: SyncServer | undefined
const clients: RawClient[] = []

async function connect(): Promise<RawClient> {
  const client = await rawClient((server as SyncServer).url)
  clients.push(client)
  return client
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map(c => c.close()))
  await server?.close()
  server = undefined
})

// Every test runs on local storage and on Redis (answers and broadcasts come
// back through the change feed there); the client sees no difference.
describe.each(STORAGE_KINDS)('on %s storage', kind => {
  const startServer = (options: SyncServerOptions = {}) => startServerOn(kind, options)

  describe('sync hub: writes', () => {
    it('acks the writer, sends change/gone to every other subscriber, and never echoes to the writer', async () => {
      server = await startServer()
      const [a, b, c] = [await connect(), await connect(), await connect()]
      a.send({ t: 'sub', r: 'person', id: '1' })
      b.send({ t: 'sub', r: 'person', id: '1' })
      c.send({ t: 'sub', r: 'person' })
      await Promise.all([a.next({ t: 'snap' }), b.next({ t: 'snap' }), c.next({ t: 'snap' })])

      a.send({ t: 'put', op: 1, r: 'person', id: '1', value: enc({ name: 'Ada', age: 36 }) })
      expect(await a.next({ t: 'ack' })).toEqual({ t: 'ack', op: 1, rev: 1 })
      const expected = { t: 'change', r: 'person', id: '1', rev: 1, value: enc({ name: 'Ada', age: 36 }) }
      expect(await b.next({ t: 'change' })).toEqual(expected)
      expect(await c.next({ t: 'change' })).toEqual(expected)

      a.send({ t: 'patch', op: 'p2', r: 'person', id: '1', set: [[['age'], enc(37)]], unset: [['name']] })
      expect(await a.next({ t: 'ack' })).toEqual({ t: 'ack', op: 'p2', rev: 2 })
      expect(await b.next({ t: 'change' })).toEqual({
        t: 'change',
        r: 'person',
        id: '1',
        rev: 2,
        set: [[['age'], enc(37)]],
        unset: [['name']],
      })

      a.send({ t: 'del', op: 3, r: 'person', id: '1' })
      expect(await a.next({ t: 'ack' })).toEqual({ t: 'ack', op: 3, rev: 3 })
      expect(await b.next({ t: 'gone' })).toEqual({ t: 'gone', r: 'person', id: '1', rev: 3 })
      expect(await c.next({ t: 'gone' })).toEqual({ t: 'gone', r: 'person', id: '1', rev: 3 })

      // Broadcasts and acks of one write go out in the same flush: no echo can still be on its way.
      expect(a.received.filter(m => m.t === 'change' || m.t === 'gone')).toEqual([])
      // A subscriber of both the entity and its collection gets each change once.
      const d = await connect()
      d.send([
        { t: 'sub', r: 'person' },
        { t: 'sub', r: 'person', id: '2' },
      ])
      await d.next({ t: 'snap', id: '2' } as never)
      a.send({ t: 'put', op: 4, r: 'person', id: '2', value: enc({ name: 'Bob' }) })
      await a.next({ t: 'ack', op: 4 } as never)
      await d.next({ t: 'change', id: '2' } as never)
      d.send({ t: 'sub', r: 'person', id: '2' })
      await d.next({ t: 'snap', id: '2', rev: 4 } as never)
      expect(d.received.filter(m => m.t === 'change')).toHaveLength(1)
    })

    it('merges concurrent patches of different fields so both survive', async () => {
      server = await startServer()
      const [a, b] = [await connect(), await connect()]
      a.send({
        t: 'put',
        op: 1,
        r: 'person',
        id: '1',
        value: enc({ name: 'Ada', age: 36, address: { city: 'L' } }),
      })
      await a.next({ t: 'ack' })
      // Sent before either waits: both are in flight at once.
      a.send({ t: 'patch', op: 2, r: 'person', id: '1', set: [[['name'], enc('Ada L.')]] })
      b.send({ t: 'patch', op: 1, r: 'person', id: '1', set: [[['address', 'zip'], enc(12345)]] })
      await Promise.all([a.next({ t: 'ack' }), b.next({ t: 'ack' })])

      const c = await connect()
      c.send({ t: 'sub', r: 'person', id: '1' })
      const snap = await c.next<EntitySnapMessage>({ t: 'snap' })
      expect(snap.rev).toBe(3)
      expect(snap.value).toEqual(enc({ name: 'Ada L.', age: 36, address: { city: 'L', zip: 12345 } }))
    })

    it('keeps Dates, Maps and undefined through a merge (superjson envelopes)', async () => {
      server = await startServer()
      const a = await connect()
      const value = { json: { at: '2024-01-02T03:04:05.000Z', n: 1 }, meta: { values: { at: ['Date'] } } }
      a.send({ t: 'put', op: 1, r: 'event', id: 'e', value })
      await a.next({ t: 'ack' })
      a.send({ t: 'patch', op: 2, r: 'event', id: 'e', set: [[['n'], enc(2)]] })
      await a.next({ t: 'ack', op: 2 } as never)
      a.send({ t: 'sub', r: 'event', id: 'e' })
      const snap = await a.next<EntitySnapMessage>({ t: 'snap' })
      expect(snap.value).toEqual({
        json: { at: '2024-01-02T03:04:05.000Z', n: 2 },
        meta: { values: { at: ['Date'] }, v: 1 },
      })
    })

    it('applies a create-only put only when the entity is absent or deleted', async () => {
      server = await startServer()
      const [a, b] = [await connect(), await connect()]
      a.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ v: 'first' }), create: true })
      expect(await a.next({ t: 'ack' })).toEqual({ t: 'ack', op: 1, rev: 1 })

      b.send({ t: 'put', op: 7, r: 'doc', id: 'x', value: enc({ v: 'late offer' }), create: true })
      expect(await b.next()).toEqual({ t: 'snap', r: 'doc', id: 'x', rev: 1, value: enc({ v: 'first' }) })
      expect(await b.next()).toEqual({ t: 'ack', op: 7, rev: 1, applied: false })

      a.send({ t: 'del', op: 2, r: 'doc', id: 'x' })
      await a.next({ t: 'ack', op: 2 } as never)
      b.send({ t: 'put', op: 8, r: 'doc', id: 'x', value: enc({ v: 'again' }), create: true })
      expect(await b.next({ t: 'ack' })).toEqual({ t: 'ack', op: 8, rev: 3 })
    })

    it('answers in order within one batch: an offer right after a put of the same entity sees it', async () => {
      server = await startServer()
      const a = await connect()
      a.send([
        { t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ v: 1 }) },
        { t: 'put', op: 2, r: 'doc', id: 'x', value: enc({ v: 2 }), create: true },
        { t: 'patch', op: 3, r: 'doc', id: 'x', set: [[['w'], enc(true)]] },
      ])
      expect(await a.next({ t: 'ack', op: 1 } as never)).toEqual({ t: 'ack', op: 1, rev: 1 })
      expect(await a.next({ t: 'snap' })).toMatchObject({ rev: 1, value: enc({ v: 1 }) })
      expect(await a.next({ t: 'ack', op: 2 } as never)).toEqual({ t: 'ack', op: 2, rev: 1, applied: false })
      expect(await a.next({ t: 'ack', op: 3 } as never)).toEqual({ t: 'ack', op: 3, rev: 2 })
    })

    it('rejects a patch of a missing entity with NOT_FOUND and acks a delete of a missing one', async () => {
      server = await startServer()
      const a = await connect()
      a.send({ t: 'patch', op: 1, r: 'doc', id: 'nope', set: [[['a'], enc(1)]] })
      expect(await a.next()).toMatchObject({ t: 'reject', op: 1, code: 'NOT_FOUND' })
      a.send({ t: 'del', op: 2, r: 'doc', id: 'nope' })
      expect(await a.next()).toEqual({ t: 'ack', op: 2, rev: 0 })
    })

    it('answers an entity sub for a missing entity with rev 0 and value null', async () => {
      server = await startServer()
      const a = await connect()
      a.send({ t: 'sub', r: 'person', id: 'ghost' })
      expect(await a.next()).toEqual({ t: 'snap', r: 'person', id: 'ghost', rev: 0, value: null })
    })

    it('sends everything of one tick as one frame: a batch of writes gets one array of acks', async () => {
      server = await startServer()
      const a = await connect()
      a.send([1, 2, 3].map(n => ({ t: 'put', op: n, r: 'doc', id: `d${n}`, value: enc({ n }) })))
      await a.next({ t: 'ack', op: 3 } as never)
      // Storage that answers asynchronously (Redis) commits what was decided
      // by the time of the commit; one frame is promised for synchronous storage.
      if (kind === 'memory') expect(a.frames).toHaveLength(1)
      expect(a.frames.flatMap(f => [JSON.parse(f)].flat())).toEqual([
        { t: 'ack', op: 1, rev: 1 },
        { t: 'ack', op: 2, rev: 2 },
        { t: 'ack', op: 3, rev: 3 },
      ])
    })

    it('answers hello with welcome carrying the node id', async () => {
      server = await startServer({ node: 'node-a' })
      const a = await connect()
      a.send({ t: 'hello', v: 1, client: 'c1' })
      expect(await a.next()).toEqual({ t: 'welcome', v: 1, client: 'c1', node: 'node-a' })
    })

    it('closes with 1002 on an unsupported protocol version', async () => {
      server = await startServer()
      const a = await connect()
      a.send({ t: 'hello', v: 99, client: 'c1' })
      expect(await a.closed).toBe(1002)
    })
  })

  describe('sync hub: collections', () => {
    async function seed(a: RawClient, count: number) {
      a.send(
        Array.from({ length: count }, (_, i) => ({
          t: 'put',
          op: i,
          r: 'item',
          id: `i${i}`,
          value: enc({ n: i }),
        })),
      )
      await a.next({ t: 'ack', op: count - 1 } as never)
    }

    it('snapshots a collection in creation order, and with since only what changed after it', async () => {
      server = await startServer()
      const a = await connect()
      await seed(a, 4)
      a.send({ t: 'sub', r: 'item' })
      const full = await a.next<CollectionSnapMessage>({ t: 'snap' })
      expect(full).toEqual({
        t: 'snap',
        r: 'item',
        rev: 4,
        items: [0, 1, 2, 3].map(n => ({ id: `i${n}`, rev: n + 1, value: enc({ n }) })),
        gone: [],
      })

      a.send([
        { t: 'del', op: 'd', r: 'item', id: 'i1' },
        { t: 'patch', op: 'p', r: 'item', id: 'i3', set: [[['n'], enc(33)]] },
      ])
      await a.next({ t: 'ack', op: 'p' } as never)
      const b = await connect()
      b.send({ t: 'sub', r: 'item', since: 4 })
      expect(await b.next()).toEqual({
        t: 'snap',
        r: 'item',
        rev: 6,
        items: [{ id: 'i3', rev: 6, value: enc({ n: 33 }) }],
        gone: ['i1'],
      })
      // Without since, the deleted entity is simply absent.
      b.send({ t: 'sub', r: 'item' })
      const again = await b.next<CollectionSnapMessage>({ t: 'snap' })
      expect(again.items.map(i => i.id)).toEqual(['i0', 'i2', 'i3'])
      expect(again.gone).toEqual([])
    })

    it('pages a snapshot with snapshotPageSize, more: true on all but the last page, one page per frame', async () => {
      server = await startServer({ snapshotPageSize: 2 })
      const a = await connect()
      await seed(a, 5)
      const framesBefore = a.frames.length
      a.send({ t: 'sub', r: 'item' })
      const pages = [
        await a.next<CollectionSnapMessage>({ t: 'snap' }),
        await a.next<CollectionSnapMessage>({ t: 'snap' }),
        await a.next<CollectionSnapMessage>({ t: 'snap' }),
      ]
      expect(pages.map(p => p.items.map(i => i.id))).toEqual([['i0', 'i1'], ['i2', 'i3'], ['i4']])
      expect(pages.map(p => p.more)).toEqual([true, true, undefined])
      expect(pages.every(p => p.rev === 5)).toBe(true)
      expect(a.frames.length - framesBefore).toBe(3)
    })

    it('delivers writes made after the snapshot to a collection subscriber', async () => {
      server = await startServer()
      const [a, b] = [await connect(), await connect()]
      b.send({ t: 'sub', r: 'item' })
      expect(await b.next()).toEqual({ t: 'snap', r: 'item', rev: 0, items: [], gone: [] })
      await seed(a, 2)
      expect(await b.next({ t: 'change' })).toMatchObject({ id: 'i0', rev: 1 })
      expect(await b.next({ t: 'change' })).toMatchObject({ id: 'i1', rev: 2 })
      b.send({ t: 'unsub', r: 'item' })
      b.send({ t: 'sub', r: 'other', id: 'x' })
      await b.next({ t: 'snap' })
      a.send({ t: 'put', op: 'z', r: 'item', id: 'i0', value: enc({}) })
      await a.next({ t: 'ack', op: 'z' } as never)
      a.send({ t: 'put', op: 'y', r: 'other', id: 'x', value: enc({}) })
      await b.next({ t: 'change', r: 'other' } as never)
      expect(b.received.filter(m => m.t === 'change' && m.r === 'item')).toHaveLength(2)
    })
  })
})
