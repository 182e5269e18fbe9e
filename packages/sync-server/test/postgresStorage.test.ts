import {
  type ChangeListener,
  type CommittedChange,
  postgresStorage,
  ServerError,
  type Storage,
  type StorageWrite,
} from '@lensync/sync-server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { POSTGRES_URL, postgresAdmin, postgresSchema } from './support/postgres.ts'

// What the Postgres adapter adds to the Storage contract (storage.test.ts runs
// the contract itself on it): one revision sequence per resource for every
// node, a change feed of every node's commits in commit order with gaps
// detected, and tables it creates and migrates itself.

const opened: Storage[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map(storage => storage.close()))
})

function open(schema: string, feedLength?: number): Storage {
  const storage = postgresStorage({
    url: POSTGRES_URL,
    schema,
    ...(feedLength === undefined ? {} : { feedLength }),
    logger: { warn: vi.fn() },
  })
  opened.push(storage)
  return storage
}

/** A listener that records what the feed reports. */
function recorder() {
  const changes: CommittedChange[] = []
  const resets: string[] = []
  const listener: ChangeListener = {
    change: change => void changes.push(change),
    reset: reason => void resets.push(reason),
  }
  return { listener, changes, resets }
}

function put(id: string, json: unknown, expectedRev?: number): StorageWrite {
  const value = JSON.stringify({ json })
  return {
    resource: 'doc',
    id,
    value,
    ...(expectedRev === undefined ? {} : { expectedRev }),
    change: [`{"t":"change","r":"doc","id":"${id}","rev":`, `,"value":${value}}`],
  }
}

/** Runs SQL on the test database as the tests' admin. */
function admin(query: string, parameters: (string | number)[] = []) {
  return postgresAdmin().unsafe(query, parameters)
}

describe('postgresStorage', () => {
  it('reports every commit of every node to every watcher, in commit order, with its revision filled in', async () => {
    const schema = postgresSchema()
    const a = open(schema)
    const b = open(schema)
    const seenByA = recorder()
    const seenByB = recorder()
    await a.watch?.(seenByA.listener)
    await b.watch?.(seenByB.listener)

    const first = put('x', 1, 0)
    expect(await a.commit([first])).toEqual([{ rev: 1 }])
    const second = put('y', 2, 0)
    const third = { ...put('x', 3, 1) }
    const deleted: StorageWrite = {
      resource: 'doc',
      id: 'y',
      value: null,
      change: ['{"t":"gone","r":"doc","id":"y","rev":', '}'],
    }
    expect(await b.commit([second, third, deleted])).toEqual([{ rev: 2 }, { rev: 3 }, { rev: 4 }])

    await vi.waitFor(() => expect(seenByA.changes).toHaveLength(4))
    await vi.waitFor(() => expect(seenByB.changes).toHaveLength(4))
    const summary = (c: CommittedChange) => [c.id, c.rev, c.value, c.change]
    const expected = [
      ['x', 1, '{"json":1}', '{"t":"change","r":"doc","id":"x","rev":1,"value":{"json":1}}'],
      ['y', 2, '{"json":2}', '{"t":"change","r":"doc","id":"y","rev":2,"value":{"json":2}}'],
      ['x', 3, '{"json":3}', '{"t":"change","r":"doc","id":"x","rev":3,"value":{"json":3}}'],
      ['y', 4, null, '{"t":"gone","r":"doc","id":"y","rev":4}'],
    ]
    expect(seenByA.changes.map(summary)).toEqual(expected)
    expect(seenByB.changes.map(summary)).toEqual(expected)
    // Each node recognizes its own writes (the very objects it committed), not the other's.
    expect(seenByA.changes.map(c => c.write)).toEqual([first, undefined, undefined, undefined])
    expect(seenByA.changes[0]?.write).toBe(first)
    expect(seenByB.changes[1]?.write).toBe(second)
    expect(seenByB.changes[2]?.write).toBe(third)
    expect(seenByB.changes[3]?.write).toBe(deleted)
    expect(seenByB.changes[0]?.write).toBeUndefined()
    expect([...seenByA.resets, ...seenByB.resets]).toEqual([])
  })

  it('lets exactly one of two nodes create or update an entity from the same base revision', async () => {
    const schema = postgresSchema()
    const a = open(schema)
    const b = open(schema)
    const results = await Promise.all([a.commit([put('x', 'a', 0)]), b.commit([put('x', 'b', 0)])])
    expect(results.flat().filter(r => 'rev' in r)).toEqual([{ rev: 1 }])
    expect(results.flat().filter(r => 'conflict' in r)).toHaveLength(1)
    const winner = (await a.get('doc', 'x'))?.value

    // Fifty concurrent updates from alternating nodes, all from base 1: one applies.
    const racers = Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).commit([put('x', i, 1)]))
    const outcomes = (await Promise.all(racers)).flat()
    expect(outcomes.filter(r => 'rev' in r)).toEqual([{ rev: 2 }])
    expect(await b.get('doc', 'x')).not.toMatchObject({ value: winner })
    expect(await a.revision('doc')).toBe(2)
  })

  it('hands out unique, gapless revisions to writes from many nodes at once', async () => {
    const schema = postgresSchema()
    const nodes = [open(schema), open(schema), open(schema)]
    const commits = Array.from({ length: 90 }, (_, i) =>
      (nodes[i % 3] as Storage).commit([put(`k${i}`, i, 0), put(`k${i}`, -i)]),
    )
    const revs = (await Promise.all(commits)).flat().map(r => ('rev' in r ? r.rev : -1))
    expect([...revs].sort((x, y) => x - y)).toEqual(Array.from({ length: 180 }, (_, i) => i + 1))
    expect(await nodes[0]?.revision('doc')).toBe(180)
    // The change rows are numbered gaplessly too, in revision order.
    const rows = await admin(`SELECT n, rev FROM "${schema}".lensync_changes ORDER BY n`)
    expect(rows.map(row => Number(row.n))).toEqual(Array.from({ length: 180 }, (_, i) => i + 1))
    expect(rows.map(row => Number(row.rev))).toEqual(Array.from({ length: 180 }, (_, i) => i + 1))
  })

  it('reports a reset when the feed misses a change or starts over, and keeps reporting changes', async () => {
    const schema = postgresSchema()
    const storage = open(schema)
    const seen = recorder()
    await storage.watch?.(seen.listener)
    await storage.commit([put('x', 1, 0)])
    await vi.waitFor(() => expect(seen.changes).toHaveLength(1))

    // A change this node never sees (as if the table had been trimmed past it).
    await admin(`UPDATE "${schema}".lensync_feed SET n = n + 1`)
    await storage.commit([put('x', 2, 1)])
    await vi.waitFor(() => expect(seen.changes).toHaveLength(2))
    expect(seen.resets).toEqual(['missed 1 change(s) of the feed'])

    // The numbering starts over (a restored database, recreated tables).
    await admin(`DELETE FROM "${schema}".lensync_changes`)
    await admin(`UPDATE "${schema}".lensync_feed SET n = 0`)
    await storage.commit([put('y', 3, 0)])
    await vi.waitFor(() => expect(seen.changes).toHaveLength(3))
    expect(seen.resets).toHaveLength(2)
    expect(seen.resets[1]).toMatch(/started over/)
    expect(seen.changes.map(c => c.rev)).toEqual([1, 2, 3])
  })

  it('starts a watcher at the current end of the feed and keeps the change table near feedLength', async () => {
    const schema = postgresSchema()
    const storage = open(schema, 100)
    for (let i = 0; i < 10; i++)
      await storage.commit(Array.from({ length: 50 }, (_, j) => put(`k${i}-${j}`, j, 0)))
    const seen = recorder()
    await storage.watch?.(seen.listener)
    await storage.commit([put('late', 1, 0)])
    await vi.waitFor(() => expect(seen.changes).toHaveLength(1))
    expect(seen.changes[0]).toMatchObject({ id: 'late', rev: 501 })
    expect(seen.resets).toEqual([])
    // Trimmed in steps of feedLength / 10: between 100 and 100 + 10 + one commit.
    const [{ count, oldest }] = (await admin(
      `SELECT count(*)::int AS count, min(n)::int AS oldest FROM "${schema}".lensync_changes`,
    )) as unknown as [{ count: number; oldest: number }]
    expect(count).toBeGreaterThanOrEqual(100)
    expect(count).toBeLessThan(200)
    expect(oldest).toBe(501 - count + 1)
  })

  it('LISTENs again when its connection drops and reports what was committed meanwhile', async () => {
    const schema = postgresSchema()
    const watched = open(schema)
    const writer = open(schema)
    const seen = recorder()
    await watched.watch?.(seen.listener)
    await writer.commit([put('x', 1, 0)])
    await vi.waitFor(() => expect(seen.changes).toHaveLength(1))

    const listening = `LISTEN "lensync_${schema}"`
    const killed = await admin(
      `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
       WHERE application_name = 'lensync feed' AND query = $1`,
      [listening],
    )
    expect(killed).toHaveLength(1)
    for (let i = 2; i <= 20; i++) await writer.commit([put('x', i, i - 1)])
    await vi.waitFor(() => expect(seen.changes).toHaveLength(20), { timeout: 10_000 })
    expect(seen.changes.map(c => c.rev)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    expect(seen.resets).toEqual([])
  })

  it('creates its tables once when several nodes start together, and refuses a newer schema', async () => {
    const schema = postgresSchema()
    const nodes = Array.from({ length: 4 }, () => open(schema))
    expect(await Promise.all(nodes.map(node => node.revision('doc')))).toEqual([0, 0, 0, 0])
    const versions = await admin(`SELECT version FROM "${schema}".lensync_schema_version`)
    expect(versions.map(row => row.version)).toEqual([1, 2, 3, 4])
    const tables = await admin(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    )
    expect(tables.map(row => row.table_name)).toEqual([
      'lensync_applied',
      'lensync_changes',
      'lensync_compacted',
      'lensync_entities',
      'lensync_feed',
      'lensync_resources',
      'lensync_schema_version',
    ])

    // A later server migrated the schema: this one must not write to it.
    await admin(`INSERT INTO "${schema}".lensync_schema_version (version) VALUES (99)`)
    const older = open(schema)
    await expect(older.get('doc', 'x')).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringMatching(/version 99, newer than this lensync server knows/),
    })
  })

  it('migrates a schema of version 1 by adding the table of applied writes, keeping the data', async () => {
    const schema = postgresSchema()
    const first = open(schema)
    expect(await first.commit([put('x', 1, 0)])).toEqual([{ rev: 1 }])
    await first.close()
    // What a server of version 1 left behind.
    await admin(`DROP TABLE "${schema}".lensync_applied`)
    await admin(`DROP TABLE "${schema}".lensync_compacted`)
    await admin(`ALTER TABLE "${schema}".lensync_entities DROP COLUMN deleted_at`)
    await admin(`ALTER TABLE "${schema}".lensync_entities DROP COLUMN fields`)
    await admin(`ALTER TABLE "${schema}".lensync_changes DROP COLUMN fields`)
    await admin(`DELETE FROM "${schema}".lensync_schema_version WHERE version >= 2`)
    const upgraded = open(schema)
    expect(await upgraded.get('doc', 'x')).toMatchObject({ rev: 1 })
    expect(await upgraded.commit([{ ...put('x', 2, 1), origin: { client: 'c', op: 1 } }])).toEqual([
      { rev: 2 },
    ])
    expect(await upgraded.applied?.('c', 1)).toEqual({ resource: 'doc', id: 'x', rev: 2 })
    const versions = await admin(`SELECT version FROM "${schema}".lensync_schema_version ORDER BY version`)
    expect(versions.map(row => row.version)).toEqual([1, 2, 3, 4])
  })

  it('migrates a schema of version 3 by adding field revisions: old entities have none until written', async () => {
    const schema = postgresSchema()
    const first = open(schema)
    expect(await first.commit([put('x', 1, 0)])).toEqual([{ rev: 1 }])
    await first.close()
    // What a server of version 3 left behind.
    await admin(`ALTER TABLE "${schema}".lensync_entities DROP COLUMN fields`)
    await admin(`ALTER TABLE "${schema}".lensync_changes DROP COLUMN fields`)
    await admin(`DELETE FROM "${schema}".lensync_schema_version WHERE version >= 4`)
    const upgraded = open(schema)
    expect(await upgraded.get('doc', 'x')).toEqual({ id: 'x', rev: 1, value: '{"json":1}' })
    const fields = '{"w":[[\u00000\u0000,"c"]],"f":{".n":0}}'
    expect(await upgraded.commit([{ ...put('x', { n: 2 }, 1), fields }])).toEqual([{ rev: 2 }])
    expect(await upgraded.get('doc', 'x')).toMatchObject({ rev: 2, fields: '{"w":[[2,"c"]],"f":{".n":0}}' })
    const versions = await admin(`SELECT version FROM "${schema}".lensync_schema_version ORDER BY version`)
    expect(versions.map(row => row.version)).toEqual([1, 2, 3, 4])
  })

  it('records applied writes in the commit transaction and deletes expired ones after commits', async () => {
    const schema = postgresSchema()
    let time = 1_000_000
    const storage = postgresStorage({ url: POSTGRES_URL, schema, dedupWindow: 60_000, now: () => time })
    opened.push(storage)
    await storage.commit([
      { ...put('x', 1, 0), origin: { client: 'a', op: 1 } },
      { ...put('y', 1, 0), origin: { client: 'b', op: '1' } },
      { ...put('z', 1, 9), origin: { client: 'a', op: 2 } },
    ])
    const rows = () =>
      admin(`SELECT client, op, resource, id, rev, at FROM "${schema}".lensync_applied ORDER BY client`)
    expect(await rows()).toEqual([
      { client: 'a', op: '1', resource: 'doc', id: 'x', rev: '1', at: '1000000' },
      { client: 'b', op: '"1"', resource: 'doc', id: 'y', rev: '2', at: '1000000' },
    ])
    time += 60_000
    await storage.commit([{ ...put('x', 2, 1), origin: { client: 'c', op: 1 } }])
    await vi.waitFor(async () => expect((await rows()).map(row => row.client)).toEqual(['c']))
  })

  it('stops the feed with close(); close is idempotent and watch() afterwards rejects', async () => {
    const storage = open(postgresSchema())
    const seen = recorder()
    const stop = await storage.watch?.(seen.listener)
    expect(typeof stop).toBe('function')
    stop?.()
    await storage.commit([put('x', 1, 0)])
    await Promise.all([storage.close(), storage.close()])
    expect(seen.changes).toEqual([])
    await expect(storage.watch?.(seen.listener)).rejects.toThrow(/after close/)
  })

  it('fails with STORAGE_UNAVAILABLE when PostgreSQL cannot be reached, without showing credentials', async () => {
    const storage = postgresStorage({
      url: 'postgres://user:s3cret@127.0.0.1:1/app',
      logger: { warn: vi.fn() },
    })
    opened.push(storage)
    const failure = storage.watch?.(recorder().listener)
    await expect(failure).rejects.toBeInstanceOf(ServerError)
    await expect(failure).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringContaining('postgres://***@127.0.0.1:1/app'),
    })
    await expect(failure).rejects.not.toMatchObject({ message: expect.stringContaining('s3cret') })
    await expect(storage.get('doc', 'x')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' })
  })

  it('names bad options', () => {
    expect(() => postgresStorage({ url: 'redis://x' })).toThrow(/url must be a postgres:\/\//)
    expect(() => postgresStorage(undefined as never)).toThrow(/options must be an object/)
    expect(() => postgresStorage({ url: POSTGRES_URL, schema: 'a-b' })).toThrow(
      /schema must be 1 to 63 letters, digits or _/,
    )
    expect(() => postgresStorage({ url: POSTGRES_URL, feedLength: 5 })).toThrow(
      /feedLength must be an integer >= 100/,
    )
  })
})
