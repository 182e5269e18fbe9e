import {
  CloseReason,
  createApp,
  type ServerSession,
  type Timers,
  testApplication,
} from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { deferred, recordingLogger } from './appHelpers.ts'

function quietApp(options: Parameters<typeof createApp>[0]) {
  const app = createApp({ logger: recordingLogger(), ...options })
  app.webSocket('/idle', async session => {
    for await (const _ of session.incoming) {
      // idle: only the heartbeat talks
    }
  })
  return app
}

/** Timers run by hand, so the heartbeat's schedule can be checked step by step. */
function manualTimers() {
  let now = 0
  const pending = new Map<number, { at: number; callback: () => void }>()
  let next = 0
  const timers: Timers = {
    setTimeout(callback, ms) {
      pending.set(++next, { at: now + ms, callback })
      return next
    },
    clearTimeout(handle) {
      pending.delete(handle as number)
    },
  }
  return {
    timers,
    /** The delays of the timers now pending, from now. */
    delays: () => [...pending.values()].map(t => t.at - now),
    /** Moves the clock to the next timer and runs it. */
    runNext() {
      const [id, timer] = [...pending.entries()].sort((a, b) => a[1].at - b[1].at)[0] ?? []
      if (id === undefined || !timer) throw new Error('no timer pending')
      pending.delete(id)
      now = timer.at
      timer.callback()
    },
  }
}

describe('heartbeat (Ktor pingPeriod / timeout)', () => {
  it('closes a client that never answers pings with 1011 "Ping timeout" within a few periods', async () => {
    const app = quietApp({ pingPeriod: 150, timeout: 150 })
    await testApplication(app, async client => {
      const started = Date.now()
      await client.webSocket(
        '/idle',
        async ({ incoming }) => {
          const reason = await incoming.closeReason
          expect(reason?.code).toBe(CloseReason.Codes.INTERNAL_ERROR)
          expect(reason?.message).toBe('Ping timeout')
        },
        { autoPong: false },
      )
      // It cannot close before one period plus one timeout, and must not take much longer.
      const elapsed = Date.now() - started
      expect(elapsed).toBeGreaterThanOrEqual(290)
      expect(elapsed).toBeLessThan(6 * 150)
    })
  })

  it('drops a completely silent peer after the ping timeout plus closeTimeout: closeReason is 1006', async () => {
    const logger = recordingLogger()
    const [pingPeriod, timeout, closeTimeout] = [200, 200, 400]
    const app = createApp({ logger, pingPeriod, timeout, closeTimeout })
    const seen = deferred<ServerSession>()
    const loopEnded = deferred<void>()
    app.webSocket('/idle', async session => {
      seen.resolve(session)
      for await (const _ of session.incoming) {
        // idle: only the heartbeat talks
      }
      loopEnded.resolve()
    })
    await testApplication(app, async client => {
      const started = performance.now()
      const { socket } = await client.webSocketSession('/idle', { autoPong: false })
      // Reads nothing from now on: no pong, and no answer to the server's close frame.
      socket.pause()
      const session = await seen.promise
      const reason = await session.closeReason
      const elapsed = performance.now() - started
      expect(reason?.code).toBe(1006)
      await loopEnded.promise
      expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('no pong'))
      // Ping after pingPeriod, give up after timeout, close 1011, wait closeTimeout for the echo, drop.
      const expected = pingPeriod + timeout + closeTimeout
      expect(elapsed).toBeGreaterThanOrEqual(expected - 5)
      expect(elapsed).toBeLessThan(expected + 3 * pingPeriod)
    })
  })

  it('keeps a client that answers pings connected', async () => {
    const app = quietApp({ pingPeriod: 150, timeout: 150 })
    await testApplication(app, async client => {
      await client.webSocket('/idle', async ({ socket }) => {
        const threePings = deferred<void>()
        let pings = 0
        socket.on('ping', () => {
          if (++pings === 3) threePings.resolve()
        })
        await threePings.promise
        expect(socket.readyState).toBe(socket.OPEN)
        expect(app.sessions.size).toBe(1)
      })
    })
  })

  it('pings every pingPeriod, waits timeout for the pong, and pingPeriod 0 disables it', async () => {
    const clock = manualTimers()
    const app = quietApp({ pingPeriod: 1_000, timeout: 400, timers: clock.timers })
    await testApplication(app, async client => {
      await client.webSocket(
        '/idle',
        async ({ socket, incoming }) => {
          const session = [...app.sessions][0]!
          expect(clock.delays()).toEqual([1_000])
          const ping = deferred<Buffer>()
          socket.once('ping', data => ping.resolve(data))
          clock.runNext()
          const payload = await ping.promise
          expect(clock.delays()).toEqual([400])
          // A wrong pong does not count; the matching one starts the next period.
          const answered = deferred<void>()
          socket.pong('not it')
          socket.pong(payload, undefined, () => answered.resolve())
          await answered.promise
          await expect.poll(() => clock.delays(), { timeout: 10_000 }).toEqual([1_000])
          session.pingPeriod = 0
          expect(clock.delays()).toEqual([])
          session.pingPeriod = 500
          expect(clock.delays()).toEqual([500])
          clock.runNext()
          expect(clock.delays()).toEqual([400])
          clock.runNext()
          expect((await incoming.closeReason)?.message).toBe('Ping timeout')
          expect(clock.delays()).toEqual([])
        },
        { autoPong: false },
      )
    })
  })

  it('runs the heartbeats of every session on one timer, each on its own schedule', async () => {
    const clock = manualTimers()
    const app = quietApp({ pingPeriod: 1_000, timeout: 400, timers: clock.timers })
    await testApplication(app, async client => {
      const a = await client.webSocketSession('/idle', { autoPong: false })
      const b = await client.webSocketSession('/idle', { autoPong: false })
      await expect.poll(() => app.sessions.size).toBe(2)
      const [first, second] = [...app.sessions]
      second!.pingPeriod = 300
      // Two sessions, one timer: armed for the earliest step.
      expect(clock.delays()).toEqual([300])
      const pingB = deferred<Buffer>()
      b.socket.once('ping', data => pingB.resolve(data))
      clock.runNext()
      const payloadB = await pingB.promise
      // b waits 400 for its pong (due at 700); a pings at 1000.
      expect(clock.delays()).toEqual([400])
      const answered = deferred<void>()
      b.socket.pong(payloadB, undefined, () => answered.resolve())
      await answered.promise
      // b's next ping at 300 + 300 = 600 is now the earliest step.
      await expect.poll(() => clock.delays(), { timeout: 10_000 }).toEqual([300])
      clock.runNext() // 600: b pings again, its pong due at 1000
      expect(clock.delays()).toEqual([400])
      const pingA = deferred<void>()
      a.socket.once('ping', () => pingA.resolve())
      // 1000: a pings, and b's second ping was not answered: b is closed, a stays.
      clock.runNext()
      await pingA.promise
      expect((await b.incoming.closeReason)?.message).toBe('Ping timeout')
      expect(first!.isOpen).toBe(true)
      expect(clock.delays()).toEqual([400])
      clock.runNext() // 1400: a never answered either
      expect((await a.incoming.closeReason)?.message).toBe('Ping timeout')
      expect(clock.delays()).toEqual([])
    })
  })
})
