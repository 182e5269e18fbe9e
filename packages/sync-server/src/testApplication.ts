import type { App } from './App.ts'
import { _TestClient } from './TestClient.ts'
import type { TestClient } from './types.ts'

/**
 * Runs a conversation test against an app, as Ktor's `testApplication`: the
 * app listens on 127.0.0.1 on a free port, the block gets a client that opens
 * real WebSockets (and plain HTTP requests) to it, and afterwards every client
 * connection and the app are closed, even when the block throws.
 *
 * @param app - The app under test; it must not be listening yet.
 * @param block - The test, given the client.
 * @returns What the block returned.
 * @example
 * await testApplication(app, async client => {
 *   await client.webSocket('/echo', async ({ incoming, outgoing }) => {
 *     await outgoing.send('HELLO')
 *     expect(await incoming.receive()).toEqual({ type: 'text', text: 'YOU SAID: HELLO', fin: true })
 *   })
 * })
 */
export async function testApplication<T>(
  app: App,
  block: (client: TestClient) => T | Promise<T>,
): Promise<T> {
  const { port } = await app.listen({ port: 0, host: '127.0.0.1' })
  const client = new _TestClient(port)
  try {
    return await block(client)
  } finally {
    try {
      await client._closeAll()
    } finally {
      await app.close()
    }
  }
}
