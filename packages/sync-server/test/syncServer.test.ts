import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EntitySnapMessage } from '@lensync/protocol'
import {
  type CommitResult,
  createSyncHub,
  createSyncServer,
  type HubConnection,
  memoryStorage,
  type Storage,
  type StorageWrite,
  type SyncServer,
} from '@lensync/sync-server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { enc, quietLogger, type RawClient, rawClient, startServer } from './hubHelpers.ts'

const dirs: string[] = []
const clients: RawClient[] = []
const servers: SyncServer[] = []

afterEach(async () => {
  await Promise.all(clients.splice(0).map(c => c.close()))
  await Promise.all(servers.splice(0).map(s => s.close()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function connect(server: SyncServer): Promise<RawClient> {
  const client = await rawClient(server.url)
  clients.push(client)
  return client
}

function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>(r => {
    resolve = r
  })
  return { promise, resolve }
}

/** A fake transport for the hub core: records what is sent. */
function fakeConnection(id = 'c1') {
  const sent: string[] = []
  const closes: [number, string][] = []
  const connection: HubConnection = {
    id,
    send: text => void sent.push(text),
    close: (code, reason) => void closes.push([code, reason]),
  }
  return { connection, sent, closes }
}

const request = { headers: {} } as import('node:http').IncomingMessage

describe('createSyncServer', () => {
  it('serves /sync and GET /health, reports its url and node, and closes idempotently', async () => {
    const server = await startServer({ node: 'n-1' })
    servers.push(server)
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}/sync`)
    const a = await connect(server)
    const health = await fetch(`http://127.0.0.1:${server.port}/health`)
    expect(await health.json()).toEqual({ ok: true, node: 'n-1', connections: 1 })
    const closing = server.close()
    expect(server.close()).toBe(closing)
    await closing
    expect(await a.closed).toBe(1001)
  })

  it('persists to SQLite: a reopened server has the data and revisions keep increasing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lensync-server-'))
    dirs.push(dir)
    const dataFile = join(dir, 'data', 'lensync.db')
    const first = await createSyncServer({ port: 0, dataFile, logger: quietLogger() })
    servers.push(first)
    const a = await connect(first)
    a.send([
      { t: 'put', op: 1, r: 'person', id: 'ada', value: enc({ name: 'Ada', age: 36 }) },
      { t: 'patch', op: 2, r: 'person', id: 'ada', set: [[['age'], enc(37)]] },
      { t: 'put', op: 3, r: 'person', id: 'bob', value: enc({ name: 'Bob' }) },
      { t: 'del', op: 4, r: 'person', id: 'bob' },
    ])
    await a.next({ t: 'ack', op: 4 } as never)
    await first.close()

    const second = await createSyncServer({ port: 0, dataFile, logger: quietLogger() })
    servers.push(second)
    const b = await connect(second)
    b.send([
      { t: 'sub', r: 'person', id: 'ada' },
      { t: 'sub', r: 'person', since: 2 },
    ])
    expect(await b.next()).toEqual({
      t: 'snap',
      r: 'person',
      id: 'ada',
      rev: 2,
      value: enc({ name: 'Ada', age: 37 }),
    })
    expect(await b.next()).toEqual({ t: 'snap', r: 'person', rev: 4, items: [], gone: ['bob'] })
    b.send({ t: 'patch', op: 1, r: 'person', id: 'ada', set: [[['age'], enc(38)]] })
    expect(await b.next()).toEqual({ t: 'ack', op: 1, rev: 5 })
  })

  it('names the redis option when it is neither a URL nor options', async () => {
    await expect(createSyncServer({ port: 0, redis: 42 as never })).rejects.toThrow(/redis must be a URL/)
    await expect(createSyncServer({ port: 0, redis: 'http://127.0.0.1' })).rejects.toThrow(
      /url must be a redis:\/\/ or rediss:\/\/ URL/,
    )
  })
})

describe('sync hub and storage', () => {
  it('gives a collection snapshot the revision from before its pages were read (a safe next since)', async () => {
    const inner = memoryStorage()
    const listing = deferred<void>()
    const listCalled = deferred<void>()
    const storage: Storage = {
      get: (r, id) => inner.get(r, id),
      revision: r => inner.revision(r),
      async list(r, o) {
        listCalled.resolve()
        await listing.promise
        return inner.list(r, o)
      },
      commit: writes => inner.commit(writes),
      close: () => inner.close(),
    }
    const hub = createSyncHub(storage, { logger: quietLogger() })
    const reader = fakeConnection('reader')
    const writer = fakeConnection('writer')
    const r = hub.connect(reader.connection, request)
    const w = hub.connect(writer.connection, request)
    r.receive(JSON.stringify({ t: 'sub', r: 'doc' }))
    await listCalled.promise
    // A write commits while the page is being read: its change is on its way
    // to the reader, so the snapshot must not claim its revision.
    w.receive(JSON.stringify({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ v: 1 }) }))
    await vi.waitFor(() => expect(writer.sent).toEqual(['{"t":"ack","op":1,"rev":1}']))
    listing.resolve()
    await vi.waitFor(() => expect(reader.sent.some(text => text.includes('"snap"'))).toBe(true))
    const envelopes = reader.sent.flatMap(text => [JSON.parse(text)].flat())
    expect(envelopes.find(m => m.t === 'snap')).toMatchObject({ rev: 0 })
    expect(envelopes.find(m => m.t === 'change')).toMatchObject({ id: 'x', rev: 1 })
    r.disconnect()
    w.disconnect()
    await hub.close()
  })

  it('acknowledges and broadcasts only after the commit resolved (async storage)', async () => {
    const inner = memoryStorage()
    const commits: { writes: readonly StorageWrite[]; done: ReturnType<typeof deferred<void>> }[] = []
    const commitCalled = deferred<void>()
    const storage: Storage = {
      get: (r, id) => Promise.resolve(inner.get(r, id)),
      revision: r => Promise.resolve(inner.revision(r)),
      list: (r, o) => Promise.resolve(inner.list(r, o)),
      async commit(writes) {
        const done = deferred<void>()
        commits.push({ writes, done })
        commitCalled.resolve()
        await done.promise
        return inner.commit(writes) as CommitResult[]
      },
      close: () => inner.close(),
    }
    const hub = createSyncHub(storage, { logger: quietLogger() })
    const writer = fakeConnection('writer')
    const reader = fakeConnection('reader')
    const w = hub.connect(writer.connection, request)
    const r = hub.connect(reader.connection, request)
    r.receive(JSON.stringify({ t: 'sub', r: 'doc', id: 'x' }))
    await vi.waitFor(() => expect(reader.sent).toHaveLength(1))

    w.receive(JSON.stringify({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ v: 1 }) }))
    await commitCalled.promise
    expect(commits[0]?.writes).toEqual([
      {
        resource: 'doc',
        id: 'x',
        value: '{"json":{"v":1}}',
        expectedRev: 0,
        change: ['{"t":"change","r":"doc","id":"x","rev":', ',"value":{"json":{"v":1}}}'],
        // The field revisions; the write's own revision is a placeholder storage fills in.
        fields: '{"w":[[\u00000\u0000,null]],"f":{".v":0}}',
      },
    ])
    expect(writer.sent).toEqual([])
    expect(reader.sent).toHaveLength(1)

    commits[0]?.done.resolve()
    await vi.waitFor(() => expect(writer.sent).toEqual(['{"t":"ack","op":1,"rev":1}']))
    await vi.waitFor(() => expect(reader.sent).toHaveLength(2))
    expect(JSON.parse(reader.sent[1] as string)).toEqual({
      t: 'change',
      r: 'doc',
      id: 'x',
      rev: 1,
      value: enc({ v: 1 }),
    })
    w.disconnect()
    r.disconnect()
    await hub.close()
  })

  it('commits the writes of one tick in one transaction (group commit)', async () => {
    const inner = memoryStorage()
    const batches: number[] = []
    const storage: Storage = {
      ...bind(inner),
      commit: writes => {
        batches.push(writes.length)
        return inner.commit(writes)
      },
    }
    const hub = createSyncHub(storage, { logger: quietLogger() })
    const conns = [fakeConnection('a'), fakeConnection('b'), fakeConnection('c')]
    const hubClients = conns.map(c => hub.connect(c.connection, request))
    hubClients[0]?.receive(JSON.stringify({ t: 'put', op: 0, r: 'doc', id: 'shared', value: enc({}) }))
    await hub.flush()
    hubClients.forEach((client, i) => {
      client.receive(
        JSON.stringify([
          { t: 'put', op: 1, r: 'doc', id: `d${i}`, value: enc(i) },
          { t: 'patch', op: 2, r: 'doc', id: 'shared', set: [[[`f${i}`], enc(i)]] },
        ]),
      )
    })
    await hub.flush()
    // Three puts and three patches of one entity, each patch building on the one before: one commit.
    expect(batches).toEqual([1, 6])
    expect(inner.get('doc', 'shared')).toEqual({
      id: 'shared',
      rev: 7,
      value: '{"json":{"f0":0,"f1":1,"f2":2}}',
      fields: '{"w":[[3,null],[5,null],[7,null]],"f":{".f0":0,".f1":1,".f2":2}}',
    })
    expect(conns.map(c => c.sent.at(-1))).toEqual([
      '[{"t":"ack","op":1,"rev":2},{"t":"ack","op":2,"rev":3}]',
      '[{"t":"ack","op":1,"rev":4},{"t":"ack","op":2,"rev":5}]',
      '[{"t":"ack","op":1,"rev":6},{"t":"ack","op":2,"rev":7}]',
    ])
    for (const client of hubClients) client.disconnect()
  })

  it('re-reads and re-applies a write when storage reports a conflict (another node wrote first)', async () => {
    const inner = memoryStorage()
    let conflictOnce = false
    const storage: Storage = {
      ...bind(inner),
      async commit(writes) {
        if (conflictOnce) {
          conflictOnce = false
          // Another node writes the entity first; the hub's cached state is now stale.
          inner.commit([{ resource: 'doc', id: 'x', value: '{"json":{"a":1,"b":2}}', expectedRev: 1 }])
        }
        return inner.commit(writes) as CommitResult[]
      },
    }
    const server = await startServer({ storage })
    servers.push(server)
    const a = await connect(server)
    a.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ a: 1 }) })
    expect(await a.next()).toEqual({ t: 'ack', op: 1, rev: 1 })
    conflictOnce = true
    a.send([
      { t: 'patch', op: 2, r: 'doc', id: 'x', set: [[['c'], enc(3)]] },
      { t: 'patch', op: 3, r: 'doc', id: 'x', set: [[['d'], enc(4)]] },
    ])
    expect(await a.next()).toEqual({ t: 'ack', op: 2, rev: 3 })
    expect(await a.next()).toEqual({ t: 'ack', op: 3, rev: 4 })
    a.send({ t: 'sub', r: 'doc', id: 'x' })
    const snap = await a.next<EntitySnapMessage>()
    expect(snap).toEqual({ t: 'snap', r: 'doc', id: 'x', rev: 4, value: enc({ a: 1, b: 2, c: 3, d: 4 }) })
  })

  it('closes the writers with 1011 when storage fails, and keeps serving', async () => {
    const inner = memoryStorage()
    let fail = false
    const logger = quietLogger()
    const storage: Storage = {
      ...bind(inner),
      commit: writes => {
        if (fail) throw new Error('disk full')
        return inner.commit(writes)
      },
    }
    const server = await startServer({ storage, logger })
    servers.push(server)
    const a = await connect(server)
    fail = true
    a.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc(1) })
    expect(await a.closed).toBe(1011)
    expect(logger.error).toHaveBeenCalled()
    fail = false
    const b = await connect(server)
    b.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc(2) })
    expect(await b.next()).toEqual({ t: 'ack', op: 1, rev: 1 })
  })
})

function bind(storage: Storage): Storage {
  return {
    get: (r, id) => storage.get(r, id),
    revision: r => storage.revision(r),
    list: (r, o) => storage.list(r, o),
    commit: w => storage.commit(w),
    close: () => storage.close(),
  }
}
