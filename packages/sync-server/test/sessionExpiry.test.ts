import { CloseCodes, type HelloMessage, parseClientMessage, type ReauthMessage } from '@lensync/protocol'
import { CloseReason, type SyncServer, type Timers } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { enc, type RawClient, rawClient, startServer } from './hubHelpers.ts'

// Sessions that expire: `authenticate` returns `{ principal, expiresAt }`;
// before then the hub sends `reauth`, the client answers `auth { token }`,
// `authenticate` decides again. The hub's timeouts are injected here (its
// per-tick flush stays real), so a test fires the expiry timers itself.

const SECOND = 1000

/**
 * Real `setImmediate`, recorded timeouts a test fires by hand. (The servers
 * here run without heartbeat and tombstone compaction, whose timers would
 * be recorded too.)
 */
function handTimers() {
  let next = 1
  const pending = new Map<number, { callback: () => void; ms: number }>()
  const timers: Timers = {
    setTimeout(callback, ms) {
      const handle = next++
      pending.set(handle, { callback, ms })
      return handle
    },
    clearTimeout: handle => void pending.delete(handle as number),
    setImmediate: callback => setImmediate(callback),
  }
  return {
    timers,
    /** The delays of the pending timeouts, shortest first. */
    delays: () => [...pending.values()].map(t => t.ms).sort((a, b) => a - b),
    /** Fires every pending timeout whose delay is within [from, to]. */
    fire(from: number, to: number) {
      for (const [handle, timeout] of [...pending])
        if (timeout.ms >= from && timeout.ms <= to) {
          pending.delete(handle)
          timeout.callback()
        }
    },
  }
}

let server: SyncServer | undefined
const clients: RawClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
  await server?.close()
  server = undefined
})

/** Tokens are `<name>:<seconds valid>:<role>`; `authenticate` calls are recorded. */
async function start(clock: ReturnType<typeof handTimers>) {
  const calls: HelloMessage[] = []
  const principals: unknown[] = []
  server = await startServer({
    timers: clock.timers,
    pingPeriod: 0,
    tombstoneTtl: false,
    authenticate: (_request, hello) => {
      calls.push(hello)
      const [name, seconds, role = 'user'] = (hello.token ?? '').split(':')
      if (name === 'nobody') return null
      if (name === 'banned') return new CloseReason(CloseCodes.FORBIDDEN, 'Banned')
      if (name === 'boom') throw new Error('auth backend down')
      if (seconds === undefined) return { id: name, role }
      return { principal: { id: name, role }, expiresAt: new Date(Date.now() + Number(seconds) * SECOND) }
    },
    authorize: principal => {
      principals.push(principal)
      return true
    },
  })
  return { server, calls, principals }
}

async function connect(url: string, token: string): Promise<RawClient> {
  const client = await rawClient(url)
  clients.push(client)
  client.send({ t: 'hello', v: 1, client: 'c1', token })
  await client.next({ t: 'welcome' })
  return client
}

describe('sessions that expire', () => {
  it('asks for a fresh token before expiry and continues the session with the new principal', async () => {
    const clock = handTimers()
    const { server, calls, principals } = await start(clock)
    const client = await connect(server.url, 'ann:90')
    // reauth at expiresAt − min(30 s, a third): ~60 s; the close at ~90 s.
    const [reauthAt, expireAt] = clock.delays()
    expect(reauthAt).toBeGreaterThan(59 * SECOND)
    expect(reauthAt).toBeLessThanOrEqual(60 * SECOND)
    expect(expireAt).toBeGreaterThan(89 * SECOND)

    clock.fire(59 * SECOND, 60 * SECOND)
    const reauth = await client.next<ReauthMessage>({ t: 'reauth' })
    expect(reauth.expiresAt).toBeGreaterThan(Date.now() + 80 * SECOND)

    client.send({ t: 'auth', token: 'ann:300:admin' })
    client.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc(1) })
    await client.next({ t: 'ack', op: 1 })
    expect(calls.at(-1)).toEqual({ t: 'hello', v: 1, client: 'c1', token: 'ann:300:admin' })
    expect(principals.at(-1)).toEqual({ id: 'ann', role: 'admin' })

    // The old deadline is gone; the new one is ~300 s away.
    clock.fire(0, 100 * SECOND)
    client.send({ t: 'put', op: 2, r: 'doc', id: 'x', value: enc(2) })
    expect(await client.next({ op: 2 })).toMatchObject({ t: 'ack' })
    expect(clock.delays().at(-1)).toBeGreaterThan(299 * SECOND)
  })

  it('closes 4401 when no fresh token came by expiresAt', async () => {
    const clock = handTimers()
    const { server } = await start(clock)
    const client = await connect(server.url, 'ann:90')
    clock.fire(59 * SECOND, 60 * SECOND)
    await client.next({ t: 'reauth' })
    clock.fire(89 * SECOND, 90 * SECOND)
    expect(await client.closed).toBe(CloseCodes.UNAUTHENTICATED)
  })

  it.each([
    ['refused (null)', 'nobody', CloseCodes.UNAUTHENTICATED],
    ['throws', 'boom', CloseCodes.UNAUTHENTICATED],
    ['answers a CloseReason', 'banned', CloseCodes.FORBIDDEN],
    ['names another user (the client id is not theirs)', 'bob:300', CloseCodes.FORBIDDEN],
  ])('closes the connection when authenticate %s on the fresh token', async (_what, token, code) => {
    const clock = handTimers()
    const { server } = await start(clock)
    const client = await connect(server.url, 'ann:90')
    client.send({ t: 'auth', token })
    expect(await client.closed).toBe(code)
  })

  it('stops expiring when the fresh token gives a plain principal', async () => {
    const clock = handTimers()
    const { server } = await start(clock)
    const client = await connect(server.url, 'ann:90')
    client.send({ t: 'auth', token: 'ann' })
    client.send({ t: 'sub', r: 'doc', id: 'x' })
    await client.next({ t: 'snap' })
    expect(clock.delays()).toEqual([])
  })

  it('closes 4401 at once when expiresAt already passed', async () => {
    const clock = handTimers()
    const { server } = await start(clock)
    const client = await rawClient(server.url)
    clients.push(client)
    client.send({ t: 'hello', v: 1, client: 'c1', token: 'ann:-5' })
    expect(await client.closed).toBe(CloseCodes.UNAUTHENTICATED)
    expect(client.received.some(m => m.t === 'welcome')).toBe(false)
  })

  it('takes waits longer than setTimeout can in steps', async () => {
    const clock = handTimers()
    const { server } = await start(clock)
    await connect(server.url, `ann:${40 * 86_400}`)
    for (const ms of clock.delays()) expect(ms).toBeLessThanOrEqual(2 ** 31 - 1)
  })

  it('treats a principal that merely has more keys as a plain principal', async () => {
    const clock = handTimers()
    server = await startServer({
      timers: clock.timers,
      pingPeriod: 0,
      tombstoneTtl: false,
      authenticate: () => ({ principal: 'x', expiresAt: new Date(0), role: 'admin' }),
    })
    await connect(server.url, 't')
    expect(clock.delays()).toEqual([])
  })

  it('answers an auth on a server without authenticate with error BAD_FRAME', async () => {
    server = await startServer()
    const client = await rawClient(server.url)
    clients.push(client)
    client.send({ t: 'auth', token: 't' })
    expect(await client.next({ t: 'error' })).toMatchObject({ code: 'BAD_FRAME' })
  })

  it('parses auth strictly', () => {
    expect(parseClientMessage({ t: 'auth', token: 'abc', extra: 1 })).toEqual({ t: 'auth', token: 'abc' })
    expect(parseClientMessage({ t: 'auth', token: 5 })).toMatchObject({ code: 'BAD_FRAME' })
    expect(parseClientMessage({ t: 'auth', token: '' })).toMatchObject({ code: 'BAD_FRAME' })
  })
})
