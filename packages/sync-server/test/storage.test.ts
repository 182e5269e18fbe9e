import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import {
  type MemoryStorageOptions,
  memoryStorage,
  postgresStorage,
  redisStorage,
  type Storage,
  sqliteStorage,
} from '@lensync/sync-server'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { POSTGRES_URL, postgresSchema } from './support/postgres.ts'
import { REDIS_URL, redisPrefix } from './support/redis.ts'

const dirs: string[] = []
const opened: Storage[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map(storage => storage.close()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tmpFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lensync-storage-'))
  dirs.push(dir)
  return join(dir, 'nested', 'lensync.db')
}

/** What every storage takes about remembering applied writes. */
type DedupOptions = Pick<MemoryStorageOptions, 'dedupWindow' | 'now'>

/** Opens storage objects on one place (one file, prefix or schema). */
type Opener = (options?: DedupOptions) => Storage

/**
 * Each kind: a new place to keep data, and whether a second storage object
 * on that place sees the first one's data: `'reopen'` after the first was
 * closed (a file), `'shared'` while both are open (Redis, PostgreSQL).
 */
const kinds: [string, () => Opener, 'none' | 'reopen' | 'shared'][] = [
  ['memoryStorage', () => options => memoryStorage(options), 'none'],
  ['sqliteStorage :memory:', () => options => sqliteStorage({ file: ':memory:', ...options }), 'none'],
  [
    'sqliteStorage file',
    () => {
      const file = tmpFile()
      return options => sqliteStorage({ file, ...options })
    },
    'reopen',
  ],
  [
    'redisStorage',
    () => {
      const prefix = redisPrefix()
      return options => redisStorage({ url: REDIS_URL, prefix, ...options })
    },
    'shared',
  ],
  [
    'postgresStorage',
    () => {
      const schema = postgresSchema()
      return options => postgresStorage({ url: POSTGRES_URL, schema, ...options })
    },
    'shared',
  ],
]

/** Opens a storage that the test's end closes. */
function track(storage: Storage): Storage {
  opened.push(storage)
  return storage
}

/** `storage.applied`, which every storage of this package has. */
function appliedOf(storage: Storage): NonNullable<Storage['applied']> {
  const applied = storage.applied?.bind(storage)
  if (!applied) throw new Error('this storage has no applied()')
  return applied
}

describe.each(kinds)('%s', (_name, place) => {
  const make = () => place()()

  it('assigns one increasing revision per resource and keeps tombstones', async () => {
    const storage = make()
    expect(await storage.revision('a')).toBe(0)
    expect(await storage.get('a', 'x')).toBeUndefined()
    expect(
      await storage.commit([
        { resource: 'a', id: 'x', value: '{"json":1}', expectedRev: 0 },
        { resource: 'b', id: 'x', value: '{"json":2}', expectedRev: 0 },
        { resource: 'a', id: 'y', value: '{"json":3}', expectedRev: 0 },
        { resource: 'a', id: 'x', value: null },
      ]),
    ).toEqual([{ rev: 1 }, { rev: 1 }, { rev: 2 }, { rev: 3 }])
    expect(await storage.revision('a')).toBe(3)
    expect(await storage.get('a', 'x')).toEqual({ id: 'x', rev: 3, value: null })
    expect(await storage.get('a', 'y')).toEqual({ id: 'y', rev: 2, value: '{"json":3}' })
    await storage.close()
  })

  it('keeps field revisions beside the value, with the batch revisions filled in; a tombstone has none', async () => {
    const storage = make()
    // Placeholders: NUL, a batch index, NUL — the revision that write of the batch gets.
    const slot = (k: number) => `\u0000${k}\u0000`
    expect(
      await storage.commit([
        { resource: 'b', id: 'x', value: '{"json":{}}', expectedRev: 0 },
        {
          resource: 'a',
          id: 'x',
          value: '{"json":{"n":1}}',
          expectedRev: 0,
          fields: `{"w":[[${slot(1)},"c"]]}`,
        },
        { resource: 'a', id: 'y', value: '{"json":{}}', expectedRev: 0 },
        {
          resource: 'a',
          id: 'x',
          value: '{"json":{"n":2,"m":3}}',
          fields: `{"w":[[${slot(1)},"c"],[${slot(3)},"d","Ada"]],"f":{".n":0,".m":1}}`,
        },
      ]),
    ).toEqual([{ rev: 1 }, { rev: 1 }, { rev: 2 }, { rev: 3 }])
    expect(await storage.get('a', 'x')).toEqual({
      id: 'x',
      rev: 3,
      value: '{"json":{"n":2,"m":3}}',
      fields: '{"w":[[1,"c"],[3,"d","Ada"]],"f":{".n":0,".m":1}}',
    })
    // A write without field revisions leaves none; so does a delete.
    await storage.commit([{ resource: 'a', id: 'y', value: '{"json":{"k":1}}', expectedRev: 2 }])
    expect(await storage.get('a', 'y')).toEqual({ id: 'y', rev: 4, value: '{"json":{"k":1}}' })
    await storage.commit([{ resource: 'a', id: 'x', value: null, expectedRev: 3, fields: '{"w":[]}' }])
    expect(await storage.get('a', 'x')).toEqual({ id: 'x', rev: 5, value: null })
    await storage.close()
  })

  it('refuses a write whose expected revision moved, with the later writes of that entity only', async () => {
    const storage = make()
    await storage.commit([{ resource: 'a', id: 'x', value: '1', expectedRev: 0 }])
    expect(
      await storage.commit([
        { resource: 'a', id: 'x', value: '2', expectedRev: 0 },
        { resource: 'a', id: 'y', value: '3', expectedRev: 0 },
        { resource: 'a', id: 'x', value: '4' },
        { resource: 'a', id: 'y', value: '5' },
      ]),
    ).toEqual([{ conflict: true }, { rev: 2 }, { conflict: true }, { rev: 3 }])
    expect(await storage.get('a', 'x')).toMatchObject({ rev: 1, value: '1' })
    expect(await storage.get('a', 'y')).toMatchObject({ rev: 3, value: '5' })
    await storage.close()
  })

  it('lists in creation order, in pages, live only or everything after since', async () => {
    const storage = make()
    const ids = ['e', 'd', 'c', 'b', 'a']
    await storage.commit(ids.map(id => ({ resource: 'r', id, value: `"${id}"`, expectedRev: 0 })))
    await storage.commit([
      { resource: 'r', id: 'd', value: null, expectedRev: 2 },
      { resource: 'r', id: 'b', value: '"b2"', expectedRev: 4 },
    ])
    const all: string[] = []
    let page = await storage.list('r', { limit: 2 })
    all.push(...page.entities.map(e => e.id))
    expect(page.more).toBe(true)
    while (page.more) {
      page = await storage.list('r', { after: page.entities.at(-1)?.cursor, limit: 2 })
      all.push(...page.entities.map(e => e.id))
    }
    expect(all).toEqual(['e', 'c', 'b', 'a'])
    const since = await storage.list('r', { since: 5, limit: 10 })
    expect(since.entities.map(({ id, rev, value }) => ({ id, rev, value }))).toEqual([
      { id: 'd', rev: 6, value: null },
      { id: 'b', rev: 7, value: '"b2"' },
    ])
    expect(since.more).toBe(false)
    expect((await storage.list('nothing', { limit: 5 })).entities).toEqual([])
    await storage.close()
  })

  it('records a committed write with an origin, and nothing for a refused one', async () => {
    const storage = track(make())
    const applied = appliedOf(storage)
    expect(await applied('c1', 1)).toBeUndefined()
    expect(
      await storage.commit([
        { resource: 'a', id: 'x', value: '1', expectedRev: 0, origin: { client: 'c1', op: 1 } },
        { resource: 'a', id: 'y', value: '2', expectedRev: 7, origin: { client: 'c1', op: 2 } },
        { resource: 'a', id: 'y', value: '3', origin: { client: 'c1', op: 3 } },
        { resource: 'a', id: 'x', value: '4', origin: { client: 'c1', op: '1' } },
        { resource: 'b', id: 'z', value: null, expectedRev: 0, origin: { client: 'tab:{1}|é', op: 'x|1' } },
        { resource: 'b', id: 'w', value: '5', expectedRev: 0 },
      ]),
    ).toEqual([{ rev: 1 }, { conflict: true }, { conflict: true }, { rev: 2 }, { rev: 1 }, { rev: 2 }])
    expect(await applied('c1', 1)).toEqual({ resource: 'a', id: 'x', rev: 1 })
    // Op 1 and op "1" are different ops.
    expect(await applied('c1', '1')).toEqual({ resource: 'a', id: 'x', rev: 2 })
    // Refused by the compare-and-set, alone or with the write it built on: not applied.
    expect(await applied('c1', 2)).toBeUndefined()
    expect(await applied('c1', 3)).toBeUndefined()
    expect(await applied('tab:{1}|é', 'x|1')).toEqual({ resource: 'b', id: 'z', rev: 1 })
    // The same op of another client is another write.
    expect(await applied('c2', 1)).toBeUndefined()
    expect(await applied('tab:{1}|é', 1)).toBeUndefined()
  })

  it('finds each applied op whatever order a client numbers them in, and keeps the first record of an op', async () => {
    const storage = track(make())
    const applied = appliedOf(storage)
    // Upwards, then back down (another tab's outbox), a gap, strings and a duplicate.
    const ops: (number | string)[] = [1, 2, 5, 3, 10, 4, -1, 0.5, 'a', 7, 5]
    let rev = 0
    for (const op of ops)
      await storage.commit([
        { resource: 'a', id: 'x', value: String(op), expectedRev: rev++, origin: { client: 'c', op } },
      ])
    for (const [i, op] of ops.entries())
      if (i !== ops.length - 1) expect(await applied('c', op)).toEqual({ resource: 'a', id: 'x', rev: i + 1 })
    // The duplicate of op 5 left the first record as it was.
    expect(await applied('c', 5)).toEqual({ resource: 'a', id: 'x', rev: 3 })
    for (const op of [6, 8, 9, 11, 0, '5', 'b']) expect(await applied('c', op)).toBeUndefined()
  })

  it("prunes a long run of one client's ops and still finds the ones after it", async () => {
    let time = 1_700_000_000_000
    const storage = track(place()({ dedupWindow: 60_000, now: () => time }))
    const applied = appliedOf(storage)
    const run = Array.from({ length: 1_500 }, (_, i) => i + 1)
    await storage.commit(
      run.map(op => ({
        resource: 'a',
        id: `e${op}`,
        value: '1',
        expectedRev: 0,
        origin: { client: 'c', op },
      })),
    )
    time += 30_000
    await storage.commit([
      { resource: 'a', id: 'x', value: '1', expectedRev: 0, origin: { client: 'c', op: 1_501 } },
    ])
    time += 30_000
    // Each commit prunes a batch of expired records: two commits for the whole run.
    for (const op of [1_502, 1_503])
      await storage.commit([
        { resource: 'a', id: `e${op}`, value: '1', expectedRev: 0, origin: { client: 'c', op } },
      ])
    for (const op of [1, 750, 1_500]) expect(await applied('c', op)).toBeUndefined()
    expect(await applied('c', 1_501)).toEqual({ resource: 'a', id: 'x', rev: 1_501 })
    expect(await applied('c', 1_503)).toEqual({ resource: 'a', id: 'e1503', rev: 1_503 })
  })

  it('forgets an applied write once dedupWindow has passed, and pruning deletes it', async () => {
    let time = 1_700_000_000_000
    const start = time
    const storage = track(place()({ dedupWindow: 60_000, now: () => time }))
    const applied = appliedOf(storage)
    await storage.commit([
      { resource: 'a', id: 'x', value: '1', expectedRev: 0, origin: { client: 'c', op: 1 } },
    ])
    time += 59_999
    expect(await applied('c', 1)).toEqual({ resource: 'a', id: 'x', rev: 1 })
    time += 1
    expect(await applied('c', 1)).toBeUndefined()
    // A later commit of the same client prunes; with the clock set back, a
    // record that were only hidden would show again.
    await storage.commit([
      { resource: 'a', id: 'x', value: '2', expectedRev: 1, origin: { client: 'c', op: 2 } },
    ])
    time = start
    await vi.waitFor(async () => expect(await applied('c', 1)).toBeUndefined())
    expect(await applied('c', 2)).toEqual({ resource: 'a', id: 'x', rev: 2 })
  })

  it('names a bad dedupWindow', () => {
    expect(() => place()({ dedupWindow: 0 })).toThrow(/dedupWindow must be a whole number of milliseconds/)
    expect(() => place()({ dedupWindow: 1.5 })).toThrow(/dedupWindow/)
  })
})

describe('sqliteStorage', () => {
  it('keeps everything across a reopen of the same file', () => {
    const file = tmpFile()
    const first = sqliteStorage({ file })
    first.commit([{ resource: 'a', id: 'x', value: '{"json":{"n":1}}', expectedRev: 0 }])
    first.close()
    first.close()
    const second = sqliteStorage({ file })
    expect(second.get('a', 'x')).toEqual({ id: 'x', rev: 1, value: '{"json":{"n":1}}' })
    expect(second.commit([{ resource: 'a', id: 'y', value: '2', expectedRev: 0 }])).toEqual([{ rev: 2 }])
    second.close()
  })

  it('keeps the database in WAL mode, so a commit is durable without rewriting the file', () => {
    const file = tmpFile()
    const storage = sqliteStorage({ file })
    storage.commit([{ resource: 'a', id: 'x', value: '1', expectedRev: 0 }])
    // journal_mode is stored in the file: another connection sees it.
    const other = new Database(file, { readonly: true })
    expect(other.pragma('journal_mode', { simple: true })).toBe('wal')
    other.close()
    expect(existsSync(`${file}-wal`)).toBe(true)
    storage.close()
  })

  it('adds the table of applied writes to a file of an earlier version, keeping its data', () => {
    const file = tmpFile()
    mkdirSync(dirname(file), { recursive: true })
    const old = new Database(file)
    old.exec(`
      CREATE TABLE lensync_entities (seq INTEGER PRIMARY KEY, resource TEXT NOT NULL, id TEXT NOT NULL,
        rev INTEGER NOT NULL, value TEXT, UNIQUE (resource, id));
      CREATE TABLE lensync_resources (resource TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO lensync_entities (resource, id, rev, value) VALUES ('a', 'x', 1, '1');
      INSERT INTO lensync_resources (resource, rev) VALUES ('a', 1);
    `)
    old.close()
    const storage = track(sqliteStorage({ file }))
    expect(storage.get('a', 'x')).toEqual({ id: 'x', rev: 1, value: '1' })
    expect(
      storage.commit([
        { resource: 'a', id: 'x', value: '2', expectedRev: 1, origin: { client: 'c', op: 1 } },
      ]),
    ).toEqual([{ rev: 2 }])
    expect(storage.applied?.('c', 1)).toEqual({ resource: 'a', id: 'x', rev: 2 })
  })

  it('adds the column of field revisions to a file of an earlier version: its entities have none', () => {
    const file = tmpFile()
    mkdirSync(dirname(file), { recursive: true })
    const old = new Database(file)
    old.exec(`
      CREATE TABLE lensync_entities (seq INTEGER PRIMARY KEY, resource TEXT NOT NULL, id TEXT NOT NULL,
        rev INTEGER NOT NULL, value TEXT, deleted_at INTEGER, UNIQUE (resource, id));
      CREATE TABLE lensync_resources (resource TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO lensync_entities (resource, id, rev, value) VALUES ('a', 'x', 1, '1');
      INSERT INTO lensync_resources (resource, rev) VALUES ('a', 1);
    `)
    old.close()
    const storage = track(sqliteStorage({ file }))
    expect(storage.get('a', 'x')).toEqual({ id: 'x', rev: 1, value: '1' })
    const fields = '{"w":[[\u00000\u0000,"c"]],"f":{".n":0}}'
    expect(storage.commit([{ resource: 'a', id: 'x', value: '2', expectedRev: 1, fields }])).toEqual([
      { rev: 2 },
    ])
    expect(storage.get('a', 'x')).toEqual({
      id: 'x',
      rev: 2,
      value: '2',
      fields: '{"w":[[2,"c"]],"f":{".n":0}}',
    })
  })

  it('names the option when the file is not a path', () => {
    expect(() => sqliteStorage({ file: '' })).toThrow(/file must be a path/)
  })
})

describe.each(kinds.filter(([, , sharing]) => sharing === 'reopen'))('%s', (_name, place) => {
  it('keeps applied writes across a reopen: they are committed with the write', async () => {
    const open = place()
    const first = open()
    await first.commit([
      { resource: 'a', id: 'x', value: '1', expectedRev: 0, origin: { client: 'c', op: 1 } },
    ])
    await first.close()
    const second = track(open())
    expect(await appliedOf(second)('c', 1)).toEqual({ resource: 'a', id: 'x', rev: 1 })
  })
})

describe.each(kinds.filter(([, , sharing]) => sharing === 'shared'))('%s', (_name, place) => {
  it('finds a write applied through one storage object through another on the same data', async () => {
    const open = place()
    const a = track(open())
    const b = track(open())
    await a.commit([{ resource: 'a', id: 'x', value: '1', expectedRev: 0, origin: { client: 'c', op: 1 } }])
    expect(await appliedOf(b)('c', 1)).toEqual({ resource: 'a', id: 'x', rev: 1 })
    await b.commit([{ resource: 'a', id: 'x', value: '2', expectedRev: 1, origin: { client: 'c', op: 2 } }])
    expect(await appliedOf(a)('c', 2)).toEqual({ resource: 'a', id: 'x', rev: 2 })
  })

  it('hands field revisions to every node: in get, and with the change in the feed', async () => {
    const open = place()
    const a = track(open())
    const b = track(open())
    const seen: { rev: number; fields: string | undefined }[] = []
    const stop = await (b.watch as NonNullable<Storage['watch']>).call(b, {
      change: change => void seen.push({ rev: change.rev, fields: change.fields }),
      reset: () => {},
    })
    await a.commit([
      {
        resource: 'a',
        id: 'x',
        value: '{"json":{"n":1}}',
        expectedRev: 0,
        fields: '{"w":[[\u00000\u0000,"c"]],"f":{".n":0}}',
      },
      { resource: 'a', id: 'x', value: null },
    ])
    await vi.waitFor(() =>
      expect(seen).toEqual([
        { rev: 1, fields: '{"w":[[1,"c"]],"f":{".n":0}}' },
        { rev: 2, fields: undefined },
      ]),
    )
    expect(await b.get('a', 'x')).toEqual({ id: 'x', rev: 2, value: null })
    await a.commit([
      {
        resource: 'a',
        id: 'y',
        value: '{"json":1}',
        expectedRev: 0,
        fields: '{"w":[[\u00000\u0000,"c"]],"f":{"":0}}',
      },
    ])
    expect(await b.get('a', 'y')).toEqual({
      id: 'y',
      rev: 3,
      value: '{"json":1}',
      fields: '{"w":[[3,"c"]],"f":{"":0}}',
    })
    stop()
  })
})
