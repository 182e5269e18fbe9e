// Conversations ported from Ktor's WebSockets test suite (WebSocketTest / WebSocketEngineSuite),
// over real sockets on 127.0.0.1.

import { CloseReason, createApp, type Frame, ServerError, testApplication } from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { deferred, pattern, recordingLogger } from './appHelpers.ts'

function echoApp(options: Parameters<typeof createApp>[0] = {}) {
  const app = createApp({ logger: recordingLogger(), ...options })
  app.webSocket('/echo', async session => {
    for await (const frame of session.incoming) {
      if (frame.type === 'text') {
        await session.send(`YOU SAID: ${frame.text}`)
        if (frame.text.toLowerCase() === 'bye') {
          await session.close(new CloseReason(CloseReason.Codes.NORMAL, 'Client said BYE'))
        }
      } else {
        await session.send(frame.data)
      }
    }
  })
  return app
}

const text = (frame: Frame) => (frame.type === 'text' ? frame.text : `<binary ${frame.data.byteLength}>`)

describe('Ktor conversations', () => {
  it('echoes "HELLO" and "WORLD" in order', async () => {
    await testApplication(echoApp(), async client => {
      await client.webSocket('/echo', async ({ incoming, outgoing }) => {
        await outgoing.send('HELLO')
        await outgoing.send('WORLD')
        expect(text(await incoming.receive())).toBe('YOU SAID: HELLO')
        expect(text(await incoming.receive())).toBe('YOU SAID: WORLD')
      })
    })
  })

  it('"bye" makes the server close with 1000 "Client said BYE"', async () => {
    await testApplication(echoApp(), async client => {
      await client.webSocket('/echo', async ({ incoming, outgoing }) => {
        await outgoing.send('bye')
        expect(await incoming.receive()).toEqual({ type: 'text', text: 'YOU SAID: bye', fin: true })
        const reason = await incoming.closeReason
        expect(reason?.code).toBe(CloseReason.Codes.NORMAL)
        expect(reason?.message).toBe('Client said BYE')
        await expect(incoming.receive()).rejects.toMatchObject({
          name: 'ClosedReceiveError',
          code: 'RECEIVE_CLOSED',
        })
      })
    })
  })

  it("a client closing with 1001 'going' is the session's closeReason, and its loop ends", async () => {
    const app = createApp({ logger: recordingLogger() })
    const seen = deferred<{ reason: CloseReason | null; frames: string[] }>()
    app.webSocket('/listen', async session => {
      const frames: string[] = []
      for await (const frame of session.incoming) frames.push(text(frame))
      seen.resolve({ reason: await session.closeReason, frames })
    })
    await testApplication(app, async client => {
      await client.webSocket('/listen', async ({ outgoing }) => {
        await outgoing.send('one')
        await outgoing.close(new CloseReason(CloseReason.Codes.GOING_AWAY, 'going'))
      })
      const { reason, frames } = await seen.promise
      expect(frames).toEqual(['one'])
      expect(reason).toBeInstanceOf(CloseReason)
      expect(reason?.code).toBe(1001)
      expect(reason?.message).toBe('going')
      expect(reason?.knownReason).toBe('GOING_AWAY')
    })
  })

  it('a message over maxFrameSize closes with 1009 and ends the handler loop', async () => {
    const app = createApp({ logger: recordingLogger(), maxFrameSize: 1023 })
    const ended = deferred<CloseReason | null>()
    app.webSocket('/echo', async session => {
      for await (const frame of session.incoming) await session.send(frame)
      ended.resolve(await session.closeReason)
    })
    await testApplication(app, async client => {
      await client.webSocket('/echo', async ({ incoming, outgoing }) => {
        await outgoing.send(pattern(1023))
        expect((await incoming.receive()).type).toBe('binary')
        await outgoing.send(pattern(1024))
        expect((await incoming.closeReason)?.code).toBe(CloseReason.Codes.TOO_BIG)
      })
      expect((await ended.promise)?.code).toBe(1009)
    })
  })

  it('echoes a 20 MiB binary message byte for byte when maxFrameSize allows it', async () => {
    const app = echoApp({ maxFrameSize: 32 << 20 })
    const big = pattern(20 << 20)
    await testApplication(app, async client => {
      await client.webSocket('/echo', async ({ incoming, outgoing }) => {
        await outgoing.send(big)
        const frame = await incoming.receive()
        if (frame.type !== 'binary') throw new Error('expected a binary frame')
        expect(frame.data.byteLength).toBe(big.byteLength)
        expect(Buffer.from(frame.data).equals(Buffer.from(big))).toBe(true)
      })
    })
  })

  it('delivers 10 000 messages in order on one session', async () => {
    await testApplication(echoApp(), async client => {
      await client.webSocket('/echo', async ({ incoming, outgoing }) => {
        const count = 10_000
        const sent = Array.from({ length: count }, (_, i) => outgoing.send(`m${i}`))
        for (let i = 0; i < count; i++) expect(text(await incoming.receive())).toBe(`YOU SAID: m${i}`)
        await Promise.all(sent)
      })
    })
  })

  it('an unknown path is refused with HTTP 404', async () => {
    await testApplication(echoApp(), async client => {
      const error = await client.webSocket('/nope', () => {}).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ServerError)
      expect(error).toMatchObject({ code: 'HANDSHAKE_FAILED', status: 404 })
    })
  })
})
