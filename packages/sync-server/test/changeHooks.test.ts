import type { AckMessage } from '@lensync/protocol'
import type { ChangeEvent, EntityChange, OnChange, SyncServer, Timers } from '@lensync/sync-server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { enc, quietLogger, type RawClient, rawClient, STORAGE_KINDS, startServerOn } from './hubHelpers.ts'
import { POSTGRES_URL, postgresSchema } from './support/postgres.ts'
import { REDIS_URL, redisPrefix } from './support/redis.ts'

// `resources.<name>.onChange`: after each commit, in revision order per
// entity, once per write across all nodes, never undoing the write.

const servers: SyncServer[] = []
const clients: RawClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
  for (const server of servers.splice(0)) await server.close()
})

async function connect(url: string): Promise<RawClient> {
  const client = await rawClient(url)
  clients.push(client)
  client.send({ t: 'hello', v: 1, client: `c${clients.length}`, token: 'ann' })
  await client.next({ t: 'welcome' })
  return client
}

/** A promise with its resolve, for a hook that waits until the test lets it go. */
function gate() {
  let open = () => {}
  const opened = new Promise<void>(resolve => {
    open = resolve
  })
  return { opened, open }
}

describe.each(STORAGE_KINDS)('onChange on %s', kind => {
  async function start(onChange: OnChange, logger = quietLogger()) {
    const server = await startServerOn(kind, {
      logger,
      authenticate: (_request, hello) => ({ id: hello.token }),
      resources: { person: { onChange } },
    })
    servers.push(server)
    return server
  }

  it('reports each write with its revision, decoded values and principal, in order', async () => {
    const events: ChangeEvent[] = []
    const server = await start(event => void events.push(event))
    const client = await connect(server.url)
    client.send({ t: 'put', op: 1, r: 'person', id: 'p', value: enc({ name: 'Ann', tags: ['a'] }) })
    const born = { json: '2000-01-02T00:00:00.000Z', meta: { values: ['Date'] } }
    client.send({ t: 'patch', op: 2, r: 'person', id: 'p', set: [[['born'], born]], unset: [['tags']] })
    client.send({ t: 'del', op: 3, r: 'person', id: 'p' })
    client.send({ t: 'put', op: 4, r: 'other', id: 'o', value: enc(1) })
    const acks = await Promise.all([1, 2, 3].map(op => client.next<AckMessage>({ op })))
    await vi.waitFor(() => expect(events).toHaveLength(3))

    const [put, patch, del] = events as [ChangeEvent, ChangeEvent, ChangeEvent]
    expect(put).toEqual({
      resource: 'person',
      id: 'p',
      rev: acks[0]?.rev,
      value: { name: 'Ann', tags: ['a'] },
      previous: undefined,
      change: { kind: 'put', value: { name: 'Ann', tags: ['a'] } },
      principal: { id: 'ann' },
    })
    expect(patch.rev).toBe(acks[1]?.rev)
    expect(patch.previous).toEqual({ name: 'Ann', tags: ['a'] })
    expect(patch.value).toEqual({ name: 'Ann', born: new Date('2000-01-02T00:00:00.000Z') })
    expect(patch.change).toEqual({
      kind: 'patch',
      set: [{ path: '.born', value: new Date('2000-01-02T00:00:00.000Z') }],
      unset: ['.tags'],
    })
    expect((patch.change as Extract<EntityChange, { kind: 'patch' }>).set[0]?.value).toBeInstanceOf(Date)
    expect(del).toMatchObject({ rev: acks[2]?.rev, value: undefined, change: { kind: 'delete' } })
    expect(del.previous).toEqual(patch.value)
  })

  it('never holds acks or other entities up behind a slow hook, and keeps one entity in order', async () => {
    const slow = gate()
    const calls: string[] = []
    const server = await start(async ({ id, rev }) => {
      calls.push(`${id}@${rev}`)
      if (id === 'a' && calls.length === 1) await slow.opened
    })
    const client = await connect(server.url)
    client.send({ t: 'put', op: 1, r: 'person', id: 'a', value: enc(1) })
    const first = await client.next<AckMessage>({ op: 1 })
    await vi.waitFor(() => expect(calls).toEqual([`a@${first.rev}`]))
    client.send({ t: 'put', op: 2, r: 'person', id: 'a', value: enc(2) })
    client.send({ t: 'put', op: 3, r: 'person', id: 'b', value: enc(3) })
    const second = await client.next<AckMessage>({ op: 2 })
    const other = await client.next<AckMessage>({ op: 3 })
    // b's hook runs while a's first one is still waiting; a's second waits for it.
    await vi.waitFor(() => expect(calls).toEqual([`a@${first.rev}`, `b@${other.rev}`]))
    slow.open()
    await vi.waitFor(() => expect(calls).toEqual([`a@${first.rev}`, `b@${other.rev}`, `a@${second.rev}`]))
  })

  it('logs a throwing or rejecting hook with the entity and revision, and keeps the write', async () => {
    const logger = quietLogger()
    const server = await start(({ id }) => {
      if (id === 'sync') throw new Error('sync boom')
      return Promise.reject(new Error('async boom'))
    }, logger)
    const client = await connect(server.url)
    client.send({ t: 'put', op: 1, r: 'person', id: 'sync', value: enc(1) })
    client.send({ t: 'put', op: 2, r: 'person', id: 'async', value: enc(2) })
    const ack = await client.next<AckMessage>({ op: 1 })
    await client.next({ op: 2 })
    await vi.waitFor(() => expect(logger.error).toHaveBeenCalledTimes(2))
    expect(logger.error).toHaveBeenCalledWith(
      `lensync hub: onChange of person sync at revision ${ack.rev} failed`,
      expect.objectContaining({ message: 'sync boom' }),
    )
    client.send({ t: 'sub', r: 'person', id: 'sync' })
    expect(await client.next({ t: 'snap' })).toMatchObject({ value: { json: 1 } })
  })
})

describe('onChange on close()', () => {
  it('waits a bounded while for hooks still running, then logs what did not finish', async () => {
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
    const logger = quietLogger()
    const server = await startServerOn('memory', {
      logger,
      timers,
      pingPeriod: 0,
      resources: { person: { onChange: () => new Promise<void>(() => {}) } },
    })
    const client = await rawClient(server.url)
    client.send({ t: 'put', op: 1, r: 'person', id: 'a', value: enc(1) })
    await client.next({ op: 1 })
    let closed = false
    const closing = server.close().then(() => {
      closed = true
    })
    const drainTimer = await vi.waitFor(() => {
      const found = [...pending].find(([, timer]) => timer.ms === 5_000)
      if (!found) throw new Error('no drain timer yet')
      return found
    })
    expect(closed).toBe(false)
    pending.delete(drainTimer[0])
    drainTimer[1].callback()
    await closing
    expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/1 onChange call\(s\) had not finished/))
  })
})

describe.each(['redis', 'postgres'] as const)('onChange with two nodes on %s', kind => {
  it('is called once per write, by the node that committed it', async () => {
    const shared =
      kind === 'redis'
        ? { redis: { url: REDIS_URL, prefix: redisPrefix() } }
        : { postgres: { url: POSTGRES_URL, schema: postgresSchema() } }
    const seen: Record<string, number[]> = { a: [], b: [] }
    const node = async (name: 'a' | 'b') => {
      const { createSyncServer } = await import('@lensync/sync-server')
      const server = await createSyncServer({
        port: 0,
        logger: quietLogger(),
        ...shared,
        resources: { doc: { onChange: ({ rev }) => void seen[name]?.push(rev) } },
      })
      servers.push(server)
      return server
    }
    const a = await node('a')
    const b = await node('b')
    const onA = await rawClient(a.url)
    const onB = await rawClient(b.url)
    clients.push(onA, onB)
    onA.send({ t: 'sub', r: 'doc' })
    onB.send({ t: 'sub', r: 'doc' })
    await onA.next({ t: 'snap' })
    await onB.next({ t: 'snap' })

    onA.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc(1) })
    const first = await onA.next<AckMessage>({ op: 1 })
    onB.send({ t: 'put', op: 1, r: 'doc', id: 'y', value: enc(2) })
    const second = await onB.next<AckMessage>({ op: 1 })
    // Each node saw the other's write through the feed…
    await onB.next({ t: 'change', id: 'x' })
    await onA.next({ t: 'change', id: 'y' })
    // …and only the committing node called the hook.
    await vi.waitFor(() => expect(seen).toEqual({ a: [first.rev], b: [second.rev] }))
  })
})
