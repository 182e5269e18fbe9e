import { LATEST_PROTOCOL_VERSION } from '@lensync/protocol'
import { presence, websocket } from '@lensync/sync-client'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { startServer, type TestServer } from '../sessionHelpers.ts'

// presence() over a real socket, against a scripted server: what the
// socket's shared connection sends (hello first, then pjoin) and how answers
// reach the room.

let server: TestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('presence() over a socket', () => {
  it('says hello, joins, shows the members the server reports, and leaves on stop', async () => {
    server = await startServer()
    const socket = websocket(server.url, { WebSocket: WebSocket as never, token: 'secret' })
    const room = presence<{ name: string }>(socket, 'person/p1', { name: 'Ada' })
    const chat = presence<{ name: string }>(socket, 'chat', { name: 'Ada' })
    const [first] = (await server.received(1, 1)).map(text => JSON.parse(text as string))
    // hello, then both rooms' joins, in one frame on the one connection.
    expect(first).toEqual([
      { t: 'hello', v: LATEST_PROTOCOL_VERSION, token: 'secret', client: expect.any(String) },
      { t: 'pjoin', room: 'person/p1', state: { json: { name: 'Ada' } } },
      { t: 'pjoin', room: 'chat', state: { json: { name: 'Ada' } } },
    ])
    const ws = await server.connection(1)
    ws.send(
      JSON.stringify([
        { t: 'psnap', room: 'person/p1', peers: [{ client: 'b', state: { json: { name: 'Bob' } } }] },
        { t: 'psnap', room: 'chat', peers: [] },
      ]),
    )
    await vi.waitFor(() => expect(room.others.value).toEqual([{ client: 'b', state: { name: 'Bob' } }]))
    expect(chat.others.value).toEqual([])
    expect(server.connections).toHaveLength(1)

    room.stop()
    const received = await server.received(1, 2)
    expect(JSON.parse(received[1] as string)).toEqual({ t: 'pleave', room: 'person/p1' })
    chat.stop()
    // The last room stopped (and no sync uses the socket): the shared connection closes.
    await vi.waitFor(() => expect(ws.readyState).toBe(WebSocket.CLOSED))
  })
})
