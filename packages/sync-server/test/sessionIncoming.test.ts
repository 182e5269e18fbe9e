import { CloseReason, createApp, type Frame, type ServerSession, testApplication } from '@lensync/sync-server'
import { describe, expect, it, vi } from 'vitest'
import { deferred, recordingLogger } from './appHelpers.ts'

// A session makes its incoming queue only when a frame has to wait (or at
// the first `incoming`/`receive()`); these pin down what that must not change.

const text = (frame: Frame) => (frame.type === 'text' ? frame.text : `<binary ${frame.data.byteLength}>`)

/** What the sync route hands `session._consume` (internal): a callback per frame, `end` once closed. */
interface Consumer {
  take(frame: Frame): Promise<void> | undefined
  end(): void
}
type Consuming = ServerSession & {
  _consume(consumer: Consumer): void
  _heartbeatReadsPaused(): boolean
}

describe('a session’s incoming frames', () => {
  it('reach a handler that first reads incoming after they arrived, every one in order', async () => {
    const app = createApp({ logger: recordingLogger() })
    const arrived = deferred<void>()
    const received = deferred<string[]>()
    app.webSocket('/late', async session => {
      await arrived.promise
      const frames: string[] = []
      for await (const frame of session.incoming) {
        frames.push(text(frame))
        if (frames.length === 3) break
      }
      received.resolve(frames)
    })
    await testApplication(app, async client => {
      await client.webSocket('/late', async ({ incoming, outgoing }) => {
        await outgoing.send('a')
        await outgoing.send('b')
        await outgoing.send('c')
        await outgoing.send('ack?')
        // Nothing was read yet: the frames wait for the handler's first look.
        arrived.resolve()
        expect(await received.promise).toEqual(['a', 'b', 'c'])
        await incoming.closeReason
      })
    })
  })

  it('end a for-await loop at once for a handler that first looks after the close', async () => {
    const app = createApp({ logger: recordingLogger() })
    const result = deferred<{ frames: number; error: unknown }>()
    app.webSocket('/after', async session => {
      await session.closeReason
      let frames = 0
      for await (const _ of session.incoming) frames++
      result.resolve({ frames, error: await session.receive().catch(e => e) })
    })
    await testApplication(app, async client => {
      await client.webSocket('/after', ({ outgoing }) => outgoing.close(new CloseReason(4000, 'bye')))
      const { frames, error } = await result.promise
      expect(frames).toBe(0)
      expect(error).toMatchObject({ code: 'RECEIVE_CLOSED', closeReason: { code: 4000 } })
    })
  })

  it('go to a consumer as they arrive, and its end() comes once after the close', async () => {
    const app = createApp({ logger: recordingLogger() })
    const taken: string[] = []
    const ended = deferred<string[]>()
    let ends = 0
    app.webSocket('/consume', session => {
      ;(session as Consuming)._consume({
        take: frame => {
          taken.push(text(frame))
          return undefined
        },
        end: () => {
          ends++
          ended.resolve([...taken])
        },
      })
      return session.closeReason.then(() => {})
    })
    await testApplication(app, async client => {
      await client.webSocket('/consume', async ({ outgoing }) => {
        for (const frame of ['a', 'b', 'c']) await outgoing.send(frame)
        await outgoing.close(new CloseReason(4000, 'done'))
      })
      expect(await ended.promise).toEqual(['a', 'b', 'c'])
      expect(ends).toBe(1)
    })
  })

  it('wait while a consumer is busy, pause the socket past the bounds, then all arrive in order', async () => {
    const app = createApp({ logger: recordingLogger() })
    const busy = deferred<void>()
    const taken: string[] = []
    const ended = deferred<void>()
    const opened = deferred<Consuming>()
    app.webSocket('/busy', session => {
      const consuming = session as Consuming
      consuming._consume({
        take: frame => {
          taken.push(text(frame))
          // The first frame keeps the consumer busy until the test lets go.
          return taken.length === 1 ? busy.promise : undefined
        },
        end: () => ended.resolve(),
      })
      opened.resolve(consuming)
      return session.closeReason.then(() => {})
    })
    await testApplication(app, async client => {
      await client.webSocket('/busy', async ({ outgoing }) => {
        const session = await opened.promise
        const count = 1_500
        const sends = Array.from({ length: count }, (_, i) => outgoing.send(`${i}`))
        // 256 frames wait at most before the server stops reading.
        await vi.waitFor(() => expect(session._heartbeatReadsPaused()).toBe(true))
        expect(taken).toEqual(['0'])
        busy.resolve()
        await Promise.all(sends)
        await vi.waitFor(() => expect(taken.length).toBe(count))
        expect(session._heartbeatReadsPaused()).toBe(false)
        expect(taken).toEqual(Array.from({ length: count }, (_, i) => `${i}`))
        await outgoing.close(new CloseReason(4000, 'done'))
      })
      await ended.promise
    })
  })
})
