import { CloseReason, createApp, type Frame, ServerError, testApplication } from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { deferred, recordingLogger } from './appHelpers.ts'

const text = (frame: Frame) => (frame.type === 'text' ? frame.text : `<binary ${frame.data.byteLength}>`)

/**
 * An app whose `/flood` route, once told "go", sends 256 KiB messages without
 * waiting for the socket (as a broadcast does), at most 400 of them (100 MiB),
 * and reports how that ended.
 */
function floodApp(options: Parameters<typeof createApp>[0]) {
  const logger = recordingLogger()
  const app = createApp({ logger, pingPeriod: 0, maxBufferedBytes: 1 << 20, ...options })
  const flood = deferred<{ sent: number; error: unknown; reason: CloseReason | null }>()
  app.webSocket('/flood', async session => {
    await session.receive()
    const chunk = new Uint8Array(256 << 10)
    let sent = 0
    while (sent < 400 && session.isOpen) {
      void session.send(chunk)
      sent++
      // Let the socket write between sends, as a real producer would.
      await new Promise(resolve => setImmediate(resolve))
    }
    const error = await session.send('one more').catch((e: unknown) => e)
    flood.resolve({ sent, error, reason: await session.closeReason })
  })
  app.webSocket('/echo', async session => {
    for await (const frame of session.incoming) await session.send(frame)
  })
  return { app, logger, flood: flood.promise }
}

describe('slow consumers', () => {
  it('closes a reader that stopped reading with 1013 while the app stays responsive', async () => {
    const { app, logger, flood } = floodApp({ closeTimeout: 15_000 })
    await testApplication(app, async client => {
      await client.webSocket('/echo', async echo => {
        await client.webSocket('/flood', async slow => {
          slow.socket.pause()
          await slow.outgoing.send('go')
          for (let i = 0; i < 20; i++) {
            await echo.outgoing.send(`ping ${i}`)
            expect(text(await echo.incoming.receive())).toBe(`ping ${i}`)
          }
          await expect
            .poll(() => logger.warn.mock.calls.some(([m]) => String(m).includes('1013')), { timeout: 15_000 })
            .toBe(true)
          expect(app.sessions.size).toBe(2)
          // The reader wakes up: it reads the backlog, then the 1013 close frame, and answers it.
          slow.socket.resume()
          let backlog = 0
          for await (const frame of slow.incoming)
            backlog += frame.type === 'binary' ? frame.data.byteLength : 0
          expect(backlog).toBeGreaterThan(1 << 20)
          const reason = await slow.incoming.closeReason
          expect(reason?.code).toBe(CloseReason.Codes.TRY_AGAIN_LATER)
          const { sent, error } = await flood
          expect(sent).toBeLessThan(400)
          expect(error).toBeInstanceOf(ServerError)
          expect(error).toMatchObject({ code: 'SESSION_CLOSED', closeReason: { code: 1013 } })
        })
        await echo.outgoing.send('after')
        expect(text(await echo.incoming.receive())).toBe('after')
      })
    })
  })

  it('drops a reader that never reads again once closeTimeout has passed', async () => {
    const { app, flood } = floodApp({ closeTimeout: 300 })
    await testApplication(app, async client => {
      await client.webSocket('/flood', async slow => {
        slow.socket.pause()
        await slow.outgoing.send('go')
        const { sent, reason } = await flood
        expect(sent).toBeLessThan(400)
        // The close frame could not get through the backlog: the connection was dropped.
        expect(reason?.code).toBe(1006)
        expect(app.sessions.size).toBe(0)
      })
    })
  })
})
