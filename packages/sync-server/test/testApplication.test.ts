import { CloseReason, createApp, testApplication } from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { recordingLogger } from './appHelpers.ts'

function echoApp() {
  const app = createApp({ logger: recordingLogger() })
  app.webSocket('/echo', async session => {
    for await (const frame of session.incoming) await session.send(frame)
  })
  return app
}

describe('testApplication', () => {
  it('returns what the block returns and closes the app afterwards', async () => {
    const app = echoApp()
    const result = await testApplication(app, async client => {
      expect(client.url('/echo')).toBe(`ws://127.0.0.1:${client.port}/echo`)
      return client.webSocket('/echo', async ({ incoming, outgoing }) => {
        await outgoing.send(new Uint8Array([1, 2, 3]))
        const frame = await incoming.receive()
        return frame.type === 'binary' ? [...frame.data] : []
      })
    })
    expect(result).toEqual([1, 2, 3])
    expect(app.address).toBeUndefined()
  })

  it('closes the app and open connections even when the block throws', async () => {
    const app = echoApp()
    let conversation: Awaited<
      ReturnType<Parameters<Parameters<typeof testApplication>[1]>[0]['webSocketSession']>
    >
    await expect(
      testApplication(app, async client => {
        conversation = await client.webSocketSession('/echo')
        throw new Error('test failed')
      }),
    ).rejects.toThrow('test failed')
    expect(app.address).toBeUndefined()
    expect((await conversation!.incoming.closeReason)?.code).toBe(1000)
  })

  it('closes a conversation the block left open with 1000, and iterating incoming ends on close', async () => {
    const app = createApp({ logger: recordingLogger() })
    app.webSocket('/three', async session => {
      for (const word of ['a', 'b', 'c']) await session.send(word)
      await session.close(new CloseReason(CloseReason.Codes.NORMAL, 'done'))
    })
    await testApplication(app, async client => {
      await client.webSocket('/three', async ({ incoming, outgoing }) => {
        const words: string[] = []
        for await (const frame of incoming) if (frame.type === 'text') words.push(frame.text)
        expect(words).toEqual(['a', 'b', 'c'])
        expect(await incoming.closeReason).toMatchObject({ code: 1000, message: 'done' })
        await expect(outgoing.send('late')).rejects.toMatchObject({ code: 'SESSION_CLOSED' })
        await outgoing.close()
      })
    })
  })
})
