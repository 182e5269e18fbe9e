import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  memoryStorage,
  postgresStorage,
  redisStorage,
  type Storage,
  sqliteStorage,
} from '@lensync/sync-server'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { POSTGRES_URL, postgresSchema } from './support/postgres.ts'
import { REDIS_URL, redisPrefix } from './support/redis.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tmpFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lensync-storage-'))
  dirs.push(dir)
  return join(dir, 'nested', 'lensync.db')
}

const kinds: [string, () => Storage][] = [
  ['memoryStorage', () => memoryStorage()],
  ['sqliteStorage :memory:', () => sqliteStorage({ file: ':memory:' })],
  ['sqliteStorage file', () => sqliteStorage({ file: tmpFile() })],
  ['redisStorage', () => redisStorage({ url: REDIS_URL, prefix: redisPrefix() })],
  ['postgresStorage', () => postgresStorage({ url: POSTGRES_URL, schema: postgresSchema() })],
]

describe.each(kinds)('%s', (_name, make) => {
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

  it('names the option when the file is not a path', () => {
    expect(() => sqliteStorage({ file: '' })).toThrow(/file must be a path/)
  })
})
