import {
  type App,
  CloseReason,
  createApp,
  type Frame,
  type ListenAddress,
  type ServerSession,
  testApplication,
} from '@lensync/sync-server'
import { describe, expect, expectTypeOf, it } from 'vitest'

describe('sync-server types', () => {
  it('types handlers, frames and results', () => {
    const app = createApp({ pingPeriod: 0 })
    expectTypeOf(app).toEqualTypeOf<App>()
    expectTypeOf(app.listen()).toEqualTypeOf<Promise<ListenAddress>>()
    app.webSocket('/x/:id', async session => {
      expectTypeOf(session).toEqualTypeOf<ServerSession>()
      expectTypeOf(session.params.id).toEqualTypeOf<string | undefined>()
      expectTypeOf(session.closeReason).toEqualTypeOf<Promise<CloseReason | null>>()
      for await (const frame of session.incoming) {
        expectTypeOf(frame).toEqualTypeOf<Frame>()
        if (frame.type === 'text') expectTypeOf(frame.text).toBeString()
        else expectTypeOf(frame.data).toEqualTypeOf<Uint8Array>()
      }
    })
    expectTypeOf(CloseReason.Codes.TRY_AGAIN_LATER).toEqualTypeOf<1013>()
    expectTypeOf(testApplication(app, () => 42)).toEqualTypeOf<Promise<number>>()
  })

  it('compiles the testApplication example of API.md §3 as written', async () => {
    const app = createApp()
    await testApplication(app, async client => {
      await client.webSocket('/echo', async ({ incoming, outgoing }) => {
        await outgoing.send('HELLO')
        expect((await incoming.receive()).text).toBe('YOU SAID: HELLO')
      })
    })
  })

  it('reads text or data off any frame, and narrows on type', () => {
    const frame = {} as Frame
    expectTypeOf(frame.text).toEqualTypeOf<string | undefined>()
    expectTypeOf(frame.data).toEqualTypeOf<Uint8Array | undefined>()
    if (frame.type === 'text') {
      expectTypeOf(frame.text).toEqualTypeOf<string>()
      expectTypeOf(frame.data).toEqualTypeOf<undefined>()
    } else {
      expectTypeOf(frame.data).toEqualTypeOf<Uint8Array>()
      expectTypeOf(frame.text).toEqualTypeOf<undefined>()
    }
    // @ts-expect-error: a text frame carries no bytes
    const wrong: Frame = { type: 'text', text: 'x', data: new Uint8Array(1), fin: true }
    void wrong
  })
})
