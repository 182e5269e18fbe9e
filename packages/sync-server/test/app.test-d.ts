import {
  type App,
  CloseReason,
  createApp,
  type Frame,
  type ListenAddress,
  type ServerSession,
  testApplication,
} from '@lensync/sync-server'
import { describe, expectTypeOf, it } from 'vitest'

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
})
