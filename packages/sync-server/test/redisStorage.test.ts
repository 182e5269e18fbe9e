import {
  type ChangeListener,
  type CommittedChange,
  createSyncServer,
  redisStorage,
  ServerError,
  type Storage,
  type StorageWrite,
} from '@lensync/sync-server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { REDIS_URL, redisAdmin, redisPrefix } from './support/redis.ts'

// What the Redis adapter adds to the Storage contract (storage.test.ts runs
// the contract itself on it): one atomic revision sequence for every node,
// and a feed of every node's commits, in commit order, with gaps detected.

const opened: Storage[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map(storage => storage.close()))
})

function open(prefix: string, feedLength?: number): Storage {
  const storage = redisStorage({
    url: REDIS_URL,
    prefix,
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

describe('redisStorage', () => {
  it('reports every commit of every node to every watcher, in commit order, with its revision filled in', async () => {
    const prefix = redisPrefix()
    const a = open(prefix)
    const b = open(prefix)
    const seenByA = recorder()
    const seenByB = recorder()
    await a.watch?.(seenByA.listener)
    await b.watch?.(seenByB.listener)

    const first = put('x', 1, 0)
    expect(await a.commit([first])).toEqual([{ rev: 1 }])
    const second = put('y', 2, 0)
    const third = { ...put('x', 3, 1) }
    expect(await b.commit([second, third])).toEqual([{ rev: 2 }, { rev: 3 }])

    await vi.waitFor(() => expect(seenByA.changes).toHaveLength(3))
    await vi.waitFor(() => expect(seenByB.changes).toHaveLength(3))
    const summary = (c: CommittedChange) => [c.id, c.rev, c.value, c.change]
    const expected = [
      ['x', 1, '{"json":1}', '{"t":"change","r":"doc","id":"x","rev":1,"value":{"json":1}}'],
      ['y', 2, '{"json":2}', '{"t":"change","r":"doc","id":"y","rev":2,"value":{"json":2}}'],
      ['x', 3, '{"json":3}', '{"t":"change","r":"doc","id":"x","rev":3,"value":{"json":3}}'],
    ]
    expect(seenByA.changes.map(summary)).toEqual(expected)
    expect(seenByB.changes.map(summary)).toEqual(expected)
    // Each node recognizes its own writes (the very objects it committed), not the other's.
    expect(seenByA.changes.map(c => c.write)).toEqual([first, undefined, undefined])
    expect(seenByA.changes[0]?.write).toBe(first)
    expect(seenByB.changes[1]?.write).toBe(second)
    expect(seenByB.changes[2]?.write).toBe(third)
    expect(seenByB.changes[0]?.write).toBeUndefined()
    expect([...seenByA.resets, ...seenByB.resets]).toEqual([])
  })

  it('lets exactly one of two nodes create or update an entity from the same base revision', async () => {
    const prefix = redisPrefix()
    const a = open(prefix)
    const b = open(prefix)
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
    const prefix = redisPrefix()
    const nodes = [open(prefix), open(prefix), open(prefix)]
    const commits = Array.from({ length: 90 }, (_, i) =>
      (nodes[i % 3] as Storage).commit([put(`k${i}`, i, 0), put(`k${i}`, -i)]),
    )
    const revs = (await Promise.all(commits)).flat().map(r => ('rev' in r ? r.rev : -1))
    expect([...revs].sort((x, y) => x - y)).toEqual(Array.from({ length: 180 }, (_, i) => i + 1))
    expect(await nodes[0]?.revision('doc')).toBe(180)
  })

  it('reports a reset when the feed misses an entry or starts over, and keeps reporting changes', async () => {
    const prefix = redisPrefix()
    const storage = open(prefix)
    const seen = recorder()
    await storage.watch?.(seen.listener)
    await storage.commit([put('x', 1, 0)])
    await vi.waitFor(() => expect(seen.changes).toHaveLength(1))

    // An entry this node never sees (as if the stream had been trimmed past it).
    await redisAdmin().incr(`{${prefix}}:seq`)
    await storage.commit([put('x', 2, 1)])
    await vi.waitFor(() => expect(seen.changes).toHaveLength(2))
    expect(seen.resets).toEqual(['missed 1 change(s) of the feed'])

    // The numbering starts over (Redis lost its data).
    await redisAdmin().del(`{${prefix}}:seq`)
    await storage.commit([put('y', 3, 0)])
    await vi.waitFor(() => expect(seen.changes).toHaveLength(3))
    expect(seen.resets).toHaveLength(2)
    expect(seen.resets[1]).toMatch(/started over/)
    expect(seen.changes.map(c => c.rev)).toEqual([1, 2, 3])
  })

  it('starts a watcher at the current end of the feed and keeps the stream near feedLength', async () => {
    const prefix = redisPrefix()
    const storage = open(prefix, 100)
    for (let i = 0; i < 10; i++)
      await storage.commit(Array.from({ length: 50 }, (_, j) => put(`k${i}-${j}`, j, 0)))
    const seen = recorder()
    await storage.watch?.(seen.listener)
    await storage.commit([put('late', 1, 0)])
    await vi.waitFor(() => expect(seen.changes).toHaveLength(1))
    expect(seen.changes[0]).toMatchObject({ id: 'late', rev: 501 })
    expect(seen.resets).toEqual([])
    // MAXLEN ~ trims whole macro nodes: near the bound, far from 501.
    expect(await redisAdmin().xlen(`{${prefix}}:feed`)).toBeLessThan(300)
  })

  it('stops the feed with close(); close is idempotent and watch() afterwards rejects', async () => {
    const storage = open(redisPrefix())
    const seen = recorder()
    const stop = await storage.watch?.(seen.listener)
    expect(typeof stop).toBe('function')
    stop?.()
    await storage.commit([put('x', 1, 0)])
    await Promise.all([storage.close(), storage.close()])
    expect(seen.changes).toEqual([])
    await expect(storage.watch?.(seen.listener)).rejects.toThrow(/after close/)
  })

  it('fails createSyncServer with STORAGE_UNAVAILABLE when Redis cannot be reached, without showing credentials', async () => {
    const failure = createSyncServer({
      port: 0,
      redis: { url: 'redis://user:s3cret@127.0.0.1:1', redisOptions: { retryStrategy: () => null } },
      logger: { error: vi.fn(), warn: vi.fn() },
    })
    await expect(failure).rejects.toBeInstanceOf(ServerError)
    await expect(failure).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringContaining('redis://***@127.0.0.1:1'),
    })
    await expect(failure).rejects.not.toMatchObject({ message: expect.stringContaining('s3cret') })
  })

  it("records a client's applied writes in one hash whose TTL is the dedup window", async () => {
    const prefix = redisPrefix()
    const storage = redisStorage({ url: REDIS_URL, prefix, dedupWindow: 3_600_000, now: () => 1_000 })
    opened.push(storage)
    await storage.commit([
      { ...put('x', 1, 0), origin: { client: 'tab-1', op: 7 } },
      { ...put('y', 2, 0), origin: { client: 'tab-1', op: '7' } },
      { ...put('x', 3, 5), origin: { client: 'tab-1', op: 8 } },
    ])
    const key = `{${prefix}}:applied:tab-1`
    expect(await redisAdmin().hgetall(key)).toEqual({
      '7': '1|1000|["doc","x"]',
      '"7"': '2|1000|["doc","y"]',
    })
    const ttl = await redisAdmin().pttl(key)
    expect(ttl).toBeGreaterThan(3_590_000)
    expect(ttl).toBeLessThanOrEqual(3_600_000)
  })

  it("deletes a busy client's expired records a few at a time as it goes on writing", async () => {
    const prefix = redisPrefix()
    let time = 1_000_000
    const storage = redisStorage({ url: REDIS_URL, prefix, dedupWindow: 60_000, now: () => time })
    opened.push(storage)
    // More records than Redis keeps in a compact hash, so each commit sweeps only some.
    const old = Array.from({ length: 300 }, (_, op) => ({
      resource: 'doc',
      id: `e${op}`,
      value: '1',
      expectedRev: 0,
      origin: { client: 'busy', op },
    }))
    await storage.commit(old)
    const key = `{${prefix}}:applied:busy`
    expect(await redisAdmin().hlen(key)).toBe(300)
    time += 60_000
    for (let op = 300; op < 360; op++)
      await storage.commit([{ resource: 'doc', id: 'x', value: '2', origin: { client: 'busy', op } }])
    const left = Object.keys(await redisAdmin().hgetall(key)).filter(field => field !== '~')
    expect(left.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => 300 + i))
  })

  it('names bad options', () => {
    expect(() => redisStorage({ url: 'http://x' })).toThrow(/url must be a redis:\/\//)
    expect(() => redisStorage({ prefix: 'a{b}' })).toThrow(/prefix must be a non-empty string without braces/)
    expect(() => redisStorage({ feedLength: 5 })).toThrow(/feedLength must be an integer >= 100/)
  })
})
