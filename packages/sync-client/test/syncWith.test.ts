import { storeOf } from '@lensync/store'
import { defaultSerializer, resource, syncWith } from '@lensync/sync-client'
import { createSyncServer, memoryStorage } from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import {
  countingWebSocket,
  envelopes,
  quietLogger,
  syncFixtures,
  tempDir,
  testSocket,
  until,
} from './helpers.ts'

type Person = { _id: string; name: string; age: number; born?: Date; tags?: Set<string> }
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
const person = (name = 'Ada', age = 36): Person => ({ _id: 'p1', name, age })

const { cleanups, track, server } = syncFixtures()
/** Lets the current tick end, so the next edit leaves in a write of its own. */
const nextTick = () => new Promise<void>(resolve => setImmediate(resolve))
function client(url: string, initial: Person = person(), WebSocketImpl?: Parameters<typeof testSocket>[1]) {
  const store = storeOf<Person>(initial)
  const sync = track(syncWith(store, testSocket(url, WebSocketImpl), PersonResource))
  return { store, sync }
}

describe('syncWith', () => {
  it("syncs both ways: A's edit appears at B and B's at A", async () => {
    const { url } = await server()
    const a = client(url)
    await a.sync.flush()
    const b = client(url, person('default', 0))
    await b.sync.flush()
    expect(b.store.current).toEqual(person())

    a.store.update({ ...a.store.current, name: 'Grace' })
    await until(b.store.data, p => p.name === 'Grace', 'B to see A')
    b.store.update({ ...b.store.current, age: 85 })
    await until(a.store.data, p => p.age === 85, 'A to see B')
    expect(a.store.current).toEqual({ _id: 'p1', name: 'Grace', age: 85 })
    expect(a.sync.status.value).toBe('synced')
  })

  it('applies remote changes without sending them back', async () => {
    const { url } = await server()
    const a = client(url)
    await a.sync.flush()
    const counting = countingWebSocket()
    const b = client(url, person(), counting.WebSocket)
    await b.sync.flush()
    const sentBefore = counting.sent.length
    const receivedBefore = counting.received.length

    // Five separate edits, each seen by B before the next: five changes reach B.
    for (let i = 1; i <= 5; i++) {
      a.store.update({ ...a.store.current, age: 36 + i })
      await until(b.store.data, p => p.age === 36 + i, `B to see change ${i}`)
    }
    await Promise.all([a.sync.flush(), b.sync.flush()])
    const changes = envelopes(counting.received.slice(receivedBefore)).filter(m => m.t === 'change')
    expect(changes).toHaveLength(5)
    const sent = envelopes(counting.sent.slice(sentBefore))
    expect(sent.filter(m => m.t === 'put' || m.t === 'patch' || m.t === 'del')).toEqual([])
    expect(sent).toEqual([])
  })

  it('sends an edit reverted to the last received value (L → Z → L)', async () => {
    const { url } = await server()
    const a = client(url, person('L'))
    await a.sync.flush()
    a.store.update({ ...a.store.current, name: 'Z' })
    await a.sync.flush()
    a.store.update({ ...a.store.current, name: 'L' })
    await a.sync.flush()

    const late = client(url, person('default'))
    await late.sync.flush()
    expect(late.store.current.name).toBe('L')
  })

  it('keeps concurrent edits of different fields from two clients', async () => {
    const { url } = await server()
    const a = client(url)
    const b = client(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])

    a.store.update({ ...a.store.current, name: 'Grace' })
    b.store.update({ ...b.store.current, age: 85 })
    await Promise.all([a.sync.flush(), b.sync.flush()])
    await until(a.store.data, p => p.age === 85, 'A to get B’s age')
    await until(b.store.data, p => p.name === 'Grace', 'B to get A’s name')
    expect(a.store.current).toEqual(b.store.current)
    expect(a.store.current).toEqual({ _id: 'p1', name: 'Grace', age: 85 })
  })

  it('converges when three clients race 20 edits each on one field', async () => {
    const storage = memoryStorage()
    cleanups.push(() => storage.close())
    const { url } = await server({ storage })
    const counting = [countingWebSocket(), countingWebSocket(), countingWebSocket()]
    const clients = counting.map(c => client(url, person(), c.WebSocket))
    await Promise.all(clients.map(c => c.sync.flush()))
    // One edit per client per tick: each leaves as its own write while the
    // others' writes, acks and changes are still on their way.
    for (let i = 0; i < 20; i++) {
      clients.forEach((c, n) => {
        c.store.update({ ...c.store.current, name: `client${n}-edit${i}` })
      })
      await nextTick()
    }
    await Promise.all(clients.map(c => c.sync.flush()))
    // The edits really raced: every client sent 20 writes, and others' changes
    // reached it while it still had writes to send.
    for (const c of counting) {
      expect(envelopes(c.sent).filter(m => m.t === 'patch')).toHaveLength(20)
      const kinds = c.log.map(({ sent, frame }) =>
        envelopes([frame]).map(m => (sent ? 'sent ' : 'got ') + m.t),
      )
      const flat = kinds.flat()
      const lastPatch = flat.lastIndexOf('sent patch')
      expect(flat.slice(flat.indexOf('sent patch'), lastPatch)).toContain('got change')
    }

    const stored = await storage.get('person', 'p1')
    const onServer = defaultSerializer.deserialize(JSON.parse(stored?.value ?? 'null')) as Person
    expect(onServer.name).toMatch(/^client\d-edit19$/)
    for (const c of clients)
      await until(c.store.data, p => p.name === onServer.name, `every client to converge on ${onServer.name}`)
    const late = client(url, person('late'))
    await late.sync.flush()
    expect(late.store.current).toEqual(onServer)
    for (const c of clients) expect(c.store.current).toEqual(onServer)
  })

  it('gives a late joiner the current value instead of its own default', async () => {
    const { url } = await server()
    const a = client(url, person('Real data', 50))
    await a.sync.flush()
    const late = client(url, person('', 0))
    await late.sync.flush()
    expect(late.store.current).toEqual(person('Real data', 50))
    await a.sync.flush()
    expect(a.store.current).toEqual(person('Real data', 50))
  })

  it('carries Date and Set fields as Date and Set', async () => {
    const { url } = await server()
    const born = new Date('1815-12-10T00:00:00.000Z')
    const a = client(url, { ...person(), born, tags: new Set(['math']) })
    await a.sync.flush()
    const b = client(url, person())
    await b.sync.flush()
    expect(b.store.current.born).toBeInstanceOf(Date)
    expect(b.store.current.born?.getTime()).toBe(born.getTime())
    expect(b.store.current.tags).toBeInstanceOf(Set)
    expect([...(b.store.current.tags ?? [])]).toEqual(['math'])

    a.store.update({ ...a.store.current, tags: new Set(['math', 'poetry']) })
    await until(b.store.data, p => p.tags?.has('poetry') === true, 'B to get the new Set')
    expect(b.store.current.tags).toBeInstanceOf(Set)
  })

  it("loads the server's entity when the store's _id changes to an existing id", async () => {
    const { url } = await server()
    const other = client(url, { _id: 'p2', name: 'Second', age: 2 })
    await other.sync.flush()
    const a = client(url)
    await a.sync.flush()

    a.store.update({ ...a.store.current, _id: 'p2' })
    await until(a.store.data, p => p.name === 'Second', 'A to load p2')
    await a.sync.flush()
    expect(a.store.current).toEqual({ _id: 'p2', name: 'Second', age: 2 })
    // and it is now synced with p2
    other.store.update({ ...other.store.current, age: 3 })
    await until(a.store.data, p => p.age === 3, 'A to follow p2')
  })

  it('delivers an edit made while the server was down, after it restarts on the same data file', async () => {
    const tmp = tempDir()
    cleanups.push(tmp.remove)
    const dataFile = `${tmp.dir}/lensync.db`
    let srv = await createSyncServer({
      port: 0,
      host: '127.0.0.1',
      dataFile,
      pingPeriod: 0,
      logger: quietLogger,
    })
    const port = srv.port
    cleanups.push(() => srv.close())
    const a = client(srv.url)
    const b = client(srv.url)
    await Promise.all([a.sync.flush(), b.sync.flush()])

    await srv.close()
    await until(a.sync.status, s => s === 'offline', 'A offline')
    a.store.update({ ...a.store.current, name: 'Edited offline' })
    expect(a.sync.pending.value).toBeGreaterThan(0)

    srv = await createSyncServer({ port, host: '127.0.0.1', dataFile, pingPeriod: 0, logger: quietLogger })
    await until(b.store.data, p => p.name === 'Edited offline', 'B to receive the offline edit')
    await a.sync.flush()
    const fresh = client(srv.url, person('default', 0))
    await fresh.sync.flush()
    expect(fresh.store.current).toEqual({ _id: 'p1', name: 'Edited offline', age: 36 })
  })

  it('reports a status: connecting → syncing/synced → offline after stop', async () => {
    const { url } = await server()
    const a = client(url)
    expect(a.sync.status.value).toBe('connecting')
    await a.sync.flush()
    expect(a.sync.status.value).toBe('synced')
    expect(a.sync.pending.value).toBe(0)
    a.sync.stop()
    expect(a.sync.status.value).toBe('offline')
    await expect(a.sync.flush()).rejects.toMatchObject({ name: 'SyncError', code: 'STOPPED' })
  })
})
