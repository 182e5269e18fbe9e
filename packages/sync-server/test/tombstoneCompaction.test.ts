import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { AckMessage, CollectionSnapMessage } from '@lensync/protocol'
import {
  memoryStorage,
  postgresStorage,
  redisStorage,
  type Storage,
  type StorageWrite,
  type SyncServer,
  sqliteStorage,
  type Timers,
} from '@lensync/sync-server'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { enc, quietLogger, type RawClient, rawClient, startServer } from './hubHelpers.ts'
import { POSTGRES_URL, postgresSchema } from './support/postgres.ts'
import { REDIS_URL, redisPrefix } from './support/redis.ts'

// Tombstones of deleted entities older than `tombstoneTtl` are removed from
// storage; a collection `sub` whose `since` is older than the newest
// removed tombstone gets a full snapshot, never an incomplete one.

const dirs: string[] = []
const opened: Storage[] = []
const clients: RawClient[] = []
let server: SyncServer | undefined

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
  await server?.close()
  server = undefined
  await Promise.all(opened.splice(0).map(storage => storage.close()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tmpFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lensync-compact-'))
  dirs.push(dir)
  return join(dir, 'lensync.db')
}

/** A clock the test moves. */
function clock(start = 1_000_000) {
  let time = start
  return {
    now: () => time,
    advance(ms: number) {
      time += ms
    },
  }
}

type Open = (now: () => number) => Storage

const kinds: [string, () => Open][] = [
  ['memoryStorage', () => now => memoryStorage({ now })],
  ['sqliteStorage', () => now => sqliteStorage({ file: ':memory:', now })],
  [
    'redisStorage',
    () => {
      const prefix = redisPrefix()
      return now => redisStorage({ url: REDIS_URL, prefix, now })
    },
  ],
  [
    'postgresStorage',
    () => {
      const schema = postgresSchema()
      return now => postgresStorage({ url: POSTGRES_URL, schema, now })
    },
  ],
]

const put = (id: string, value: unknown, expectedRev: number): StorageWrite => ({
  resource: 'doc',
  id,
  value: JSON.stringify({ json: value }),
  expectedRev,
})
const del = (id: string, expectedRev: number): StorageWrite => ({
  resource: 'doc',
  id,
  value: null,
  expectedRev,
})

function compactor(storage: Storage) {
  const compact = storage.compactTombstones?.bind(storage)
  const covered = storage.coveredSince?.bind(storage)
  if (!compact || !covered) throw new Error('this storage does not compact')
  return { compact, covered }
}

describe.each(kinds)('%s compacts tombstones', (_name, make) => {
  it('removes tombstones older than the age, oldest first, and raises coveredSince', async () => {
    const time = clock()
    const storage = make()(time.now)
    opened.push(storage)
    const { compact, covered } = compactor(storage)
    await storage.commit([put('x', 1, 0), put('y', 2, 0), put('z', 3, 0), put('w', 4, 0)])
    await storage.commit([del('x', 1)]) // rev 5
    time.advance(10)
    await storage.commit([del('y', 2), del('z', 3)]) // revs 6, 7
    await storage.commit([put('z', 'again', 7)]) // rev 8: z lives again
    expect(await covered('doc')).toBe(0)

    time.advance(50)
    expect(await compact(100, 10)).toBe(0)
    time.advance(50) // x's tombstone is 110 ms old, y's 100
    expect(await compact(105, 10)).toBe(1)
    expect(await storage.get('doc', 'x')).toBeUndefined()
    expect(await covered('doc')).toBe(5)
    expect(await storage.get('doc', 'y')).toMatchObject({ rev: 6, value: null })

    time.advance(1000)
    expect(await compact(105, 10)).toBe(1)
    expect(await covered('doc')).toBe(6)
    expect(await storage.get('doc', 'y')).toBeUndefined()
    // A live entity, and one that lived again, stay.
    expect(await storage.get('doc', 'z')).toMatchObject({ rev: 8 })
    const since = await storage.list('doc', { since: 0, limit: 10 })
    expect(since.entities.map(e => e.id).sort()).toEqual(['w', 'z'])
    const live = await storage.list('doc', { limit: 10 })
    expect(live.entities.map(e => e.id).sort()).toEqual(['w', 'z'])
    expect(await covered('other')).toBe(0)

    // A compacted entity can be created again, from nothing.
    expect(await storage.commit([put('x', 'new', 0)])).toEqual([{ rev: 9 }])
  })

  it('removes at most `limit` per call', async () => {
    const time = clock()
    const storage = make()(time.now)
    opened.push(storage)
    const { compact } = compactor(storage)
    await storage.commit([put('a', 1, 0), put('b', 1, 0), put('c', 1, 0)])
    await storage.commit([del('a', 1), del('b', 2), del('c', 3)])
    time.advance(1000)
    expect(await compact(10, 2)).toBe(2)
    expect(await compact(10, 2)).toBe(1)
    expect(await compact(10, 2)).toBe(0)
  })
})

describe('sqliteStorage compaction on a file of an earlier version', () => {
  it('stamps its old tombstones with the time of the upgrade', () => {
    const file = tmpFile()
    mkdirSync(dirname(file), { recursive: true })
    const old = new Database(file)
    old.exec(`
      CREATE TABLE lensync_entities (seq INTEGER PRIMARY KEY, resource TEXT NOT NULL, id TEXT NOT NULL,
        rev INTEGER NOT NULL, value TEXT, UNIQUE (resource, id));
      CREATE TABLE lensync_resources (resource TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO lensync_entities (resource, id, rev, value) VALUES ('doc', 'x', 1, NULL);
      INSERT INTO lensync_resources (resource, rev) VALUES ('doc', 1);
    `)
    old.close()
    const time = clock()
    const storage = sqliteStorage({ file, now: time.now })
    opened.push(storage)
    const { compact, covered } = compactor(storage)
    expect(compact(100, 10)).toBe(0)
    time.advance(100)
    expect(compact(100, 10)).toBe(1)
    expect(covered('doc')).toBe(1)
  })
})

describe('the hub and compacted tombstones', () => {
  /** Real `setImmediate`; the compaction timer is fired by the test. */
  function handTimers() {
    const pending = new Map<number, { callback: () => void; ms: number }>()
    let next = 1
    const timers: Timers = {
      setTimeout(callback, ms) {
        pending.set(next, { callback, ms })
        return next++
      },
      clearTimeout: handle => void pending.delete(handle as number),
      setImmediate: callback => setImmediate(callback),
    }
    return {
      timers,
      pending,
      fire(ms: number) {
        for (const [handle, timer] of [...pending])
          if (timer.ms === ms) {
            pending.delete(handle)
            timer.callback()
          }
      },
    }
  }

  it('compacts every tombstoneTtl and answers an older since with a full snapshot', async () => {
    const time = clock(Date.now())
    const hands = handTimers()
    server = await startServer({
      storage: memoryStorage({ now: time.now }),
      tombstoneTtl: 60_000,
      timers: hands.timers,
      pingPeriod: 0,
      logger: quietLogger(),
    })
    const writer = await rawClient(server.url)
    clients.push(writer)
    writer.send({ t: 'put', op: 1, r: 'doc', id: 'a', value: enc(1) })
    writer.send({ t: 'put', op: 2, r: 'doc', id: 'b', value: enc(2) })
    await writer.next({ op: 2 })
    writer.send({ t: 'sub', r: 'doc' })
    const first = await writer.next<CollectionSnapMessage>({ t: 'snap' })
    expect(first.rev).toBe(2)
    writer.send({ t: 'del', op: 3, r: 'doc', id: 'a' })
    const gone = await writer.next<AckMessage>({ op: 3 })

    // Within the TTL: an incremental snapshot lists the deletion.
    const early = await rawClient(server.url)
    clients.push(early)
    early.send({ t: 'sub', r: 'doc', since: first.rev })
    expect(await early.next({ t: 'snap' })).toEqual({
      t: 'snap',
      r: 'doc',
      rev: gone.rev,
      items: [],
      gone: ['a'],
    })

    // Past it: the hub's compaction run removes the tombstone…
    time.advance(61_000)
    hands.fire(60_000)
    await vi.waitFor(() => expect(server?.hub.storage.coveredSince?.('doc')).toBe(gone.rev))
    // …and a since from before it gets the whole collection, marked full.
    const late = await rawClient(server.url)
    clients.push(late)
    late.send({ t: 'sub', r: 'doc', since: first.rev })
    const full = (await late.next({ t: 'snap' })) as CollectionSnapMessage & { full?: boolean }
    expect(full).toMatchObject({ rev: gone.rev, gone: [], full: true })
    expect(full.items.map(item => item.id)).toEqual(['b'])
    // A since the storage still covers stays incremental.
    late.send({ t: 'sub', r: 'doc', since: gone.rev })
    const current = await late.next({ t: 'snap' })
    expect(current).toEqual({ t: 'snap', r: 'doc', rev: gone.rev, items: [], gone: [] })
    // The runs go on.
    expect([...hands.pending.values()].some(timer => timer.ms === 60_000)).toBe(true)
  })

  it('does not compact with tombstoneTtl: false', async () => {
    const hands = handTimers()
    server = await startServer({ tombstoneTtl: false, timers: hands.timers, pingPeriod: 0 })
    await server.hub.ready
    expect([...hands.pending.values()]).toEqual([])
  })

  it('checks tombstoneTtl', async () => {
    await expect(startServer({ tombstoneTtl: -1 })).rejects.toThrow(/tombstoneTtl must be an integer >= 1/)
  })
})
