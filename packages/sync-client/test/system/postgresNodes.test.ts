import { spawn } from 'node:child_process'
import { effect, type Store, storeOf } from '@lensync/store'
import { resource, type Sync, syncList, syncWith, websocket } from '@lensync/sync-client'
import { createSyncServer, type SyncServer, type SyncServerOptions } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { quietLogger } from '../../../sync-server/test/hubHelpers.ts'
import { lensyncServerCommand } from '../../../sync-server/test/support/childServer.ts'
import { POSTGRES_URL, postgresAdmin, postgresSchema } from '../../../sync-server/test/support/postgres.ts'
import { ProtocolClient, type SentWrite } from '../../../sync-server/test/support/protocolClient.ts'
import { replayAcknowledged } from '../../../sync-server/test/support/writeLog.ts'

// Several server nodes on one PostgreSQL database serve the same entities:
// clients on different nodes sync with each other exactly as on one node.

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

/** A node on `schema` (a free port unless told), closed after the test. */
async function node(schema: string, options: SyncServerOptions = {}): Promise<SyncServer> {
  const server = await createSyncServer({
    port: 0,
    pingPeriod: 0,
    logger: quietLogger(),
    ...options,
    postgres: { url: POSTGRES_URL, schema },
  })
  servers.push(server)
  return server
}

/** `count` nodes sharing one fresh schema, started together (their startup creates the tables). */
function nodes(count: number): Promise<SyncServer[]> {
  const schema = postgresSchema()
  return Promise.all(Array.from({ length: count }, (_, i) => node(schema, { node: `node-${i + 1}` })))
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

function chat(...urls: string[]) {
  const store = storeOf<Message[]>([])
  const sync = syncList(store, socketTo(...urls), MessageResource)
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

async function openRaw(url: string, name: string): Promise<ProtocolClient> {
  const client = await ProtocolClient.open(url, name)
  raws.push(client)
  return client
}

describe('several nodes on one PostgreSQL database', () => {
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
    for (let i = 1; i <= 100; i++)
      writers.forEach((writer, n) => {
        writes.push(
          writer.write({ t: 'patch', r: 'doc', id: 'x', set: [[[field[n] as string], { json: i }]] }),
        )
      })
    await Promise.all(writes)
    const expected = replayAcknowledged([...seed.writes, ...writers.flatMap(w => w.writes)], 'doc')
    const finalRev = expected.get('x')?.rev as number
    expect(finalRev).toBe(201)
    for (const writer of writers) {
      // Wait for the other node's last change too.
      await expect.poll(() => revs.get(writer.name)?.at(-1), { timeout: 10_000 }).toBe(finalRev)
      // Strictly increasing and gapless: every write of the entity reached
      // every connection once — as its ack or as a change — in revision order.
      expect(revs.get(writer.name)).toEqual(Array.from({ length: 200 }, (_, i) => i + 2))
      expect(writer.view.get('doc/x')).toEqual({ a: 100, b: 100 })
    }
  })

  it('catches a client that moved to another node up with what it missed (since)', async () => {
    const schema = postgresSchema()
    const [one, two] = await Promise.all([node(schema), node(schema)])
    const writer = await openRaw(two.url, 'writer')
    for (let i = 0; i < 20; i++)
      await writer.write({
        t: 'put',
        r: 'message',
        id: `m${i}`,
        value: { json: { id: `m${i}`, text: `#${i}` } },
      })
    const a = chat(one.url)
    await a.sync.flush()
    expect(a.store.current).toHaveLength(20)

    // Node 1 goes away; node 2 takes writes the client does not see; node 1
    // comes back on the same port and the client catches up there.
    const port = one.port
    await one.close()
    for (let i = 0; i < 5; i++)
      await writer.write({
        t: 'patch',
        r: 'message',
        id: `m${i}`,
        set: [[['text'], { json: `changed ${i}` }]],
      })
    await writer.write({ t: 'del', r: 'message', id: 'm19' })
    a.store.update([...a.store.current, { id: 'offline', text: 'written while away' }])
    await node(schema, { port })
    await a.sync.flush()
    const expected = [
      ...Array.from({ length: 5 }, (_, i) => ({ id: `m${i}`, text: `changed ${i}` })),
      ...Array.from({ length: 14 }, (_, i) => ({ id: `m${i + 5}`, text: `#${i + 5}` })),
      { id: 'offline', text: 'written while away' },
    ]
    await until(a.store, l => l.length === expected.length && l[0]?.text === 'changed 0', 'A to catch up')
    expect(a.store.current).toEqual(expected)
    const late = chat(two.url)
    await late.sync.flush()
    expect(late.store.current).toEqual(expected)
  })

  it('reconnects the clients of a node whose feed missed changes, and they converge', async () => {
    const schema = postgresSchema()
    const [one, two] = await Promise.all([node(schema, { node: 'node-1' }), node(schema, { node: 'node-2' })])
    const a = person(one.url, { _id: 'p1', name: 'Ada', age: 36 })
    await a.sync.flush()
    const b = person(two.url)
    await b.sync.flush()
    const watcher = await openRaw(two.url, 'watcher')
    // A change every node misses, as if the change table had been trimmed past them.
    await postgresAdmin().unsafe(`UPDATE "${schema}".lensync_feed SET n = n + 1`)
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

  it('fails createSyncServer with STORAGE_UNAVAILABLE when PostgreSQL cannot be reached, without showing credentials', async () => {
    const failure = createSyncServer({
      port: 0,
      postgres: 'postgres://user:s3cret@127.0.0.1:1/app',
      logger: quietLogger(),
    })
    await expect(failure).rejects.toMatchObject({
      name: 'ServerError',
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringContaining('postgres://***@127.0.0.1:1/app'),
    })
    await expect(failure).rejects.not.toMatchObject({ message: expect.stringContaining('s3cret') })
    await expect(createSyncServer({ port: 0, postgres: POSTGRES_URL, redis: 'redis://x' })).rejects.toThrow(
      /redis and postgres cannot be used together/,
    )
  })
})

describe('lensync-server --postgres', () => {
  /** Runs the command to its end: exit code and everything it printed. */
  function runToEnd(args: string[]): Promise<{ code: number | null; output: string }> {
    const child = spawn(process.execPath, [...lensyncServerCommand, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT: '', HOST: '' },
    })
    let output = ''
    child.stdout?.on('data', chunk => {
      output += chunk
    })
    child.stderr?.on('data', chunk => {
      output += chunk
    })
    return new Promise(resolve => child.on('exit', code => resolve({ code, output })))
  }

  it('refuses --postgres with --redis, --memory or --data, and --postgres-schema without it (exit 2)', async () => {
    const runs = await Promise.all(
      [
        ['--postgres', POSTGRES_URL, '--redis', 'redis://127.0.0.1:6379'],
        ['--postgres', POSTGRES_URL, '--memory'],
        ['--postgres', POSTGRES_URL, '--data', 'x.db'],
        ['--postgres-schema', 's'],
      ].map(runToEnd),
    )
    for (const { code, output } of runs) {
      expect(code).toBe(2)
      expect(output).toMatch(/--postgres/)
    }
  }, 30_000)

  it('exits 1 with STORAGE_UNAVAILABLE’s message, without the password, when the database cannot be reached', async () => {
    const { code, output } = await runToEnd([
      '--port',
      '0',
      '--postgres',
      'postgres://app:s3cret@127.0.0.1:1/app',
    ])
    expect(code).toBe(1)
    expect(output).toContain('postgres://***@127.0.0.1:1/app')
    expect(output).not.toContain('s3cret')
  }, 30_000)
})
