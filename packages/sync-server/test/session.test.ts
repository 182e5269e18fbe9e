import {
  ClosedReceiveError,
  CloseReason,
  createApp,
  type Frame,
  prepareMessage,
  ServerError,
  type ServerSession,
  sendMany,
  testApplication,
  textFrame,
} from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { deferred, pattern, recordingLogger } from './appHelpers.ts'

const text = (frame: Frame) => (frame.type === 'text' ? frame.text : `<binary ${frame.data.byteLength}>`)

describe('ServerSession', () => {
  it('closes with 1000 when the handler returns, and then send rejects with SESSION_CLOSED', async () => {
    const app = createApp({ logger: recordingLogger() })
    const after = deferred<unknown>()
    app.webSocket('/once', async session => {
      await session.send('only this')
      void session.closeReason.then(() => after.resolve(session.send('too late').catch(e => e)))
    })
    await testApplication(app, async client => {
      await client.webSocket('/once', async ({ incoming }) => {
        expect(text(await incoming.receive())).toBe('only this')
        const reason = await incoming.closeReason
        expect(reason?.code).toBe(1000)
        await expect(incoming.receive()).rejects.toBeInstanceOf(ClosedReceiveError)
      })
      const error = await ((await after.promise) as Promise<unknown>)
      expect(error).toBeInstanceOf(ServerError)
      expect(error).toMatchObject({ code: 'SESSION_CLOSED' })
    })
  })

  it('receive() hands out frames queued before the close, then rejects with ClosedReceiveError', async () => {
    const app = createApp({ logger: recordingLogger() })
    const result = deferred<{ frames: string[]; error: unknown; reason: CloseReason | null }>()
    app.webSocket('/late', async session => {
      const reason = await session.closeReason
      const frames = [text(await session.receive()), text(await session.receive())]
      const error = await session.receive().catch(e => e)
      result.resolve({ frames, error, reason })
    })
    await testApplication(app, async client => {
      await client.webSocket('/late', async ({ outgoing }) => {
        await outgoing.send('a')
        await outgoing.send('b')
        await outgoing.close(new CloseReason(4000, 'done'))
      })
      const { frames, error, reason } = await result.promise
      expect(frames).toEqual(['a', 'b'])
      expect(error).toBeInstanceOf(ClosedReceiveError)
      expect(error).toMatchObject({ code: 'RECEIVE_CLOSED', closeReason: { code: 4000, message: 'done' } })
      expect(reason).toMatchObject({ code: 4000, message: 'done' })
    })
  })

  it('closeReason is 1006 when the peer vanishes without a close frame', async () => {
    const app = createApp({ logger: recordingLogger() })
    const reason = deferred<CloseReason | null>()
    const opened = deferred<void>()
    app.webSocket('/vanish', async session => {
      opened.resolve()
      for await (const _ of session.incoming) {
        // drain
      }
      reason.resolve(await session.closeReason)
    })
    await testApplication(app, async client => {
      const conversation = await client.webSocketSession('/vanish')
      await opened.promise
      conversation.socket.terminate()
      expect((await reason.promise)?.code).toBe(1006)
    })
  })

  it('terminate() drops the connection at once: the client sees 1006 and the handler loop ends', async () => {
    const app = createApp({ logger: recordingLogger() })
    const seen = deferred<ServerSession>()
    const ended = deferred<{ reason: CloseReason | null; sendError: unknown }>()
    app.webSocket('/drop', async session => {
      seen.resolve(session)
      for await (const _ of session.incoming) {
        // until the connection is gone
      }
      ended.resolve({ reason: await session.closeReason, sendError: await session.send('x').catch(e => e) })
    })
    await testApplication(app, async client => {
      await client.webSocket('/drop', async ({ incoming, outgoing }) => {
        await outgoing.send('hello')
        const session = await seen.promise
        session.terminate()
        expect(session.isOpen).toBe(false)
        expect((await incoming.closeReason)?.code).toBe(1006)
        const { reason, sendError } = await ended.promise
        expect(reason?.code).toBe(1006)
        expect(sendError).toMatchObject({ name: 'ServerError', code: 'SESSION_CLOSED' })
        session.terminate()
      })
    })
  })

  it('flush() resolves only once a backlog is written to the socket (bufferedAmount 0)', async () => {
    const app = createApp({ logger: recordingLogger(), maxBufferedBytes: 64 << 20 })
    const seen = deferred<ServerSession>()
    app.webSocket('/bulk', async session => {
      seen.resolve(session)
      for await (const _ of session.incoming) {
        // the test sends from outside
      }
    })
    await testApplication(app, async client => {
      await client.webSocket('/bulk', async ({ socket, incoming }) => {
        const session = await seen.promise
        // The client stops reading, so what the kernel cannot take stays queued in the session.
        socket.pause()
        const size = 32 << 20
        const sent = session.send(pattern(size))
        expect(session.bufferedAmount).toBeGreaterThan(0)
        let bufferedWhenFlushed: number | undefined
        const flushed = session.flush().then(() => {
          bufferedWhenFlushed = session.bufferedAmount
        })
        // A turn of the event loop: a flush that resolved at once would have run by now.
        await new Promise(resolve => setImmediate(resolve))
        expect(bufferedWhenFlushed).toBeUndefined()
        expect(session.bufferedAmount).toBeGreaterThan(0)
        socket.resume()
        await flushed
        expect(bufferedWhenFlushed).toBe(0)
        await sent
        const frame = await incoming.receive()
        expect(frame.type === 'binary' && frame.data.byteLength).toBe(size)
        await expect(session.flush()).resolves.toBeUndefined()
      })
    })
  })

  it('closeReason is null for a close frame without a code', async () => {
    const app = createApp({ logger: recordingLogger() })
    const reason = deferred<CloseReason | null>()
    app.webSocket('/nocode', async session => {
      reason.resolve(await session.closeReason)
    })
    await testApplication(app, async client => {
      await client.webSocket('/nocode', async ({ socket, incoming }) => {
        socket.close()
        await incoming.closeReason
      })
      expect(await reason.promise).toBeNull()
    })
  })

  it('a text frame with invalid UTF-8 closes with 1007, reported as closeReason, and nothing crashes', async () => {
    const logger = recordingLogger()
    const app = createApp({ logger })
    const reason = deferred<CloseReason | null>()
    app.webSocket('/text', async session => {
      for await (const _ of session.incoming) {
        // drain
      }
      reason.resolve(await session.closeReason)
    })
    app.webSocket('/echo', async session => {
      for await (const frame of session.incoming) await session.send(frame)
    })
    await testApplication(app, async client => {
      await client.webSocket('/text', async ({ socket, incoming }) => {
        socket.send(Buffer.from([0x68, 0xff, 0xfe]), { binary: false })
        expect((await incoming.closeReason)?.code).toBe(CloseReason.Codes.NOT_CONSISTENT)
      })
      expect((await reason.promise)?.code).toBe(1007)
      expect(logger.error).not.toHaveBeenCalled()
      await client.webSocket('/echo', async ({ incoming, outgoing }) => {
        await outgoing.send('still up')
        expect(text(await incoming.receive())).toBe('still up')
      })
    })
  })

  it('a throwing handler closes only its own session with 1011 and is logged', async () => {
    const logger = recordingLogger()
    const app = createApp({ logger })
    const boom = new Error('boom')
    app.webSocket('/boom', async session => {
      await session.receive()
      throw boom
    })
    app.webSocket('/echo', async session => {
      for await (const frame of session.incoming) await session.send(frame)
    })
    await testApplication(app, async client => {
      await client.webSocket('/echo', async echo => {
        await client.webSocket('/boom', async ({ incoming, outgoing }) => {
          await outgoing.send('go')
          const reason = await incoming.closeReason
          expect(reason?.code).toBe(CloseReason.Codes.INTERNAL_ERROR)
          expect(reason?.message).not.toContain('boom')
        })
        expect(logger.error).toHaveBeenCalledTimes(1)
        expect(logger.error.mock.calls[0]?.[0]).toContain('/boom')
        expect(logger.error.mock.calls[0]?.[1]).toBe(boom)
        await echo.outgoing.send('still here')
        expect(text(await echo.incoming.receive())).toBe('still here')
      })
    })
  })

  it('a handler that ends by receiving on a closed session is not logged as failed', async () => {
    const logger = recordingLogger()
    const app = createApp({ logger })
    const done = deferred<void>()
    app.webSocket('/strict', async session => {
      try {
        while (true) await session.receive()
      } finally {
        done.resolve()
      }
    })
    await testApplication(app, async client => {
      await client.webSocket('/strict', async ({ outgoing }) => outgoing.send('x'))
      await done.promise
    })
    expect(logger.error).not.toHaveBeenCalled()
  })

  it('close() is idempotent and rejects a code that cannot be sent', async () => {
    const app = createApp({ logger: recordingLogger() })
    const checks = deferred<unknown>()
    app.webSocket('/close', async session => {
      const bad = await session.close(new CloseReason(1006)).catch(e => e)
      const first = session.close(new CloseReason(4001, 'first'))
      const second = session.close(new CloseReason(4002, 'second'))
      await Promise.all([first, second])
      checks.resolve({ bad, reason: await session.closeReason, isOpen: session.isOpen })
    })
    await testApplication(app, async client => {
      await client.webSocket('/close', async ({ incoming }) => {
        expect(await incoming.closeReason).toMatchObject({ code: 4001, message: 'first' })
      })
      const { bad, reason, isOpen } = (await checks.promise) as {
        bad: unknown
        reason: CloseReason | null
        isOpen: boolean
      }
      expect(bad).toMatchObject({ name: 'ServerError', code: 'BAD_CLOSE_REASON' })
      // The peer echoed the server's code: closeReason is what the peer sent.
      expect(reason?.code).toBe(4001)
      expect(isOpen).toBe(false)
    })
  })

  it('makes a session id with createId at its first read, once per session', async () => {
    let made = 0
    const app = createApp({ logger: recordingLogger(), createId: () => `s${++made}`, pingPeriod: 0 })
    const sessions: ServerSession[] = []
    const three = deferred<void>()
    app.webSocket('/idle', async session => {
      if (sessions.push(session) === 3) three.resolve()
      for await (const _ of session.incoming) {
        // idle
      }
    })
    await testApplication(app, async client => {
      const open = (async () => {
        await Promise.all([1, 2, 3].map(() => client.webSocket('/idle', () => three.promise)))
      })()
      await three.promise
      // Three idle sessions hold no id yet.
      expect(made).toBe(0)
      const [first, second, third] = sessions as [ServerSession, ServerSession, ServerSession]
      expect(third.id).toBe('s1')
      expect(first.id).toBe('s2')
      expect([third.id, first.id]).toEqual(['s1', 's2'])
      expect(made).toBe(2)
      expect(second.id).toBe('s3')
      await open
    })
  })

  it('exposes id, params, request, protocol and per-session settings', async () => {
    let counter = 0
    const app = createApp({ logger: recordingLogger(), createId: () => `s${++counter}`, pingPeriod: 0 })
    const seen = deferred<ServerSession>()
    app.webSocket('/rooms/:room/users/:user', async session => {
      seen.resolve(session)
      for await (const frame of session.incoming) await session.send(frame)
    })
    await testApplication(app, async client => {
      await client.webSocket(
        '/rooms/a%20b/users/7?x=1',
        async ({ incoming, outgoing, protocol }) => {
          const session = await seen.promise
          expect(session.id).toBe('s1')
          expect(session.params).toEqual({ room: 'a b', user: '7' })
          expect(session.request.headers['x-test']).toBe('yes')
          expect(session.request.headers.upgrade).toBe('websocket')
          // The handshake's nonce is used up once the session exists: not kept with it.
          expect(session.request.headers).not.toHaveProperty('sec-websocket-key')
          expect(session.request.url).toBe('/rooms/a%20b/users/7?x=1')
          expect(session.protocol).toBe('lensync.v1')
          expect(protocol).toBe('lensync.v1')
          expect(session.isOpen).toBe(true)
          expect(app.sessions.has(session)).toBe(true)
          expect([session.pingPeriod, session.timeout, session.maxFrameSize]).toEqual([0, 15_000, 1 << 20])
          expect(() => {
            session.timeout = -1
          }).toThrow(TypeError)
          session.maxFrameSize = 10
          await outgoing.send('0123456789')
          expect(text(await incoming.receive())).toBe('0123456789')
          await outgoing.send('0123456789A')
          expect((await incoming.closeReason)?.code).toBe(1009)
        },
        { protocols: ['lensync.v1'], headers: { 'x-test': 'yes' } },
      )
    })
  })

  it('sends fragments, prepared messages and sendMany to many sessions', async () => {
    const app = createApp({ logger: recordingLogger() })
    const joined: ServerSession[] = []
    const allJoined = deferred<void>()
    app.webSocket('/room', async session => {
      joined.push(session)
      if (joined.length === 3) allJoined.resolve()
      for await (const _ of session.incoming) {
        // listen until closed
      }
    })
    await testApplication(app, async client => {
      const conversations = await Promise.all([1, 2, 3].map(() => client.webSocketSession('/room')))
      await allJoined.promise
      const [first] = joined
      await first!.send(textFrame('hel', false))
      await first!.send(textFrame('lo'))
      expect(await conversations[0]!.incoming.receive()).toEqual({ type: 'text', text: 'hello', fin: true })

      await joined[2]!.close()
      expect(sendMany(joined, 'to all')).toBe(2)
      const prepared = prepareMessage(pattern(300))
      expect(sendMany(joined, prepared)).toBe(2)
      await Promise.all(joined.map(s => s.flush()))
      for (const conversation of conversations.slice(0, 2)) {
        expect(text(await conversation.incoming.receive())).toBe('to all')
        const bytes = await conversation.incoming.receive()
        expect(bytes.type === 'binary' && Buffer.from(bytes.data).equals(Buffer.from(pattern(300)))).toBe(
          true,
        )
      }
    })
  })

  it('rejects sending something that is not a frame with a TypeError', async () => {
    const app = createApp({ logger: recordingLogger() })
    const result = deferred<unknown>()
    app.webSocket('/bad', async session => {
      result.resolve(await session.send(42 as unknown as string).catch(e => e))
    })
    await testApplication(app, async client => {
      await client.webSocket('/bad', ({ incoming }) => incoming.closeReason)
      expect(await result.promise).toBeInstanceOf(TypeError)
    })
  })

  it('does not lose or reorder frames while a handler reads slowly (the socket is paused meanwhile)', async () => {
    const app = createApp({ logger: recordingLogger() })
    const gate = deferred<void>()
    const received = deferred<string[]>()
    app.webSocket('/slow', async session => {
      await gate.promise
      const frames: string[] = []
      for await (const frame of session.incoming) {
        frames.push(text(frame))
        if (frames.length === 2_000) break
      }
      received.resolve(frames)
    })
    await testApplication(app, async client => {
      await client.webSocket('/slow', async ({ outgoing }) => {
        const chunk = 'x'.repeat(1_000)
        const sends = Array.from({ length: 2_000 }, (_, i) => outgoing.send(`${i}:${chunk}`))
        // The first ~1 MB always fits below the server's incoming high-water mark, so waiting
        // for it cannot deadlock; the rest arrives while the handler is busy and may pause the socket.
        await Promise.all(sends.slice(0, 1_000))
        gate.resolve()
        await Promise.all(sends)
        const frames = await received.promise
        expect(frames.map(f => Number(f.slice(0, f.indexOf(':'))))).toEqual(
          Array.from({ length: 2_000 }, (_, i) => i),
        )
      })
    })
  })
  it('negotiates permessage-deflate when enabled and still echoes faithfully', async () => {
    const app = createApp({ logger: recordingLogger(), perMessageDeflate: true })
    app.webSocket('/echo', async session => {
      for await (const frame of session.incoming) await session.send(frame)
    })
    await testApplication(app, async client => {
      await client.webSocket('/echo', async ({ socket, incoming, outgoing }) => {
        expect(socket.extensions).toContain('permessage-deflate')
        const long = 'lensync '.repeat(10_000)
        await outgoing.send(long)
        expect(text(await incoming.receive())).toBe(long)
      })
    })
  })
})
