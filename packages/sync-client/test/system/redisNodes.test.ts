import { effect, type Store, storeOf } from '@lensync/store'
import { resource, type Sync, syncList, syncWith, websocket } from '@lensync/sync-client'
import type { SyncServer } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { startServer } from '../../../sync-server/test/hubHelpers.ts'
import { ProtocolClient, type SentWrite } from '../../../sync-server/test/support/protocolClient.ts'
import { REDIS_URL, redisAdmin, redisPrefix } from '../../../sync-server/test/support/redis.ts'
import { replayAcknowledged } from '../../../sync-server/test/support/writeLog.ts'

// Several server nodes on one Redis serve the same entities: clients on
// different nodes sync with each other exactly as on one node.

type Person = { _id: string; name: string; age: number }
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
type Message = { id: string; text: string }
const MessageResource = resource<Message>({ name: 'message', id: m => m.id })

const servers: SyncServer[] = []
const syncs: Sync[] = []
const raws: ProtocolClient[] = []
afterEach(async () => {
  for (const sync of syncs.splice(0)) sync.stop()
  await Promise.all(raws.splice(0).map(c => c.close()))
  await Promise.all(servers.splice(0).map(s => s.close()))
})

/** `count` nodes sharing one fresh prefix. */
async function nodes(count: number): Promise<SyncServer[]> {
  const prefix = redisPrefix()
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startServer({ redis: { url: REDIS_URL, prefix }, node: `node-${i + 1}`, pingPeriod: 0 }),
    ),
  )
  servers.push(...started)
  return started
}

function socketTo(...urls: string[]) {
  return websocket(urls, { WebSocket: WebSocket as never, reconnect: { minDelay: 10, maxDelay: 100 } })
}

function person(url: string, initial: Person = { _id: 'p1', name: '', age: 0 }) {
  const store = storeOf<Person>(initial)
  const sync = syncWith(store, socketTo(url), PersonResource)
  syncs.push(sync)
  return { store, sync }
}

function chat(url: string) {
  const store = storeOf<Message[]>([])
  const sync = syncList(store, socketTo(url), MessageResource)
  syncs.push(sync)
  return { store, sync }
}

/** Resolves once `predicate` holds for the store's value (checked on every change). */
function until<T>(store: Store<T>, predicate: (value: T) => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(store.current)}`)),
      10_000,
    )
    const dispose = effect(() => {
      if (!predicate(store.data.value)) return
      clearTimeout(timer)
      queueMicrotask(() => dispose())
      resolve()
    })
  })
}

/** Resolves once the sync's status is `status`. */
function untilStatus(sync: Sync, status: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${status}`)), 10_000)
    const dispose = effect(() => {
      if (sync.status.value !== status) return
      clearTimeout(timer)
      queueMicrotask(() => dispose())
      resolve()
    })
  })
}

async function openRaw(url: string, name: string): Promise<ProtocolClient> {
  const client = await ProtocolClient.open(url, name)
  raws.push(client)
  return client
}

describe('several nodes on one Redis', () => {
  it('syncs a syncWith client on node 1 and one on node 2 both ways', async () => {
    const [one, two] = await nodes(2)
    const a = person(one?.url as string, { _id: 'p1', name: 'Ada', age: 36 })
    await a.sync.flush()
    const b = person(two?.url as string)
    await b.sync.flush()
    // The late joiner on the other node gets the real value, not its default.
    expect(b.store.current).toEqual({ _id: 'p1', name: 'Ada', age: 36 })

    a.store.update({ ...a.store.current, name: 'Grace' })
    await until(b.store, p => p.name === 'Grace', 'B (node 2) to see A’s name')
    b.store.update({ ...b.store.current, age: 85 })
    await until(a.store, p => p.age === 85, 'A (node 1) to see B’s age')
    await Promise.all([a.sync.flush(), b.sync.flush()])
    expect(a.store.current).toEqual({ _id: 'p1', name: 'Grace', age: 85 })
    expect(b.store.current).toEqual(a.store.current)
  })

  it('syncs syncList add, edit and remove between nodes, and a late joiner on either node sees the list', async () => {
    const [one, two] = await nodes(2)
    const a = chat(one?.url as string)
    const b = chat(two?.url as string)
    await Promise.all([a.sync.flush(), b.sync.flush()])

    a.store.update([...a.store.current, { id: 'm1', text: 'hello' }])
    await until(b.store, l => l.length === 1, 'B to get m1')
    b.store.update([...b.store.current, { id: 'm2', text: 'hi' }])
    await until(a.store, l => l.length === 2, 'A to get m2')
    a.store.update(a.store.current.map(m => (m.id === 'm2' ? { ...m, text: 'hi!' } : m)))
    await until(b.store, l => l.some(m => m.text === 'hi!'), 'B to get the edit')
    b.store.update(b.store.current.filter(m => m.id !== 'm1'))
    await until(a.store, l => l.length === 1, 'A to see m1 removed')
    await Promise.all([a.sync.flush(), b.sync.flush()])

    for (const url of [one?.url, two?.url] as string[]) {
      const late = chat(url)
      await late.sync.flush()
      expect(late.store.current).toEqual([{ id: 'm2', text: 'hi!' }])
    }
  })

  it('keeps concurrent edits of different fields made through different nodes', async () => {
    const [one, two] = await nodes(2)
    const a = person(one?.url as string, { _id: 'p1', name: 'Ada', age: 36 })
    await a.sync.flush()
    const b = person(two?.url as string)
    await b.sync.flush()
    for (let round = 0; round < 10; round++) {
      // Both edits leave in the same tick, before either node saw the other's.
      a.store.update({ ...a.store.current, name: `name ${round}` })
      b.store.update({ ...b.store.current, age: round })
      await Promise.all([a.sync.flush(), b.sync.flush()])
    }
    const expected = { _id: 'p1', name: 'name 9', age: 9 }
    await until(a.store, p => p.age === 9, 'A to get the last age')
    await until(b.store, p => p.name === 'name 9', 'B to get the last name')
    expect(a.store.current).toEqual(expected)
    expect(b.store.current).toEqual(expected)
    const late = person(one?.url as string)
    await late.sync.flush()
    expect(late.store.current).toEqual(expected)
  })

  it('converges everywhere when clients on three nodes race edits of one field', async () => {
    const servers3 = await nodes(3)
    const clients = servers3.map(s => person(s.url, { _id: 'p1', name: 'start', age: 0 }))
    await Promise.all(clients.map(c => c.sync.flush()))
    for (let i = 0; i < 20; i++) {
      clients.forEach((c, n) => {
        c.store.update({ ...c.store.current, name: `c${n}-e${i}` })
      })
      // One edit per client per step, with the previous ones still in flight.
      await new Promise(resolve => setImmediate(resolve))
    }
    await Promise.all(clients.map(c => c.sync.flush()))
    const reader = await openRaw(servers3[0]?.url as string, 'reader')
    await reader.subscribe('person', 'p1')
    const final = (reader.view.get('person/p1') as Person).name
    expect(final).toMatch(/^c[0-2]-e19$/)
    for (const c of clients) await until(c.store, p => p.name === final, 'every client to converge')
  })

  it('gives every connection one entity’s acks and changes in revision order, each once, however nodes interleave', async () => {
    const [one, two] = await nodes(2)
    const seed = await openRaw(one?.url as string, 'seed')
    await seed.write({ t: 'put', r: 'doc', id: 'x', value: { json: { a: 0, b: 0 } } })
    const writers = [await openRaw(one?.url as string, 'w1'), await openRaw(two?.url as string, 'w2')]
    const revs = new Map<string, number[]>()
    for (const writer of writers) {
      const seen: number[] = []
      revs.set(writer.name, seen)
      writer.ws.on('message', data => {
        for (const m of [JSON.parse(String(data))].flat())
          if ((m.t === 'ack' || m.t === 'change') && (m.t === 'ack' || m.id === 'x')) seen.push(m.rev)
      })
      await writer.subscribe('doc', 'x')
    }
    const field = ['a', 'b']
    const writes: Promise<SentWrite>[] = []
    for (let i = 1; i <= 150; i++)
      writers.forEach((writer, n) => {
        writes.push(
          writer.write({ t: 'patch', r: 'doc', id: 'x', set: [[[field[n] as string], { json: i }]] }),
        )
      })
    await Promise.all(writes)
    const expected = replayAcknowledged([...seed.writes, ...writers.flatMap(w => w.writes)], 'doc')
    const finalRev = expected.get('x')?.rev as number
    expect(finalRev).toBe(301)
    for (const writer of writers) {
      // Wait for the other node's last change too.
      await expect.poll(() => revs.get(writer.name)?.at(-1), { timeout: 10_000 }).toBe(finalRev)
      const seen = revs.get(writer.name) as number[]
      // Strictly increasing and gapless: every write of the entity reached
      // every connection once — as its ack or as a change — in revision order.
      expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => i + 2))
      expect(writer.view.get('doc/x')).toEqual({ a: 150, b: 150 })
    }
    expect(expected.get('x')?.value).toEqual({ a: 150, b: 150 })
  })

  it('catches a client that moved to another node up with what it missed (since)', async () => {
    const prefix = redisPrefix()
    const start = (port = 0) =>
      startServer({ redis: { url: REDIS_URL, prefix }, port, pingPeriod: 0 }).then(s => {
        servers.push(s)
        return s
      })
    const [one, two, three] = await Promise.all([start(), start(), start()])
    const writer = await openRaw(two.url, 'writer')
    for (let i = 0; i < 30; i++)
      await writer.write({
        t: 'put',
        r: 'message',
        id: `m${i}`,
        value: { json: { id: `m${i}`, text: `#${i}` } },
      })
    // The client knows nodes 1 and 3; node 3 is down for now.
    await three.close()
    const store = storeOf<Message[]>([])
    const sync = syncList(store, socketTo(one.url, three.url), MessageResource)
    syncs.push(sync)
    await sync.flush()
    expect(store.current).toHaveLength(30)

    // Node 1 goes away: the client is offline (node 3 is still down) while
    // node 2 takes writes it does not see.
    await one.close()
    await untilStatus(sync, 'offline')
    for (let i = 0; i < 10; i++)
      await writer.write({
        t: 'patch',
        r: 'message',
        id: `m${i}`,
        set: [[['text'], { json: `changed ${i}` }]],
      })
    await writer.write({ t: 'del', r: 'message', id: 'm29' })
    store.update([...store.current, { id: 'offline', text: 'written while away' }])

    // Node 3 comes up: the client moves there by itself and catches up.
    await start(three.port)
    await sync.flush()
    expect(sync.status.peek()).toBe('synced')
    const expected = [
      ...Array.from({ length: 10 }, (_, i) => ({ id: `m${i}`, text: `changed ${i}` })),
      ...Array.from({ length: 19 }, (_, i) => ({ id: `m${i + 10}`, text: `#${i + 10}` })),
      { id: 'offline', text: 'written while away' },
    ]
    expect(store.current).toEqual(expected)
    const late = chat(two.url)
    await late.sync.flush()
    expect(late.store.current).toEqual(expected)
  })

  it('reconnects the clients of a node whose feed missed changes, and they converge', async () => {
    const prefix = redisPrefix()
    const [one, two] = await Promise.all(
      [1, 2].map(n => startServer({ redis: { url: REDIS_URL, prefix }, node: `node-${n}`, pingPeriod: 0 })),
    )
    servers.push(one as SyncServer, two as SyncServer)
    const a = person(one?.url as string, { _id: 'p1', name: 'Ada', age: 36 })
    await a.sync.flush()
    const b = person(two?.url as string)
    await b.sync.flush()
    const watcher = await openRaw(two?.url as string, 'watcher')
    // An entry every node misses, as if the stream had been trimmed past them.
    await redisAdmin().incr(`{${prefix}}:seq`)
    a.store.update({ ...a.store.current, name: 'after the gap' })
    // Node 2 cannot know what it missed: its connections start over.
    expect(await watcher.closed).toBe(1012)
    await until(b.store, p => p.name === 'after the gap', 'B to get the edit')
    b.store.update({ ...b.store.current, age: 99 })
    await until(a.store, p => p.age === 99, 'A to get the edit')
    await Promise.all([a.sync.flush(), b.sync.flush()])
    expect(a.store.current).toEqual({ _id: 'p1', name: 'after the gap', age: 99 })
    expect(b.store.current).toEqual(a.store.current)
  })
})
