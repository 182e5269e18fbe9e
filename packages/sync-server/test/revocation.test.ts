import { CloseCodes } from '@lensync/protocol'
import { createApp, memoryStorage, type SyncServer, syncRoute } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { enc, quietLogger, type RawClient, rawClient, startServer } from './hubHelpers.ts'

// Revocation: `server.disconnect(predicate, reason)` closes every
// connection whose principal matches with 4403, at once, and says how many.

interface User {
  readonly id: string
}

let server: SyncServer | undefined
const clients: RawClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
  await server?.close()
  server = undefined
})

async function connect(url: string, user: string, clientId = `c-${user}-${clients.length}`) {
  const client = await rawClient(url)
  clients.push(client)
  const reason = new Promise<string>(resolve =>
    client.ws.on('close', (_code, why) => resolve(why.toString())),
  )
  client.send({ t: 'hello', v: 1, client: clientId, token: user })
  await client.next({ t: 'welcome' })
  return { client, reason }
}

const authenticate = (_request: unknown, hello: { token?: string }): User => ({ id: hello.token ?? '' })

describe('server.disconnect', () => {
  it('closes every connection of the matching principal with 4403 and the reason, and counts them', async () => {
    server = await startServer({ authenticate })
    const u1a = await connect(server.url, 'u1')
    const u1b = await connect(server.url, 'u1')
    const u2 = await connect(server.url, 'u2')

    expect(server.disconnect(p => (p as User).id === 'u1', 'Access revoked')).toBe(2)
    expect(await u1a.client.closed).toBe(CloseCodes.FORBIDDEN)
    expect(await u1b.client.closed).toBe(CloseCodes.FORBIDDEN)
    expect(await u1a.reason).toBe('Access revoked')

    u2.client.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc(1) })
    expect(await u2.client.next({ op: 1 })).toMatchObject({ t: 'ack' })
    expect(server.disconnect(p => (p as User).id === 'u1')).toBe(0)
  })

  it('answers the writes a revoked connection already sent before closing it', async () => {
    server = await startServer({ authenticate })
    const { client } = await connect(server.url, 'u1')
    client.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc(1) })
    await client.next({ op: 1 })
    client.send({ t: 'sub', r: 'doc', id: 'x' })
    await client.next({ t: 'snap' })
    expect(server.disconnect(() => true, 'bye')).toBe(1)
    expect(await client.closed).toBe(CloseCodes.FORBIDDEN)
    expect(server.hub.connections).toBeLessThanOrEqual(1)
  })

  it('keeps a connection whose predicate throws, and logs it', async () => {
    const logger = quietLogger()
    server = await startServer({ authenticate, logger })
    const { client } = await connect(server.url, 'u1')
    expect(
      server.disconnect(() => {
        throw new Error('boom')
      }, 'x'),
    ).toBe(0)
    expect(logger.error).toHaveBeenCalled()
    client.send({ t: 'sub', r: 'doc', id: 'x' })
    expect(await client.next({ t: 'snap' })).toMatchObject({ rev: 0 })
  })

  it('is on the hub and on the route handler too, and checks its arguments', async () => {
    const sync = syncRoute({ storage: memoryStorage(), authenticate, logger: quietLogger() })
    const app = createApp({ logger: quietLogger() })
    app.webSocket('/sync', sync)
    const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const url = `ws://127.0.0.1:${port}/sync`
      const a = await connect(url, 'u1')
      const b = await connect(url, 'u2')
      expect(sync.disconnect(p => (p as User).id === 'u1', 'gone')).toBe(1)
      expect(sync.hub.disconnect(p => (p as User).id === 'u2', 'gone')).toBe(1)
      expect(await a.client.closed).toBe(CloseCodes.FORBIDDEN)
      expect(await b.client.closed).toBe(CloseCodes.FORBIDDEN)
      expect(() => sync.hub.disconnect('u1' as never, 'x')).toThrow(/predicate must be a function/)
      expect(() => sync.hub.disconnect(() => true, 4403 as never)).toThrow(/reason must be a string/)
    } finally {
      await app.close()
      await sync.close()
    }
  })
})
