import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type PresenceRooms, type PresenceRoomsOptions, redisPresenceBus } from '../../src/presence/index.ts'
import { REDIS_URL, redisAdmin, redisPrefix } from '../support/redis.ts'
import { drain, type FakeMember, member, rooms, state } from './presenceHelpers.ts'

// Two (or three) server nodes sharing presence rooms through Redis, each a
// PresenceRooms on its own redisPresenceBus, with real timers and a real
// Redis: members on every node see each other, and a node that dies takes
// its members out of every room within presenceTimeout.

const opened: PresenceRooms<FakeMember>[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map(node => node.close()))
})

async function node(
  prefix: string,
  name: string,
  options: Partial<PresenceRoomsOptions<FakeMember>> = {},
): Promise<PresenceRooms<FakeMember>> {
  const presence = rooms({
    bus: redisPresenceBus({ url: REDIS_URL, prefix, node: name, logger: { warn: vi.fn() } }),
    ...options,
  })
  opened.push(presence)
  await presence.ready
  return presence
}

/** Waits until `m` was sent an envelope matching `expected`, and returns everything it was sent. */
async function until(m: FakeMember, expected: Record<string, unknown>) {
  await vi.waitFor(() => expect(m.inbox).toContainEqual(expect.objectContaining(expected)), {
    timeout: 5000,
    interval: 5,
  })
  return drain(m)
}

const ada = { name: 'Ada' }
const bob = { name: 'Bob' }

describe('presence on Redis, across nodes', () => {
  it('members on two nodes see each other join, change and leave', async () => {
    const prefix = redisPrefix()
    const one = await node(prefix, 'one')
    const two = await node(prefix, 'two')
    const a = member('a')
    const b = member('b')
    await one.join(a, 'doc', state(ada))
    await two.join(b, 'doc', state(bob))
    expect(drain(b)).toEqual([{ t: 'psnap', room: 'doc', peers: [{ client: 'a', state: { json: ada } }] }])
    await until(a, { t: 'ppeer', client: 'b', state: { json: bob } })

    one.set(a, 'doc', state({ ...ada, field: 'name' }))
    await until(b, { t: 'ppeer', client: 'a', state: { json: { ...ada, field: 'name' } } })
    two.leave(b, 'doc')
    await until(a, { t: 'pgone', room: 'doc', client: 'b' })
    expect(one.members('doc').map(m => m.client)).toEqual(['a'])
  })

  it('a late joiner on another node gets the members in joining order with their current states', async () => {
    const prefix = redisPrefix()
    const one = await node(prefix, 'one')
    const two = await node(prefix, 'two')
    const three = await node(prefix, 'three')
    const [a1, b, a2] = [member('a1'), member('b'), member('a2')]
    await one.join(a1, 'doc', state({ n: 'a1' }))
    await until(a1, { t: 'psnap' })
    await two.join(b, 'doc', state({ n: 'b' }))
    await until(a1, { t: 'ppeer', client: 'b' })
    await one.join(a2, 'doc', state({ n: 'a2' }))
    one.set(a1, 'doc', state({ n: 'a1', field: 'email' }))
    await until(b, { t: 'ppeer', client: 'a1', state: { json: { n: 'a1', field: 'email' } } })

    const late = member('late')
    await three.join(late, 'doc', state({ n: 'late' }))
    expect(drain(late)).toEqual([
      {
        t: 'psnap',
        room: 'doc',
        peers: [
          { client: 'a1', state: { json: { n: 'a1', field: 'email' } } },
          { client: 'b', state: { json: { n: 'b' } } },
          { client: 'a2', state: { json: { n: 'a2' } } },
        ],
      },
    ])
  })

  it('a client that comes back on another node within presenceTimeout keeps its place, without a leave', async () => {
    const prefix = redisPrefix()
    // Node one's presenceTimeout timer is fired by hand, to prove it then does nothing.
    const timers: Array<() => void> = []
    const one = await node(prefix, 'one', {
      timers: { setTimeout: callback => timers.push(callback), clearTimeout: () => {} },
    })
    const two = await node(prefix, 'two')
    const watcher = member('w')
    const before = member('a')
    const third = member('t')
    await two.join(watcher, 'doc', state(bob))
    await one.join(before, 'doc', state(ada))
    await one.join(third, 'doc', state({}))
    await until(watcher, { t: 'ppeer', client: 't' })
    drain(third)
    one.disconnect(before, { clean: false })
    expect(timers).toHaveLength(1)

    const after = member('a')
    await two.join(after, 'doc', state({ ...ada, field: 'x' }))
    expect(drain(after)).toEqual([
      {
        t: 'psnap',
        room: 'doc',
        peers: [
          { client: 'w', state: { json: bob } },
          { client: 't', state: { json: {} } },
        ],
      },
    ])
    expect(drain(watcher)).toEqual([
      { t: 'ppeer', room: 'doc', client: 'a', state: { json: { ...ada, field: 'x' } } },
    ])
    // Node one hears of the move: its member sees the new state, not a leave and a join.
    expect(await until(third, { t: 'ppeer', client: 'a' })).toEqual([
      { t: 'ppeer', room: 'doc', client: 'a', state: { json: { ...ada, field: 'x' } } },
    ])
    for (const fire of timers.splice(0)) fire()
    expect(drain(third)).toEqual([])
    expect(one.members('doc').map(m => m.client)).toEqual(['w', 'a', 't'])
    expect(two.members('doc').map(m => m.client)).toEqual(['w', 'a', 't'])
    const stored = await redisAdmin().hget(`{${prefix}}:presence:room:doc`, 'a')
    expect(stored).toMatch(/^\d+\|two\|/)
  })

  it('a node that shuts down takes its members out of every room', async () => {
    const prefix = redisPrefix()
    const one = await node(prefix, 'one')
    const two = await node(prefix, 'two')
    const a = member('a')
    const b = member('b')
    await one.join(a, 'doc', state(ada))
    await one.join(a, 'chat', state(ada))
    await two.join(b, 'doc', state(bob))
    await two.join(b, 'chat', state(bob))
    expect(drain(b).filter(m => m.t === 'psnap')).toHaveLength(2)
    await one.close()
    await vi.waitFor(() => expect(two.members('chat').map(m => m.client)).toEqual(['b']))
    await vi.waitFor(() => expect(two.members('doc').map(m => m.client)).toEqual(['b']))
    expect(drain(b)).toEqual(
      expect.arrayContaining([
        { t: 'pgone', room: 'doc', client: 'a' },
        { t: 'pgone', room: 'chat', client: 'a' },
      ]),
    )
  })

  it("a kill -9'd node's members leave every room within presenceTimeout", async () => {
    const prefix = redisPrefix()
    const presenceTimeout = 300
    const survivor = await node(prefix, 'survivor', { presenceTimeout })
    const watcher = member('w')
    await survivor.join(watcher, 'doc', state(bob))
    await survivor.join(watcher, 'chat', state(bob))
    drain(watcher)

    const fixture = fileURLToPath(new URL('./fixtures/presenceNode.ts', import.meta.url))
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
    const child = spawn(
      process.execPath,
      ['--import', tsx, '--conditions=@lensync/source', fixture, REDIS_URL, prefix, String(presenceTimeout)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const exited = new Promise(resolve => child.once('exit', resolve))
    try {
      let output = ''
      child.stdout.on('data', chunk => (output += chunk))
      child.stderr.on('data', chunk => (output += chunk))
      await vi.waitFor(() => expect(output).toContain('ready'), { timeout: 15_000, interval: 20 })
      await until(watcher, { t: 'ppeer', room: 'chat', client: 'victim' })
      expect(survivor.members('doc').map(m => m.client)).toEqual(['w', 'victim'])
      drain(watcher)

      child.kill('SIGKILL')
      const killedAt = Date.now()
      await vi.waitFor(() => expect(watcher.inbox.filter(m => m.t === 'pgone')).toHaveLength(2), {
        timeout: 5000,
        interval: 5,
      })
      const elapsed = Date.now() - killedAt
      expect(drain(watcher)).toEqual(
        expect.arrayContaining([
          { t: 'pgone', room: 'doc', client: 'victim' },
          { t: 'pgone', room: 'chat', client: 'victim' },
        ]),
      )
      expect(elapsed).toBeLessThan(presenceTimeout)
      // Redis forgets the dead node's places too: a new node finds only the watcher.
      await vi.waitFor(async () =>
        expect(await redisAdmin().hkeys(`{${prefix}}:presence:room:doc`)).toEqual(['w']),
      )
    } finally {
      child.kill('SIGKILL')
      await exited
    }
  })
})
