import { CloseReason, createApp, defaultAppOptions, ServerError, testApplication } from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { deferred, recordingLogger } from './appHelpers.ts'

describe('createApp options', () => {
  it('has the documented defaults', () => {
    const app = createApp()
    expect(app.options).toMatchObject({
      pingPeriod: 30_000,
      timeout: 15_000,
      maxFrameSize: 1 << 20,
      perMessageDeflate: false,
      maxBufferedBytes: 4 << 20,
      closeTimeout: 5_000,
    })
    expect(app.options.logger).toBe(console)
    expect(defaultAppOptions.maxBufferedBytes).toBe(4 << 20)
  })

  it.each([
    [{ pingPeriod: -1 }, /pingPeriod must be an integer >= 0/],
    [{ timeout: 0 }, /timeout must be an integer >= 1/],
    [{ timeout: '15s' }, /timeout .*got "15s"/],
    [{ maxFrameSize: 1.5 }, /maxFrameSize must be an integer from 1 to 2147483647/],
    [{ maxBufferedBytes: Number.NaN }, /maxBufferedBytes/],
    [{ perMessageDeflate: 'yes' }, /perMessageDeflate must be a boolean or/],
    [{ logger: {} }, /logger must be an object with an error\(\) method/],
    [{ timers: { setTimeout } }, /timers must be an object with setTimeout\(\) and clearTimeout\(\)/],
    [{ createId: 'x' }, /createId must be a function/],
  ])('rejects %o with a TypeError naming the option', (options, message) => {
    expect(() => createApp(options as never)).toThrow(TypeError)
    expect(() => createApp(options as never)).toThrow(message)
  })

  it('rejects bad and duplicate routes with BAD_ROUTE', () => {
    const app = createApp()
    app.webSocket('/chat/:room', () => {})
    for (const add of [
      () => app.webSocket('chat', () => {}),
      () => app.webSocket('/chat/:other', () => {}),
      () => app.webSocket('/a/:x/:x', () => {}),
      () => app.webSocket('/a/:', () => {}),
      () => app.get('/h', () => {}).get('/h/', () => {}),
    ]) {
      expect(add).toThrow(ServerError)
      expect(add).toThrow(expect.objectContaining({ code: 'BAD_ROUTE' }))
    }
  })
})

describe('App routing and lifecycle', () => {
  it('serves HTTP routes: JSON, text, full responses, async, 404, 405, 426 and 500 (logged)', async () => {
    const logger = recordingLogger()
    const app = createApp({ logger })
    app.get('/health', () => ({ ok: true }))
    app.get('/text', () => 'plain')
    app.get('/status', () => ({ status: 'ok' }))
    app.get('/teapot/:kind', async (_request, { params, url }) => ({
      status: 418,
      body: { kind: params.kind, q: url.searchParams.get('q') },
      headers: { 'x-tea': 'yes' },
    }))
    app.get('/empty', () => undefined)
    app.get('/fail', () => {
      throw new Error('nope')
    })
    app.webSocket('/ws', () => {})
    await testApplication(app, async client => {
      const health = await client.get('/health')
      expect(health.status).toBe(200)
      expect(health.headers.get('content-type')).toContain('application/json')
      expect(health.json()).toEqual({ ok: true })
      expect((await client.get('/text')).text).toBe('plain')
      expect((await client.get('/status')).json()).toEqual({ status: 'ok' })
      const teapot = await client.get('/teapot/green?q=1')
      expect([teapot.status, teapot.headers.get('x-tea'), teapot.json()]).toEqual([
        418,
        'yes',
        { kind: 'green', q: '1' },
      ])
      expect((await client.get('/empty')).status).toBe(204)
      expect((await client.get('/missing')).status).toBe(404)
      expect((await client.get('/ws')).status).toBe(426)
      const post = await fetch(client.url('/health', 'http'), { method: 'POST' })
      await post.arrayBuffer()
      expect(post.status).toBe(405)
      expect((await client.get('/fail')).status).toBe(500)
      expect(logger.error).toHaveBeenCalledTimes(1)
      expect(logger.error.mock.calls[0]?.[0]).toContain('/fail')
    })
  })

  it('listen() resolves with the bound port; a second listen() and listen() after close() are refused', async () => {
    const app = createApp({ logger: recordingLogger() })
    const { port, host } = await app.listen({ port: 0, host: '127.0.0.1' })
    expect(port).toBeGreaterThan(0)
    expect(host).toBe('127.0.0.1')
    expect(app.address).toEqual({ port, host })
    await expect(app.listen({ port: 0 })).rejects.toMatchObject({ code: 'ALREADY_LISTENING' })
    await app.close()
    expect(app.address).toBeUndefined()
    await expect(app.listen({ port: 0 })).rejects.toMatchObject({ code: 'APP_CLOSED' })
    await expect(createApp().listen({ port: 70_000 })).rejects.toThrow(
      /port must be an integer from 0 to 65535/,
    )
  })

  it('close() closes open sessions with 1001, waits for their handlers, and is idempotent', async () => {
    const app = createApp({ logger: recordingLogger() })
    let running = 0
    const twoOpen = deferred<void>()
    const handlersDone: string[] = []
    app.webSocket('/echo', async session => {
      if (++running === 2) twoOpen.resolve()
      for await (const frame of session.incoming) await session.send(frame)
      handlersDone.push(session.id)
    })
    app.get('/health', () => ({ ok: true }))
    await testApplication(app, async client => {
      // A keep-alive HTTP connection must not hold close() up.
      expect((await client.get('/health')).status).toBe(200)
      const a = await client.webSocketSession('/echo')
      const b = await client.webSocketSession('/echo')
      await twoOpen.promise
      const closing = app.close()
      expect(app.close()).toBe(closing)
      await closing
      expect(handlersDone).toHaveLength(2)
      expect(app.sessions.size).toBe(0)
      for (const conversation of [a, b]) {
        const reason = await conversation.incoming.closeReason
        expect(reason?.code).toBe(CloseReason.Codes.GOING_AWAY)
      }
      const refused = await client.webSocket('/echo', () => {}).catch((e: unknown) => e)
      expect(refused).toMatchObject({ code: 'HANDSHAKE_FAILED' })
    })
  })

  it('refuses upgrades to unknown paths with 404 and keeps serving others', async () => {
    const app = createApp({ logger: recordingLogger() })
    app.webSocket('/chat/:room', async session => {
      await session.send(`room ${session.params.room}`)
    })
    await testApplication(app, async client => {
      for (const path of ['/', '/chat', '/chat/a/b', '/other']) {
        await expect(client.webSocket(path, () => {})).rejects.toMatchObject({
          name: 'ServerError',
          code: 'HANDSHAKE_FAILED',
          status: 404,
        })
      }
      await client.webSocket('/chat/lobby/', async ({ incoming }) => {
        expect(await incoming.receive()).toEqual({ type: 'text', text: 'room lobby', fin: true })
      })
    })
  })

  it('can be embedded in a server of your own through handleRequest and handleUpgrade', async () => {
    const { createServer } = await import('node:http')
    const app = createApp({ logger: recordingLogger() })
    app.get('/health', () => 'ok')
    app.webSocket('/hi', async session => session.send('hi'))
    const server = createServer((req, res) => app.handleRequest(req, res))
    server.on('upgrade', (req, socket, head) => app.handleUpgrade(req, socket, head))
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as { port: number }
      const response = await fetch(`http://127.0.0.1:${port}/health`)
      expect(await response.text()).toBe('ok')
      const { WebSocket } = await import('ws')
      const ws = new WebSocket(`ws://127.0.0.1:${port}/hi`)
      const message = deferred<string>()
      ws.on('message', data => message.resolve(String(data)))
      expect(await message.promise).toBe('hi')
      const closed = deferred<number>()
      ws.on('close', code => closed.resolve(code))
      expect(await closed.promise).toBe(1000)
    } finally {
      await app.close()
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  })
})
