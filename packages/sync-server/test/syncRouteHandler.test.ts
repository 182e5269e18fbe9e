import {
  type CloseReason,
  createApp,
  memoryStorage,
  syncRoute,
  type WebSocketHandler,
} from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { deferred } from './appHelpers.ts'
import { quietLogger, rawClient } from './hubHelpers.ts'

// The sync route's handler runs for the whole connection, whether the app
// calls it or a handler of yours awaits it; the app waits for it on close.

async function serve(handler: WebSocketHandler) {
  const app = createApp({ logger: quietLogger() })
  app.webSocket('/sync', handler)
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `ws://127.0.0.1:${port}/sync` }
}

describe('syncRoute handler', () => {
  it('runs until the connection closed when another handler awaits it', async () => {
    const sync = syncRoute({ storage: memoryStorage(), logger: quietLogger() })
    const ended = deferred<{ connections: number; reason: CloseReason | null }>()
    let returned = false
    const { app, url } = await serve(async session => {
      await sync(session)
      returned = true
      // Read only now, after the close: it resolves with the peer's reason all the same.
      ended.resolve({ connections: sync.hub.connections, reason: await session.closeReason })
    })
    try {
      const client = await rawClient(url)
      client.send({ t: 'sub', r: 'doc', id: 'a' })
      await client.next({ t: 'snap' })
      expect(returned).toBe(false)
      expect(sync.hub.connections).toBe(1)
      client.ws.close(4000, 'bye')
      expect(await ended.promise).toMatchObject({ connections: 0, reason: { code: 4000, message: 'bye' } })
    } finally {
      await app.close()
      await sync.close()
    }
  })

  it('is waited for by app.close(): every connection left the hub when it resolves', async () => {
    const sync = syncRoute({ storage: memoryStorage(), logger: quietLogger() })
    const { app, url } = await serve(sync)
    const clients = [await rawClient(url), await rawClient(url)]
    for (const client of clients) client.send({ t: 'sub', r: 'doc', id: 'a' })
    for (const client of clients) await client.next({ t: 'snap' })
    expect(sync.hub.connections).toBe(2)
    await app.close()
    expect(sync.hub.connections).toBe(0)
    expect(await Promise.all(clients.map(c => c.closed))).toEqual([1001, 1001])
    await sync.close()
  })
})
