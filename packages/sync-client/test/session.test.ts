import { effect } from '@lensync/store'
import {
  ConnectionError,
  SendError,
  type Session,
  type SessionState,
  type WebSocketOptions,
  websocket,
} from '@lensync/sync-client'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { echo, next, startServer, type TestServer, take } from './sessionHelpers.ts'

const servers: TestServer[] = []
const sessions: Session[] = []
const disposers: (() => void)[] = []

async function server(onConnection?: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const started = await startServer(onConnection)
  servers.push(started)
  return started
}

function connect(url: string, options: WebSocketOptions = {}): Session {
  const session = websocket(url, { WebSocket, ...options }).connect()
  sessions.push(session)
  return session
}

function statesOf(session: Session): SessionState[] {
  const states: SessionState[] = []
  disposers.push(
    effect(() => {
      states.push(session.state.value)
    }),
  )
  return states
}

const opened = (session: Session) =>
  session.isOpen.peek() ? Promise.resolve() : next(session.opens).then(() => {})

afterEach(async () => {
  for (const dispose of disposers.splice(0)) dispose()
  await Promise.all(sessions.splice(0).map(session => session.close()))
  await Promise.all(servers.splice(0).map(s => s.close()))
})

describe('Session over a real ws server', () => {
  it('goes connecting → open → closed when the server closes', async () => {
    const srv = await server(ws => ws.close(1000, 'done'))
    const session = connect(srv.url)
    const states = statesOf(session)
    const closed = next(session.closes)
    await closed
    expect(states).toEqual(['connecting', 'open', 'closed'])
    expect(session.isClosed.value).toBe(true)
  })

  it('goes connecting → open → closing → closed on close(), and the server sees code and reason', async () => {
    const srv = await server()
    const session = connect(srv.url)
    const states = statesOf(session)
    await opened(session)
    expect(session.isOpen.value).toBe(true)
    const serverConnection = await srv.connection(1)
    const serverSaw = new Promise<[number, string]>(resolve =>
      serverConnection.on('close', (code, reason) => resolve([code, reason.toString()])),
    )
    await session.close({ code: 4000, reason: 'bye now' })
    expect(states).toEqual(['connecting', 'open', 'closing', 'closed'])
    expect(await serverSaw).toEqual([4000, 'bye now'])
  })

  it('sends a reason without a code as code 1000', async () => {
    const srv = await server()
    const session = connect(srv.url)
    await opened(session)
    const serverConnection = await srv.connection(1)
    const serverSaw = new Promise<[number, string]>(resolve =>
      serverConnection.on('close', (code, reason) => resolve([code, reason.toString()])),
    )
    await session.close({ reason: 'finished' })
    expect(await serverSaw).toEqual([1000, 'finished'])
  })

  it('sends A, B, C and gets them echoed in order', async () => {
    const srv = await server(echo)
    const session = connect(srv.url)
    const echoed = take(session.messages.body(), 3)
    await opened(session)
    await session.send('A')
    await session.send('B')
    await session.send('C')
    expect(await echoed).toEqual(['A', 'B', 'C'])
  })

  it('queues five sends made before open and delivers them in order on open', async () => {
    const srv = await server()
    const session = connect(srv.url)
    expect(session.state.value).toBe('connecting')
    const sent = ['1', '2', '3', '4', '5'].map(text => session.send(text))
    await Promise.all(sent)
    expect(await srv.received(1, 5)).toEqual(['1', '2', '3', '4', '5'])
  })

  it('sends queued before open before anything sent from an opens subscriber', async () => {
    const srv = await server()
    const session = connect(srv.url)
    session.opens.subscribe(() => void session.send('from opens'))
    void session.send('queued')
    expect(await srv.received(1, 2)).toEqual(['queued', 'from opens'])
  })

  it('a send made in an effect of state→open goes out after the queued ones, without reconnect', async () => {
    const srv = await server()
    const session = connect(srv.url)
    let fromEffect: Promise<void> | undefined
    disposers.push(
      effect(() => {
        if (session.state.value === 'open' && !fromEffect) fromEffect = session.send('from effect')
      }),
    )
    const queued = [session.send('queued 1'), session.send('queued 2')]
    await Promise.all(queued)
    // The effect ran when the state changed, before the queue went out.
    await expect(fromEffect).resolves.toBeUndefined()
    expect(await srv.received(1, 3)).toEqual(['queued 1', 'queued 2', 'from effect'])
  })

  it('rejects send after the client closed with SendError SESSION_CLOSED', async () => {
    const srv = await server()
    const session = connect(srv.url)
    await opened(session)
    await session.close()
    const error = await session.send('late').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SendError)
    expect(error).toMatchObject({ name: 'SendError', code: 'SESSION_CLOSED' })
  })

  it('rejects sends still queued when close() is called', async () => {
    const srv = await server()
    const session = connect(srv.url)
    const queued = session.send('never')
    const closing = session.close()
    await expect(queued).rejects.toMatchObject({ code: 'SESSION_CLOSED' })
    await closing
    expect(session.state.value).toBe('closed')
  })

  it('rejects send after the server closed, and closes carries code and reason', async () => {
    const srv = await server(ws =>
      ws.on('message', data => data.toString() === 'BYE' && ws.close(1000, 'Client said BYE')),
    )
    const session = connect(srv.url)
    const closed = next(session.closes)
    await session.send('BYE')
    const event = await closed
    expect(event.code).toBe(1000)
    expect(event.reason).toBe('Client said BYE')
    expect(session.state.value).toBe('closed')
    await expect(session.send('after')).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof SendError && e.code === 'SESSION_CLOSED' && e.message.includes('Client said BYE'),
    )
  })

  it('round-trips a Uint8Array [1, 2, 3] through arrayBuffer()', async () => {
    const srv = await server(echo)
    const session = connect(srv.url)
    const received = next(session.messages.arrayBuffer())
    await session.send(new Uint8Array([1, 2, 3]))
    const buffer = await received
    expect(buffer).toBeInstanceOf(ArrayBuffer)
    expect([...new Uint8Array(buffer)]).toEqual([1, 2, 3])
  })

  it('round-trips a Blob through blob()', async () => {
    const srv = await server(echo)
    const session = connect(srv.url)
    const received = next(session.messages.blob())
    await session.send(new Blob(['blob body']))
    const blob = await received
    expect(blob).toBeInstanceOf(Blob)
    expect(await blob.text()).toBe('blob body')
  })

  // ws delivers Buffers ('nodebuffer', its default), Buffer arrays ('fragments'),
  // ArrayBuffers or Blobs; the views convert each, keeping the order.
  it.each(['arraybuffer', 'blob', 'nodebuffer', 'fragments'] as const)(
    'converts binary and text messages whatever the binaryType (%s)',
    async binaryType => {
      // A ws WebSocket that keeps one binaryType whatever the session sets.
      class FixedBinaryType extends WebSocket {
        constructor(...args: ConstructorParameters<typeof WebSocket>) {
          super(...args)
          this.binaryType = binaryType as WebSocket['binaryType']
          Object.defineProperty(this, 'binaryType', { get: () => binaryType, set: () => {} })
        }
      }
      const srv = await server(echo)
      const session = connect(srv.url, { WebSocket: FixedBinaryType })
      const buffers = take(session.messages.arrayBuffer(), 3)
      const blobs = take(session.messages.blob(), 3)
      const bodies = take(session.messages.body(), 3)
      const raw = take(session.messages.data(), 3)
      await session.send(new Uint8Array([1, 2, 3]))
      await session.send('text')
      await session.send(new TextEncoder().encode('héllo'))
      expect((await buffers).map(b => [...new Uint8Array(b)])).toEqual([
        [1, 2, 3],
        [...new TextEncoder().encode('text')],
        [...new TextEncoder().encode('héllo')],
      ])
      expect(await Promise.all((await blobs).map(b => b.text()))).toEqual([
        '\u0001\u0002\u0003',
        'text',
        'héllo',
      ])
      expect(await bodies).toEqual(['\u0001\u0002\u0003', 'text', 'héllo'])
      const [binary, text] = await raw
      expect(text).toBe('text')
      const kinds = { arraybuffer: ArrayBuffer, blob: Blob, nodebuffer: Uint8Array, fragments: Array }
      expect(binary).toBeInstanceOf(kinds[binaryType])
    },
  )

  it('delivers binary messages as ArrayBuffer by default and as Blob with binaryType "blob"', async () => {
    const srv = await server(echo)
    const plain = connect(srv.url)
    const blobby = connect(srv.url, { binaryType: 'blob' })
    const a = next(plain.messages.data())
    const b = next(blobby.messages.data())
    await plain.send(new Uint8Array([7]))
    await blobby.send(new Uint8Array([7]))
    expect(await a).toBeInstanceOf(ArrayBuffer)
    expect(await b).toBeInstanceOf(Blob)
  })

  it('keeps messages that arrive before the first subscriber for it, the newest maxBuffer of them', async () => {
    const srv = await server(ws => {
      for (const text of ['m1', 'm2', 'm3', 'm4', 'm5']) ws.send(text)
      ws.close(1000, 'sent all')
    })
    const session = connect(srv.url, { maxBuffer: 3 })
    // Messages arrive before the close, so once closed all five have come and nobody took them.
    await next(session.closes)
    const seen: string[] = []
    for await (const text of session.messages.body()) seen.push(text)
    expect(seen).toEqual(['m3', 'm4', 'm5'])
    // Only the first subscriber gets them.
    expect(await take(session.messages.body(), 1).catch((e: Error) => e.message)).toMatch(/ended after 0/)
  })

  it('offers its subprotocols', async () => {
    const srv = await server()
    const session = connect(srv.url, { protocols: ['lensync.v1', 'other'] })
    await opened(session)
    expect((await srv.connection(1)).protocol).toBe('lensync.v1')
  })

  it('reports a refused connection on errors and closes, and ends closed', async () => {
    const srv = await startServer()
    const url = srv.url
    await srv.close()
    const session = connect(url)
    const error = next(session.errors)
    const closed = next(session.closes)
    expect((await error).type).toBe('error')
    expect((await closed).code).toBe(1006)
    expect(session.state.value).toBe('closed')
    await expect(session.send('x')).rejects.toBeInstanceOf(SendError)
  })

  it('rejects close() with a code the protocol does not allow', async () => {
    const srv = await server()
    const session = connect(srv.url)
    await expect(session.close({ code: 1006 })).rejects.toSatisfy(
      (e: unknown) => e instanceof ConnectionError && e.code === 'BAD_CLOSE',
    )
    await expect(session.close({ reason: 'x'.repeat(124) })).rejects.toMatchObject({ code: 'BAD_CLOSE' })
    expect(session.state.value).not.toBe('closed')
  })

  it('reconnects after a dropped connection: opens fires twice and a later send is delivered', async () => {
    const srv = await server()
    const session = connect(srv.url, { reconnect: { minDelay: 10, maxDelay: 50 } })
    const states = statesOf(session)
    const twoOpens = take(session.opens, 2)
    const drop = next(session.closes)
    ;(await srv.connection(1)).terminate()
    expect((await drop).code).toBe(1006)
    await twoOpens
    await session.send('after reconnect')
    expect(await srv.received(2, 1)).toEqual(['after reconnect'])
    expect(states).toEqual(['connecting', 'open', 'connecting', 'open'])
    await session.close()
    expect(session.state.value).toBe('closed')
  })

  it('queues sends made while reconnecting and delivers them after the reconnect', async () => {
    const srv = await server()
    const session = connect(srv.url, { reconnect: { minDelay: 10, maxDelay: 50 } })
    await opened(session)
    const drop = next(session.closes)
    ;(await srv.connection(1)).terminate()
    await drop
    expect(session.state.value).toBe('connecting')
    const sent = session.send('while away')
    await sent
    expect(await srv.received(2, 1)).toEqual(['while away'])
  })

  it('does not reconnect after the server closes with 4401', async () => {
    const srv = await server(ws => ws.close(4401, 'who are you'))
    const session = websocket(srv.url, { WebSocket, reconnect: { minDelay: 10 } }).connect({
      reconnect: true,
    })
    sessions.push(session)
    const event = await next(session.closes)
    expect(event.code).toBe(4401)
    expect(session.state.value).toBe('closed')
    expect(srv.connections).toHaveLength(1)
  })

  it('moves on to the next URL on reconnect, round-robin, and shows it in url', async () => {
    const dead = await startServer()
    await dead.close()
    const alive = await server()
    const socket = websocket([dead.url, alive.url], { WebSocket, reconnect: { minDelay: 10, maxDelay: 20 } })
    const session = socket.connect()
    sessions.push(session)
    expect(session.url.value).toBe(socket.urls[0])
    const drop = next(session.closes)
    await next(session.opens)
    expect((await drop).code).toBe(1006)
    expect(session.url.value).toBe(socket.urls[1])
    expect(alive.connections).toHaveLength(1)
  })
})
