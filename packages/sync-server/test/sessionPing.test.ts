import { createApp, type ServerSession, testApplication } from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { deferred, recordingLogger } from './appHelpers.ts'

/** An app whose `/echo` route echoes text frames and reports each session it starts. */
function echoApp() {
  const sessions: ServerSession[] = []
  const app = createApp({ logger: recordingLogger(), pingPeriod: 0 })
  app.webSocket('/echo', async session => {
    sessions.push(session)
    for await (const frame of session.incoming) if (frame.type === 'text') await session.send(frame.text)
  })
  return { app, sessions }
}

/** Lets the event loop run the server's side of the exchange (no timer: a turn of the loop). */
const turn = () => new Promise<void>(resolve => setImmediate(resolve))

describe("the peer's pings", () => {
  it('answers every ping with a pong carrying its payload, before and after other frames', async () => {
    const { app } = echoApp()
    await testApplication(app, async client => {
      await client.webSocket('/echo', async ({ socket, incoming, outgoing }) => {
        const pongs: string[] = []
        const three = deferred<void>()
        socket.on('pong', data => {
          pongs.push(data.toString())
          if (pongs.length === 3) three.resolve()
        })
        socket.ping('first')
        await outgoing.send('hello')
        const echoed = await incoming.receive()
        expect(echoed).toMatchObject({ type: 'text', text: 'hello' })
        socket.ping('second')
        socket.ping(Buffer.alloc(125, 7))
        await three.promise
        expect(pongs).toEqual(['first', 'second', Buffer.alloc(125, 7).toString()])
      })
    })
  })

  it('drops a peer that pings without reading the pongs, and serves the others', async () => {
    const { app, sessions } = echoApp()
    await testApplication(app, async client => {
      await client.webSocket('/echo', async other => {
        await client.webSocket('/echo', async ({ socket }) => {
          const flooder = sessions[1] as ServerSession
          let closed = false
          void flooder.closeReason.then(() => {
            closed = true
          })
          // The peer stops reading, so the server's pongs pile up unwritten once the
          // loopback's buffers are full; without a bound they would grow without end.
          socket.pause()
          const payload = Buffer.alloc(125, 1)
          let pings = 0
          while (!closed && pings < 400_000) {
            for (let i = 0; i < 500; i++) socket.ping(payload)
            pings += 500
            await turn()
          }
          expect(closed).toBe(true)
          expect(app.sessions.has(flooder)).toBe(false)
          // 1006: the server dropped the connection without a close handshake.
          expect((await flooder.closeReason)?.code).toBe(1006)
          socket.terminate()
        })
        // The other connection is untouched.
        expect(app.sessions.size).toBe(1)
        await other.outgoing.send('still here')
        expect(await other.incoming.receive()).toMatchObject({ type: 'text', text: 'still here' })
      })
    })
  })
})
