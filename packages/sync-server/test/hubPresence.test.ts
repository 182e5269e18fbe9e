import { PROTOCOL_VERSION, type ServerMessage } from '@lensync/protocol'
import type { SyncServer, SyncServerOptions, Timers } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { enc, type RawClient, rawClient, startServer } from './hubHelpers.ts'
import { REDIS_URL, redisPrefix } from './support/redis.ts'

const servers: SyncServer[] = []
const clients: RawClient[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  for (const s of servers.splice(0)) await s.close()
})

async function start(options: SyncServerOptions = {}): Promise<SyncServer> {
  const server = await startServer(options)
  servers.push(server)
  return server
}

/** A raw client welcomed as `client` (with `token` when given). */
async function member(server: SyncServer, client: string, token?: string): Promise<RawClient> {
  const c = await rawClient(server.url)
  clients.push(c)
  c.send({ t: 'hello', v: PROTOCOL_VERSION, client, ...(token === undefined ? {} : { token }) })
  await c.next({ t: 'welcome' })
  return c
}

type Snap = { t: 'psnap'; room: string; peers: { client: string; state: { json: unknown } }[] }

async function join(c: RawClient, room: string, state: unknown): Promise<Snap> {
  c.send({ t: 'pjoin', room, state: enc(state) })
  return c.next<ServerMessage>(m => m.t === 'psnap' && m.room === room) as unknown as Promise<Snap>
}

/** Sends a `sub` and waits for its snap: everything the server sent before it has arrived. */
async function roundTrip(c: RawClient, tag: string): Promise<void> {
  c.send({ t: 'sub', r: 'ping', id: tag })
  await c.next(m => m.t === 'snap' && 'id' in m && m.id === tag)
}

const presenceOf = (c: RawClient) =>
  c.received.filter(m => m.t === 'ppeer' || m.t === 'pgone' || m.t === 'psnap')

/**
 * Timers that run every timeout for real except those of `ms` milliseconds,
 * which wait until `fire()`: the presence timeout, under the test's control.
 */
function heldTimers(ms: number): Timers & { fire(): void; readonly held: number } {
  const waiting = new Map<object, () => void>()
  return {
    setTimeout(callback, delay) {
      if (delay !== ms) return setTimeout(callback, delay)
      const handle = {}
      waiting.set(handle, callback)
      return handle
    },
    clearTimeout(handle) {
      if (!waiting.delete(handle as object)) clearTimeout(handle as ReturnType<typeof setTimeout>)
    },
    setImmediate: callback => setImmediate(callback),
    fire() {
      const callbacks = [...waiting.values()]
      waiting.clear()
      for (const callback of callbacks) callback()
    },
    get held() {
      return waiting.size
    },
  }
}

describe('presence in the hub', () => {
  it('a joiner gets the others in a psnap, the others a ppeer; updates and leaves reach them', async () => {
    const server = await start()
    const ada = await member(server, 'ada')
    expect(await join(ada, 'person/p1', { name: 'Ada' })).toEqual({
      t: 'psnap',
      room: 'person/p1',
      peers: [],
    })
    const bob = await member(server, 'bob')
    expect(await join(bob, 'person/p1', { name: 'Bob', at: new Date(0) })).toEqual({
      t: 'psnap',
      room: 'person/p1',
      peers: [{ client: 'ada', state: { json: { name: 'Ada' } } }],
    })
    expect(await ada.next({ t: 'ppeer' })).toMatchObject({
      room: 'person/p1',
      client: 'bob',
      state: { json: { name: 'Bob', at: new Date(0).toJSON() } },
    })
    bob.send({ t: 'pset', room: 'person/p1', state: enc({ name: 'Bob', field: 'name' }) })
    expect(await ada.next({ t: 'ppeer' })).toMatchObject({
      client: 'bob',
      state: { json: { field: 'name' } },
    })
    bob.send({ t: 'pleave', room: 'person/p1' })
    expect(await ada.next({ t: 'pgone' })).toEqual({ t: 'pgone', room: 'person/p1', client: 'bob' })
    // Never echoed to the sender.
    await roundTrip(bob, 'b')
    expect(presenceOf(bob).filter(m => m.t !== 'psnap')).toEqual([])
  })

  it('a closed connection leaves at once (pgone)', async () => {
    const server = await start()
    const ada = await member(server, 'ada')
    await join(ada, 'room', { n: 1 })
    const bob = await member(server, 'bob')
    await join(bob, 'room', { n: 2 })
    await ada.next({ t: 'ppeer' })
    await bob.close()
    expect(await ada.next({ t: 'pgone' })).toEqual({ t: 'pgone', room: 'room', client: 'bob' })
  })

  it('a connection lost without a close frame keeps its place for presenceTimeout; a reconnect takes it back without a leave', async () => {
    const timers = heldTimers(4321)
    const server = await start({ presenceTimeout: 4321, timers })
    const ada = await member(server, 'ada')
    await join(ada, 'room', { n: 1 })
    const bob = await member(server, 'bob')
    await join(bob, 'room', { n: 2 })
    await ada.next({ t: 'ppeer', client: 'bob' })

    bob.ws.terminate()
    await bob.closed
    // The server noticed (its connection count drops) and keeps bob's place.
    await expect.poll(() => server.hub.connections).toBe(1)
    expect(timers.held).toBe(1)
    const again = await member(server, 'bob')
    expect(await join(again, 'room', { n: 2 })).toMatchObject({ peers: [{ client: 'ada' }] })
    // The timeout passes: nothing happens, bob is back.
    timers.fire()
    await roundTrip(ada, 'a')
    expect(presenceOf(ada).filter(m => m.t === 'pgone')).toEqual([])
    // A late joiner sees both.
    const cyd = await member(server, 'cyd')
    expect((await join(cyd, 'room', {})).peers.map(p => p.client)).toEqual(['ada', 'bob'])
  })

  it('a lost connection that does not come back leaves when presenceTimeout passes', async () => {
    const timers = heldTimers(4321)
    const server = await start({ presenceTimeout: 4321, timers })
    const ada = await member(server, 'ada')
    await join(ada, 'room', { n: 1 })
    const bob = await member(server, 'bob')
    await join(bob, 'room', { n: 2 })
    bob.ws.terminate()
    await expect.poll(() => timers.held).toBe(1)
    await roundTrip(ada, 'a')
    expect(presenceOf(ada).filter(m => m.t === 'pgone')).toEqual([])
    timers.fire()
    expect(await ada.next({ t: 'pgone' })).toEqual({ t: 'pgone', room: 'room', client: 'bob' })
  })

  it("asks authorize with op 'presence' and the room; no → reject FORBIDDEN with the room", async () => {
    const asked: unknown[] = []
    const server = await start({
      authenticate: (_request, hello) => hello.token ?? null,
      authorize: (principal, request) => {
        if (request.op === 'presence') asked.push([principal, request])
        return request.op !== 'presence' || request.resource !== 'secret'
      },
    })
    const ada = await member(server, 'ada', 'alice')
    ada.send({ t: 'pjoin', room: 'secret', state: enc({}) })
    expect(await ada.next({ t: 'reject' })).toMatchObject({ room: 'secret', code: 'FORBIDDEN' })
    await join(ada, 'open', {})
    expect(asked).toEqual([
      ['alice', { op: 'presence', resource: 'secret', id: undefined }],
      ['alice', { op: 'presence', resource: 'open', id: undefined }],
    ])
  })

  it('refuses a state over maxPresenceBytes (TOO_LARGE) and a room over maxPresenceRooms (RATE_LIMITED)', async () => {
    const server = await start({ maxPresenceBytes: 64, maxPresenceRooms: 2 })
    const ada = await member(server, 'ada')
    ada.send({ t: 'pjoin', room: 'big', state: enc({ text: 'x'.repeat(100) }) })
    expect(await ada.next({ t: 'reject' })).toMatchObject({ room: 'big', code: 'TOO_LARGE' })
    await join(ada, 'one', {})
    await join(ada, 'two', {})
    ada.send({ t: 'pjoin', room: 'three', state: enc({}) })
    expect(await ada.next({ t: 'reject', room: 'three' })).toMatchObject({ code: 'RATE_LIMITED' })
    ada.send({ t: 'pset', room: 'one', state: enc({ text: 'y'.repeat(100) }) })
    expect(await ada.next({ t: 'reject', room: 'one' })).toMatchObject({ code: 'TOO_LARGE' })
  })

  it('pset costs no rateLimit token (its own bucket coalesces); pjoin does', async () => {
    const server = await start({ rateLimit: { perSecond: 1, burst: 3, closeAfter: 100 } })
    const ada = await member(server, 'ada') // hello: 1 token
    await join(ada, 'room', {}) // 2
    const bob = await member(server, 'bob')
    await join(bob, 'room', {})
    for (let i = 0; i < 20; i++) ada.send({ t: 'pset', room: 'room', state: enc({ i }) })
    // The latest state reaches bob (coalesced or not), and ada may still write.
    await bob.next(m => m.t === 'ppeer' && (m.state.json as { i?: number }).i === 19)
    ada.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({}) }) // 3
    expect(await ada.next({ t: 'ack' })).toMatchObject({ op: 1 })
    ada.send({ t: 'pjoin', room: 'other', state: enc({}) })
    ada.send({ t: 'put', op: 2, r: 'doc', id: 'x', value: enc({}) })
    expect(await ada.next({ t: 'reject' })).toMatchObject({ op: 2, code: 'RATE_LIMITED' })
  })

  it('members of two nodes on one Redis see each other', async () => {
    const redis = { url: REDIS_URL, prefix: redisPrefix() }
    const one = await start({ redis })
    const two = await start({ redis })
    const ada = await member(one, 'ada')
    await join(ada, 'room', { name: 'Ada' })
    const bob = await member(two, 'bob')
    expect(await join(bob, 'room', { name: 'Bob' })).toEqual({
      t: 'psnap',
      room: 'room',
      peers: [{ client: 'ada', state: { json: { name: 'Ada' } } }],
    })
    expect(await ada.next({ t: 'ppeer' })).toMatchObject({ client: 'bob', state: { json: { name: 'Bob' } } })
    bob.send({ t: 'pset', room: 'room', state: enc({ name: 'Bob', field: 'age' }) })
    expect(await ada.next({ t: 'ppeer' })).toMatchObject({ client: 'bob', state: { json: { field: 'age' } } })
    await bob.close()
    expect(await ada.next({ t: 'pgone' })).toEqual({ t: 'pgone', room: 'room', client: 'bob' })
    // A node that shuts down takes its members out of the room.
    const cyd = await member(two, 'cyd')
    await join(cyd, 'room', {})
    await ada.next({ t: 'ppeer', client: 'cyd' })
    await two.close()
    expect(await ada.next({ t: 'pgone' })).toEqual({ t: 'pgone', room: 'room', client: 'cyd' })
  })
})
