import type { IncomingMessage } from 'node:http'
import { createSyncHub, type HubConnection, memoryStorage, type SyncServer } from '@lensync/sync-server'
import superjson from 'superjson'
import { afterEach, describe, expect, it } from 'vitest'
import { enc, quietLogger, type RawClient, rawClient, startServer } from './hubHelpers.ts'

// The hub's own bounds (issue #20), in process: values that readers could
// not hold, the size of the frames it sends, refusals that count, and
// failures in its deferred work that must stay with one connection.

const servers: SyncServer[] = []
const clients: RawClient[] = []
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
  for (const server of servers.splice(0)) await server.close()
})

async function serve(options: Parameters<typeof startServer>[0] = {}) {
  const server = await startServer(options)
  servers.push(server)
  return server
}

async function connect(server: SyncServer): Promise<RawClient> {
  const client = await rawClient(server.url)
  clients.push(client)
  return client
}

const request = { headers: {} } as IncomingMessage

describe('values readers could not hold', () => {
  it('refuses a put whose shared references make a cycle (BAD_FIELD) and stores nothing', async () => {
    const server = await serve()
    const a = await connect(server)
    const cyclic: Record<string, unknown> = { name: 'loop' }
    cyclic.self = cyclic
    const value = superjson.serialize(cyclic)
    expect(value.meta?.referentialEqualities).toBeDefined()
    a.send({ t: 'put', op: 1, r: 'note', id: 'n', value })
    expect(await a.next({ op: 1 } as never)).toMatchObject({ t: 'reject', code: 'BAD_FIELD' })
    a.send({ t: 'sub', r: 'note', id: 'n' })
    expect(await a.next({ t: 'snap' } as never)).toMatchObject({ rev: 0, value: null })
  })

  it('refuses a cyclic value inside a patch, and a patch whose path and value together nest too deep', async () => {
    const server = await serve()
    const a = await connect(server)
    a.send({ t: 'put', op: 1, r: 'note', id: 'n', value: enc({ name: 'ok' }) })
    await a.next({ t: 'ack', op: 1 } as never)
    const cyclic: Record<string, unknown> = {}
    cyclic.me = { back: cyclic }
    a.send({ t: 'patch', op: 2, r: 'note', id: 'n', set: [[['x'], superjson.serialize(cyclic)]] })
    expect(await a.next({ op: 2 } as never)).toMatchObject({ t: 'reject', code: 'BAD_FIELD' })
    // 60 levels of path + 60 levels of value: each alone is allowed, together over 100.
    let deep: unknown = 1
    for (let i = 0; i < 60; i++) deep = { d: deep }
    const path = Array.from({ length: 60 }, (_, i) => `p${i}`)
    a.send({ t: 'patch', op: 3, r: 'note', id: 'n', set: [[path, enc(deep)]] })
    expect(await a.next({ op: 3 } as never)).toMatchObject({ t: 'reject', code: 'BAD_FIELD' })
    a.send({ t: 'sub', r: 'note', id: 'n' })
    expect(await a.next({ t: 'snap' } as never)).toMatchObject({ rev: 1, value: { json: { name: 'ok' } } })
  })
})

describe('what the hub sends', () => {
  it('cuts what it queued for a connection into frames of at most maxOutgoingFrameBytes', async () => {
    const server = await serve({ maxOutgoingFrameBytes: 4096 })
    const a = await connect(server)
    const envelopes = Array.from({ length: 200 }, (_, i) => ({
      t: 'put',
      op: i + 1,
      r: 'note',
      id: `n${i}`,
      value: enc({ text: 'y'.repeat(100) }),
    }))
    a.send(envelopes)
    await a.next({ t: 'ack', op: 200 } as never)
    a.send(Array.from({ length: 200 }, (_, i) => ({ t: 'sub', r: 'note', id: `n${i}` })))
    await a.next({ t: 'snap', id: 'n199' } as never)
    // 400 answers in at least 10 frames, none over the bound, nothing lost or reordered.
    expect(a.frames.length).toBeGreaterThan(10)
    for (const frame of a.frames) expect(frame.length).toBeLessThanOrEqual(4096)
    const snaps = a.received.filter(m => m.t === 'snap').map(m => (m as { id: string }).id)
    expect(snaps).toEqual(Array.from({ length: 200 }, (_, i) => `n${i}`))
  })

  it('closes a connection with 1013 once what it asked for exceeds maxBufferedBytes, without sending it', async () => {
    const server = await serve({ maxBufferedBytes: 64 * 1024 })
    const seed = await connect(server)
    seed.send({ t: 'put', op: 1, r: 'big', id: 'b', value: enc({ text: 'z'.repeat(20_000) }) })
    await seed.next({ t: 'ack', op: 1 } as never)
    const greedy = await connect(server)
    greedy.send(Array.from({ length: 50 }, () => ({ t: 'sub', r: 'big', id: 'b' })))
    expect(await greedy.closed).toBe(1013)
    const received = greedy.frames.reduce((sum, frame) => sum + frame.length, 0)
    expect(received).toBeLessThan(64 * 1024)
    // The others are served as before.
    seed.send({ t: 'sub', r: 'big', id: 'b' })
    expect(await seed.next({ t: 'snap' } as never)).toMatchObject({ rev: 1 })
  })
})

describe('refusals count', () => {
  it('closes a connection (1008) that keeps subscribing to resources the server does not have', async () => {
    const server = await serve({ allowUnknownResources: false, resources: { note: {} } })
    const flooder = await connect(server)
    const honest = await connect(server)
    flooder.send(Array.from({ length: 50 }, (_, i) => ({ t: 'sub', r: `nope${i}` })))
    expect(await flooder.closed).toBe(1008)
    const rejects = flooder.received.filter(m => m.t === 'reject')
    expect(rejects.length).toBeGreaterThan(0)
    expect(rejects.length).toBeLessThan(50)
    honest.send({ t: 'put', op: 1, r: 'note', id: 'n', value: enc(1) })
    expect(await honest.next({ op: 1 } as never)).toMatchObject({ t: 'ack' })
  })

  it('charges every envelope a rate-limit token: an unsub flood is refused and closed like a write flood', async () => {
    const server = await serve({ rateLimit: { perSecond: 1, burst: 10, closeAfter: 5 } })
    const flooder = await connect(server)
    flooder.send(Array.from({ length: 100 }, () => ({ t: 'unsub', r: 'note', id: 'n' })))
    expect(await flooder.closed).toBe(1008)
  })
})

describe('failures in deferred work', () => {
  it('a transport that throws while the hub flushes closes that connection with 1011; the hub goes on', async () => {
    const logger = quietLogger()
    const hub = createSyncHub(memoryStorage(), { logger })
    const closes: [number, string][] = []
    const broken: HubConnection = {
      id: 'broken',
      send: () => {
        throw new RangeError('Invalid string length')
      },
      close: (code, reason) => void closes.push([code, reason]),
    }
    const sent: string[] = []
    const fine: HubConnection = { id: 'fine', send: text => void sent.push(text), close: () => {} }
    const b = hub.connect(broken, request)
    const f = hub.connect(fine, request)
    b.receive(JSON.stringify({ t: 'sub', r: 'note', id: 'n' }))
    f.receive(JSON.stringify({ t: 'put', op: 1, r: 'note', id: 'n', value: enc(1) }))
    await hub.flush()
    await expect.poll(() => closes).toEqual([[1011, 'Internal server error']])
    expect(logger.error).toHaveBeenCalled()
    expect(sent.join()).toContain('"t":"ack"')
    f.receive(JSON.stringify({ t: 'put', op: 2, r: 'note', id: 'n', value: enc(2) }))
    await hub.flush()
    expect(sent.join()).toContain('"op":2')
    b.disconnect()
    f.disconnect()
    await hub.close()
  })
})
