import { defaultSerializer } from '@lensync/protocol'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPresenceRooms, parsePresenceMessage } from '../../src/presence/index.ts'
import { drain, type FakeMember, member, rooms, state } from './presenceHelpers.ts'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

const ada = { name: 'Ada', color: '#d33' }
const bob = { name: 'Bob', color: '#33d' }

describe('PresenceRooms: joining, updates, leaving', () => {
  it('answers a join with the other members in joining order and tells the others', async () => {
    const presence = rooms()
    const a = member('a')
    const b = member('b')
    const c = member('c')
    expect(await presence.join(a, 'doc', state(ada))).toEqual({ kind: 'joined' })
    expect(drain(a)).toEqual([{ t: 'psnap', room: 'doc', peers: [] }])
    await presence.join(b, 'doc', state(bob))
    await presence.join(c, 'doc', state({ name: 'Cy' }))
    expect(drain(c)).toEqual([
      {
        t: 'psnap',
        room: 'doc',
        peers: [
          { client: 'a', state: { json: ada } },
          { client: 'b', state: { json: bob } },
        ],
      },
    ])
    expect(drain(a)).toEqual([
      { t: 'ppeer', room: 'doc', client: 'b', state: { json: bob } },
      { t: 'ppeer', room: 'doc', client: 'c', state: { json: { name: 'Cy' } } },
    ])
    expect(drain(b)).toEqual([
      { t: 'psnap', room: 'doc', peers: [{ client: 'a', state: { json: ada } }] },
      { t: 'ppeer', room: 'doc', client: 'c', state: { json: { name: 'Cy' } } },
    ])
    expect(presence.members('doc').map(m => m.client)).toEqual(['a', 'b', 'c'])
  })

  it('sends an update to the others only, and nothing for the same state again', async () => {
    const presence = rooms()
    const a = member('a')
    const b = member('b')
    await presence.join(a, 'doc', state(ada))
    await presence.join(b, 'doc', state(bob))
    drain(a)
    drain(b)
    expect(presence.set(a, 'doc', state({ ...ada, field: 'name' }))).toEqual({ kind: 'updated' })
    expect(drain(b)).toEqual([
      { t: 'ppeer', room: 'doc', client: 'a', state: { json: { ...ada, field: 'name' } } },
    ])
    expect(drain(a)).toEqual([])
    expect(presence.set(a, 'doc', state({ ...ada, field: 'name' }))).toEqual({ kind: 'unchanged' })
    expect(drain(b)).toEqual([])
  })

  it('gives a late joiner the current states', async () => {
    const presence = rooms()
    const a = member('a')
    await presence.join(a, 'doc', state(ada))
    presence.set(a, 'doc', state({ ...ada, field: 'email' }))
    const late = member('late')
    await presence.join(late, 'doc', state(bob))
    expect(drain(late)).toEqual([
      { t: 'psnap', room: 'doc', peers: [{ client: 'a', state: { json: { ...ada, field: 'email' } } }] },
    ])
  })

  it('passes states through untouched, so Dates and the like survive', async () => {
    const presence = rooms()
    const a = member('a')
    const b = member('b')
    const since = new Date('2024-05-01T10:00:00Z')
    await presence.join(a, 'doc', state({ ...ada, since, tags: new Set(['x']) }))
    await presence.join(b, 'doc', state(bob))
    const [snap] = drain(b) as unknown as [{ peers: [{ state: { json: unknown; meta?: unknown } }] }]
    expect(defaultSerializer.deserialize(snap.peers[0].state)).toEqual({
      ...ada,
      since,
      tags: new Set(['x']),
    })
  })

  it('ignores updates of a room the connection is not in', async () => {
    const presence = rooms()
    const a = member('a')
    const b = member('b')
    await presence.join(b, 'doc', state(bob))
    drain(b)
    expect(presence.set(a, 'doc', state(ada))).toEqual({ kind: 'ignored' })
    expect(presence.leave(a, 'doc')).toEqual({ kind: 'ignored' })
    expect(drain(b)).toEqual([])
  })

  it('tells the others when a member leaves, and drops nothing else', async () => {
    const presence = rooms()
    const a = member('a')
    const b = member('b')
    await presence.join(a, 'doc', state(ada))
    await presence.join(b, 'doc', state(bob))
    await presence.join(a, 'other', state(ada))
    drain(b)
    expect(presence.leave(a, 'doc')).toEqual({ kind: 'left' })
    expect(drain(b)).toEqual([{ t: 'pgone', room: 'doc', client: 'a' }])
    expect(presence.members('doc').map(m => m.client)).toEqual(['b'])
    expect(presence.members('other').map(m => m.client)).toEqual(['a'])
    expect(presence.leave(a, 'doc')).toEqual({ kind: 'ignored' })
  })

  it('treats two tabs (two client ids) as two peers', async () => {
    const presence = rooms()
    const tab1 = member('tab-1')
    const tab2 = member('tab-2')
    await presence.join(tab1, 'doc', state(ada))
    await presence.join(tab2, 'doc', state(ada))
    expect(drain(tab2)).toEqual([
      { t: 'psnap', room: 'doc', peers: [{ client: 'tab-1', state: { json: ada } }] },
    ])
    expect(drain(tab1)).toEqual([
      { t: 'psnap', room: 'doc', peers: [] },
      { t: 'ppeer', room: 'doc', client: 'tab-2', state: { json: ada } },
    ])
  })

  it('fans out through broadcast when given, one call per envelope', async () => {
    const calls: Array<{ to: string[]; text: string }> = []
    const presence = rooms({
      broadcast: (members, text) => void calls.push({ to: members.map(m => m.client), text }),
    })
    const [a, b, c] = [member('a'), member('b'), member('c')]
    for (const m of [a, b, c]) await presence.join(m, 'doc', state({ n: m.client }))
    calls.length = 0
    presence.set(a, 'doc', state({ n: 'a2' }))
    expect(calls).toEqual([
      { to: ['b', 'c'], text: '{"t":"ppeer","room":"doc","client":"a","state":{"json":{"n":"a2"}}}' },
    ])
  })
})

describe('PresenceRooms: connections that end', () => {
  it('a clean close leaves every room at once', async () => {
    const presence = rooms()
    const a = member('a')
    const b = member('b')
    await presence.join(a, 'doc', state(ada))
    await presence.join(a, 'chat', state(ada))
    await presence.join(b, 'doc', state(bob))
    await presence.join(b, 'chat', state(bob))
    drain(b)
    presence.disconnect(a, { clean: true })
    expect(drain(b)).toEqual([
      { t: 'pgone', room: 'doc', client: 'a' },
      { t: 'pgone', room: 'chat', client: 'a' },
    ])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a lost connection stays for presenceTimeout, then leaves', async () => {
    const presence = rooms({ presenceTimeout: 30_000 })
    const a = member('a')
    const b = member('b')
    await presence.join(a, 'doc', state(ada))
    await presence.join(b, 'doc', state(bob))
    drain(b)
    presence.disconnect(a, { clean: false })
    vi.advanceTimersByTime(29_999)
    expect(drain(b)).toEqual([])
    expect(presence.members('doc').map(m => m.client)).toEqual(['a', 'b'])
    vi.advanceTimersByTime(1)
    expect(drain(b)).toEqual([{ t: 'pgone', room: 'doc', client: 'a' }])
    expect(presence.members('doc').map(m => m.client)).toEqual(['b'])
  })

  it('a reconnect within presenceTimeout takes the place back without a leave and join', async () => {
    const presence = rooms({ presenceTimeout: 30_000 })
    const before = member('a')
    const b = member('b')
    await presence.join(before, 'doc', state(ada))
    await presence.join(b, 'doc', state(bob))
    await presence.join(before, 'chat', state(ada))
    drain(b)
    presence.disconnect(before, { clean: false })
    vi.advanceTimersByTime(10_000)

    const after = member('a') // the same client id, a new connection
    await presence.join(after, 'doc', state(ada))
    expect(drain(after)).toEqual([
      { t: 'psnap', room: 'doc', peers: [{ client: 'b', state: { json: bob } }] },
    ])
    expect(drain(b)).toEqual([]) // same state: nothing to tell
    await presence.join(after, 'chat', state({ ...ada, field: 'name' }))
    vi.advanceTimersByTime(60_000)
    expect(drain(b)).toEqual([]) // b is not in chat; and no pgone ever came for doc
    expect(presence.members('doc').map(m => m.client)).toEqual(['a', 'b']) // a kept its place
    expect(presence.members('chat')).toEqual([
      { client: 'a', state: '{"json":{"name":"Ada","color":"#d33","field":"name"}}' },
    ])
    // The old connection's leftovers change nothing.
    presence.disconnect(before, { clean: true })
    expect(presence.set(before, 'doc', state({ gone: true }))).toEqual({ kind: 'ignored' })
    expect(presence.members('doc').map(m => m.client)).toEqual(['a', 'b'])
  })

  it('a re-join with a changed state is sent as an update', async () => {
    const presence = rooms()
    const before = member('a')
    const b = member('b')
    await presence.join(before, 'doc', state(ada))
    await presence.join(b, 'doc', state(bob))
    drain(b)
    presence.disconnect(before, { clean: false })
    await presence.join(member('a'), 'doc', state({ ...ada, field: 'email' }))
    expect(drain(b)).toEqual([
      { t: 'ppeer', room: 'doc', client: 'a', state: { json: { ...ada, field: 'email' } } },
    ])
  })

  it('a reconnect after presenceTimeout is a leave and a new join', async () => {
    const presence = rooms({ presenceTimeout: 1000 })
    const before = member('a')
    const b = member('b')
    await presence.join(before, 'doc', state(ada))
    await presence.join(b, 'doc', state(bob))
    drain(b)
    presence.disconnect(before, { clean: false })
    vi.advanceTimersByTime(1000)
    await presence.join(member('a'), 'doc', state(ada))
    expect(drain(b)).toEqual([
      { t: 'pgone', room: 'doc', client: 'a' },
      { t: 'ppeer', room: 'doc', client: 'a', state: { json: ada } },
    ])
    expect(presence.members('doc').map(m => m.client)).toEqual(['b', 'a'])
  })

  it('a second connection of the same client takes the place over from the first', async () => {
    const presence = rooms()
    const first = member('a')
    const second = member('a')
    const b = member('b')
    await presence.join(first, 'doc', state(ada))
    await presence.join(b, 'doc', state(bob))
    await presence.join(second, 'doc', state(ada))
    drain(b)
    presence.disconnect(first, { clean: true })
    expect(drain(b)).toEqual([])
    presence.set(second, 'doc', state({ ...ada, field: 'x' }))
    expect(drain(b)).toEqual([
      { t: 'ppeer', room: 'doc', client: 'a', state: { json: { ...ada, field: 'x' } } },
    ])
  })

  it('close() stops every timer and sends nothing more', async () => {
    const presence = rooms({ rate: { perSecond: 1, burst: 1 } })
    const a = member('a')
    const b = member('b')
    await presence.join(a, 'doc', state(ada))
    await presence.join(b, 'doc', state(bob))
    presence.set(a, 'doc', state({ n: 1 }))
    presence.set(a, 'doc', state({ n: 2 })) // coalesced: a timer waits for a token
    presence.disconnect(b, { clean: false }) // a timer waits for presenceTimeout
    expect(vi.getTimerCount()).toBe(2)
    await presence.close()
    expect(vi.getTimerCount()).toBe(0)
    drain(a)
    expect(await presence.join(member('c'), 'doc', state({}))).toEqual({ kind: 'ignored' })
    expect(drain(a)).toEqual([])
  })
})

describe('PresenceRooms: limits', () => {
  it('refuses a state over maxPresenceBytes with TOO_LARGE, counting UTF-8 bytes', async () => {
    const presence = rooms({ maxPresenceBytes: 64 })
    const a = member('a')
    const b = member('b')
    await presence.join(b, 'doc', state(bob))
    drain(b)
    // 20 characters, 60 bytes: with the envelope over 64.
    const outcome = await presence.join(a, 'doc', state({ n: '€'.repeat(20) }))
    expect(outcome).toMatchObject({ kind: 'rejected', code: 'TOO_LARGE' })
    expect(drain(a)).toEqual([
      { t: 'reject', room: 'doc', code: 'TOO_LARGE', message: expect.stringContaining('at most 64') },
    ])
    expect(presence.members('doc').map(m => m.client)).toEqual(['b'])
    await presence.join(a, 'doc', state({ n: 'short' }))
    drain(a)
    drain(b)
    expect(presence.set(a, 'doc', state({ n: 'x'.repeat(100) }))).toMatchObject({ code: 'TOO_LARGE' })
    expect(drain(a)).toMatchObject([{ t: 'reject', room: 'doc', code: 'TOO_LARGE' }])
    expect(drain(b)).toEqual([])
    expect(presence.members('doc')[1]?.state).toBe('{"json":{"n":"short"}}')
  })

  it('defaults to 4 KiB per state', async () => {
    const presence = rooms()
    const a = member('a')
    expect(await presence.join(a, 'doc', state({ n: 'x'.repeat(4070) }))).toEqual({ kind: 'joined' })
    expect(presence.set(a, 'doc', state({ n: 'x'.repeat(4090) }))).toMatchObject({ code: 'TOO_LARGE' })
  })

  it('refuses a state with a key that could reach a prototype (BAD_FIELD)', async () => {
    const presence = rooms()
    const a = member('a')
    const outcome = await presence.join(a, 'doc', { json: JSON.parse('{"__proto__":{"x":1}}') })
    expect(outcome).toMatchObject({ kind: 'rejected', code: 'BAD_FIELD' })
    expect(drain(a)).toMatchObject([{ t: 'reject', room: 'doc', code: 'BAD_FIELD' }])
  })

  it('refuses more than maxRooms rooms per connection with RATE_LIMITED', async () => {
    const presence = rooms({ maxRooms: 2 })
    const a = member('a')
    await presence.join(a, 'r1', state(ada))
    await presence.join(a, 'r2', state(ada))
    drain(a)
    expect(await presence.join(a, 'r3', state(ada))).toMatchObject({ kind: 'rejected', code: 'RATE_LIMITED' })
    expect(drain(a)).toEqual([
      { t: 'reject', room: 'r3', code: 'RATE_LIMITED', message: 'a connection may be in 2 rooms at most' },
    ])
    // Joining a room again is not another room; after a leave there is space.
    expect(await presence.join(a, 'r2', state(bob))).toEqual({ kind: 'joined' })
    presence.leave(a, 'r1')
    expect(await presence.join(a, 'r3', state(ada))).toEqual({ kind: 'joined' })
    // Another connection has its own count.
    expect(await presence.join(member('b'), 'r1', state(bob))).toEqual({ kind: 'joined' })
  })

  it('coalesces updates over the rate: the others get the latest state once a token is there', async () => {
    const presence = rooms({ rate: { perSecond: 10, burst: 2 }, now: () => Date.now() })
    const a = member('a')
    const b = member('b')
    await presence.join(a, 'doc', state({ n: 0 }))
    await presence.join(b, 'doc', state(bob))
    drain(b)
    const outcomes = [1, 2, 3, 4, 5].map(n => presence.set(a, 'doc', state({ n })).kind)
    expect(outcomes).toEqual(['updated', 'updated', 'coalesced', 'coalesced', 'coalesced'])
    expect(drain(b).map(m => (m.state as { json: { n: number } }).json.n)).toEqual([1, 2])
    // A late joiner already sees the latest state.
    const late = member('late')
    await presence.join(late, 'doc', state({}))
    expect(drain(late)[0]).toMatchObject({
      peers: [{ client: 'a', state: { json: { n: 5 } } }, { client: 'b' }],
    })
    expect(drain(b)).toEqual([{ t: 'ppeer', room: 'doc', client: 'late', state: { json: {} } }])
    vi.advanceTimersByTime(99)
    expect(drain(b)).toEqual([])
    vi.advanceTimersByTime(1)
    expect(drain(b)).toEqual([{ t: 'ppeer', room: 'doc', client: 'a', state: { json: { n: 5 } } }])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a lost connection with a coalesced update still gets its last state out', async () => {
    const presence = rooms({ rate: { perSecond: 1, burst: 1 }, now: () => Date.now() })
    const a = member('a')
    const b = member('b')
    await presence.join(a, 'doc', state({ n: 0 }))
    await presence.join(b, 'doc', state(bob))
    presence.set(a, 'doc', state({ n: 1 }))
    presence.set(a, 'doc', state({ n: 2 }))
    drain(b)
    presence.disconnect(a, { clean: false })
    expect(drain(b)).toEqual([{ t: 'ppeer', room: 'doc', client: 'a', state: { json: { n: 2 } } }])
  })
})

describe('PresenceRooms: authorization', () => {
  it('refuses a join authorize says no to with FORBIDDEN, and asks once per join', async () => {
    const authorize = vi.fn(async (m: FakeMember, room: string) => room !== 'secret' || m.client === 'boss')
    const presence = rooms({ authorize })
    const a = member('a')
    expect(await presence.join(a, 'secret', state(ada))).toMatchObject({
      kind: 'rejected',
      code: 'FORBIDDEN',
    })
    expect(drain(a)).toEqual([
      {
        t: 'reject',
        room: 'secret',
        code: 'FORBIDDEN',
        message: 'joining presence room "secret" is not allowed',
      },
    ])
    expect(presence.members('secret')).toEqual([])
    expect(await presence.join(member('boss'), 'secret', state(bob))).toEqual({ kind: 'joined' })
    await presence.join(a, 'doc', state(ada))
    presence.set(a, 'doc', state({ ...ada, field: 'x' }))
    expect(authorize).toHaveBeenCalledTimes(3)
  })

  it('refuses when authorize throws, and reports it', async () => {
    const logger = { error: vi.fn() }
    const presence = rooms({
      authorize: () => {
        throw new Error('db down')
      },
      logger,
    })
    const a = member('a')
    expect(await presence.join(a, 'doc', state(ada))).toMatchObject({ code: 'FORBIDDEN' })
    expect(logger.error).toHaveBeenCalledWith(expect.stringContaining('authorize threw'), expect.any(Error))
  })

  it('a connection that ends while authorize runs does not join', async () => {
    let allow: (ok: boolean) => void = () => {}
    const presence = rooms({ authorize: () => new Promise<boolean>(resolve => (allow = resolve)) })
    const a = member('a')
    const joined = presence.join(a, 'doc', state(ada))
    presence.disconnect(a, { clean: true })
    allow(true)
    expect(await joined).toEqual({ kind: 'ignored' })
    expect(presence.members('doc')).toEqual([])
  })
})

describe('createPresenceRooms options and parsePresenceMessage', () => {
  it('checks options up front with a message naming the option', () => {
    expect(() => createPresenceRooms({} as never)).toThrow(/send must be a function/)
    expect(() => rooms({ presenceTimeout: 0 })).toThrow(/presenceTimeout must be an integer >= 1/)
    expect(() => rooms({ rate: { perSecond: -1 } })).toThrow(/rate.perSecond/)
  })

  it('parses pjoin, pset and pleave, and says what is wrong with a bad one', () => {
    expect(parsePresenceMessage({ t: 'pjoin', room: 'doc', state: { json: 1 }, extra: true })).toEqual({
      t: 'pjoin',
      room: 'doc',
      state: { json: 1 },
    })
    expect(parsePresenceMessage({ t: 'pleave', room: 'doc' })).toEqual({ t: 'pleave', room: 'doc' })
    expect(parsePresenceMessage({ t: 'sub', r: 'x' })).toBeUndefined()
    expect(parsePresenceMessage({ t: 'pset', room: '', state: { json: 1 } })).toMatchObject({
      code: 'BAD_FRAME',
    })
    expect(parsePresenceMessage({ t: 'pset', room: 'doc', state: 1 })).toMatchObject({ code: 'BAD_FRAME' })
    expect(
      parsePresenceMessage({ t: 'pset', room: 'doc', state: { json: JSON.parse('{"constructor":1}') } }),
    ).toMatchObject({ code: 'BAD_FIELD' })
  })
})
