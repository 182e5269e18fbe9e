import {
  ConnectionError,
  LensyncClientError,
  SendError,
  type Session,
  type WebSocketOptions,
  websocket,
} from '@lensync/sync-client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FakeWebSocket } from './sessionHelpers.ts'

const sessions: Session[] = []

function fake(url: string | string[], options: WebSocketOptions = {}) {
  return websocket(url, { WebSocket: FakeWebSocket, online: null, ...options })
}

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

beforeEach(() => {
  FakeWebSocket.instances = []
})

afterEach(async () => {
  vi.unstubAllGlobals()
  await Promise.all(sessions.splice(0).map(session => session.close()))
})

describe('websocket()', () => {
  it.each([
    ['localhost:8787', /scheme must be ws: or wss:/],
    ['ftp://example.test/', /scheme must be ws: or wss:/],
    ['', /non-empty string/],
    ['/sync', /absolute URL/],
    ['ws://example.test/sync#top', /#fragment/],
    ['ws://exa mple.test/', /not a valid URL|absolute URL/],
  ])('throws ConnectionError BAD_URL at once for %j', (url, message) => {
    const error = thrown(() => fake(url))
    expect(error).toBeInstanceOf(ConnectionError)
    expect(error).toBeInstanceOf(LensyncClientError)
    expect(error).toMatchObject({ name: 'ConnectionError', code: 'BAD_URL' })
    expect((error as Error).message).toMatch(message)
  })

  it('throws BAD_URL for an empty URL list', () => {
    expect(thrown(() => fake([]))).toMatchObject({ code: 'BAD_URL' })
  })

  it('turns http: and https: into ws: and wss:, and keeps several URLs in order', () => {
    const socket = fake(['http://a.test:8787/sync', 'https://b.test/sync?x=1'])
    expect(socket.urls).toEqual(['ws://a.test:8787/sync', 'wss://b.test/sync?x=1'])
  })

  it('resolves a relative URL against the page when there is one', () => {
    vi.stubGlobal('location', { href: 'https://app.test/rooms/index.html' })
    expect(fake('/sync').urls).toEqual(['wss://app.test/sync'])
  })

  it('throws NO_WEBSOCKET with the fix in the message when there is no WebSocket constructor', () => {
    vi.stubGlobal('WebSocket', undefined)
    const error = thrown(() => websocket('ws://example.test/'))
    expect(error).toMatchObject({ code: 'NO_WEBSOCKET' })
    expect((error as Error).message).toMatch(/import \{ WebSocket \} from 'ws'/)
  })

  it('uses globalThis.WebSocket when none is passed', () => {
    vi.stubGlobal('WebSocket', FakeWebSocket)
    const session = websocket('ws://example.test/').connect()
    sessions.push(session)
    expect(FakeWebSocket.instances).toHaveLength(1)
  })

  it.each([
    [['lensync v1'], /not a valid token/],
    [['a', 'a'], /given twice/],
  ])('throws BAD_PROTOCOL for subprotocols %j', (protocols, message) => {
    const error = thrown(() => fake('ws://example.test/', { protocols }))
    expect(error).toMatchObject({ code: 'BAD_PROTOCOL' })
    expect((error as Error).message).toMatch(message)
  })

  it.each([
    [{ reconnect: { minDelay: 500, maxDelay: 100 } }, /reconnect.maxDelay must be a number ≥ 500/],
    [{ reconnect: { factor: 0.5 } }, /reconnect.factor must be a number ≥ 1/],
    [{ reconnect: { jitter: 2 } }, /reconnect.jitter must be a number from 0 to 1/],
    [{ maxQueue: -1 }, /maxQueue must be a number ≥ 0/],
    [{ binaryType: 'nodebuffer' }, /binaryType must be 'arraybuffer' or 'blob'/],
    [{ token: 42 }, /token must be a string or a function/],
  ])('throws BAD_OPTION for %j', (options, message) => {
    const error = thrown(() => fake('ws://example.test/', options as WebSocketOptions))
    expect(error).toMatchObject({ code: 'BAD_OPTION' })
    expect((error as Error).message).toMatch(message)
  })

  it('resolves the options with their defaults', () => {
    const token = () => 'secret'
    const socket = fake('ws://example.test/', { token, protocols: 'lensync.v1' })
    expect(socket.options).toMatchObject({
      protocols: ['lensync.v1'],
      WebSocket: FakeWebSocket,
      reconnect: { enabled: false, minDelay: 250, maxDelay: 10_000, factor: 2, jitter: 1, resetAfter: 5000 },
      token,
      binaryType: 'arraybuffer',
      maxQueue: 1000,
      maxBuffer: 1000,
      online: null,
    })
    expect(fake('ws://example.test/', { reconnect: { minDelay: 10 } }).options.reconnect).toEqual({
      enabled: true,
      minDelay: 10,
      maxDelay: 10_000,
      factor: 2,
      jitter: 1,
      resetAfter: 5000,
    })
  })

  it('never puts the token in the URL', () => {
    const socket = fake('ws://example.test/sync', { token: 'secret' })
    sessions.push(socket.connect())
    expect(socket.urls.join()).not.toContain('secret')
    expect(FakeWebSocket.last.url).toBe('ws://example.test/sync')
  })

  it('passes the subprotocols to the WebSocket and sets the binaryType', () => {
    sessions.push(fake('ws://example.test/', { protocols: ['lensync.v1'], binaryType: 'blob' }).connect())
    expect(FakeWebSocket.last.protocols).toEqual(['lensync.v1'])
    expect(FakeWebSocket.last.binaryType).toBe('blob')
    sessions.push(fake('ws://example.test/').connect())
    expect(FakeWebSocket.last.protocols).toBeUndefined()
    expect(FakeWebSocket.last.binaryType).toBe('arraybuffer')
  })
})

describe('socket.append()', () => {
  it('appends a sub-path to every URL and returns a new socket with the same options', () => {
    const socket = fake(['ws://a.test/rooms', 'ws://b.test/rooms/?x=1'], { token: 't' })
    const room = socket.append('/42')
    expect(room.urls).toEqual(['ws://a.test/rooms/42', 'ws://b.test/rooms/42?x=1'])
    expect(room.options).toBe(socket.options)
    expect(socket.urls).toEqual(['ws://a.test/rooms', 'ws://b.test/rooms/?x=1'])
  })

  it('adds a query given with the sub-path', () => {
    expect(fake('ws://a.test/sync?v=1').append('room?name=x y').urls).toEqual([
      'ws://a.test/sync/room?v=1&name=x+y',
    ])
  })

  it('throws BAD_URL for a fragment', () => {
    expect(thrown(() => fake('ws://a.test/').append('/x#y'))).toMatchObject({ code: 'BAD_URL' })
  })
})

describe('session', () => {
  it('each connect() is a new session with its own connection', () => {
    const socket = fake('ws://example.test/')
    const a = socket.connect()
    const b = socket.connect()
    sessions.push(a, b)
    expect(a).not.toBe(b)
    expect(FakeWebSocket.instances).toHaveLength(2)
  })

  it('keeps messages for the first subscriber, also through a derived stream', () => {
    const session = fake('ws://example.test/').connect()
    sessions.push(session)
    FakeWebSocket.last.open()
    FakeWebSocket.last.receive('one')
    FakeWebSocket.last.receive('two')
    const seen: string[] = []
    session.messages.filter(event => event.data !== 'one').subscribe(event => seen.push(event.data))
    FakeWebSocket.last.receive('three')
    expect(seen).toEqual(['two', 'three'])
  })

  it('drops the oldest kept messages past maxBuffer', () => {
    const session = fake('ws://example.test/', { maxBuffer: 2 }).connect()
    sessions.push(session)
    FakeWebSocket.last.open()
    for (const text of ['1', '2', '3', '4']) FakeWebSocket.last.receive(text)
    const seen: unknown[] = []
    session.messages.data().subscribe(data => seen.push(data))
    expect(seen).toEqual(['3', '4'])
  })

  it('keeps the order of converted messages when some conversions are asynchronous', async () => {
    const session = fake('ws://example.test/').connect()
    sessions.push(session)
    FakeWebSocket.last.open()
    const bodies: string[] = []
    const done = new Promise<void>(resolve =>
      session.messages.body().subscribe(
        text => bodies.push(text),
        () => resolve(),
      ),
    )
    FakeWebSocket.last.receive(new Blob(['slow blob']))
    FakeWebSocket.last.receive('fast text')
    FakeWebSocket.last.receive(new Uint8Array([104, 105]))
    FakeWebSocket.last.closed(1000)
    await done
    expect(bodies).toEqual(['slow blob', 'fast text', 'hi'])
  })

  it('rejects data it cannot send with SendError BAD_DATA', async () => {
    const session = fake('ws://example.test/').connect()
    sessions.push(session)
    await expect(session.send(42 as never)).rejects.toSatisfy(
      (e: unknown) => e instanceof SendError && e.code === 'BAD_DATA',
    )
  })

  it('rejects a send the WebSocket throws on with SEND_FAILED, keeping the cause', async () => {
    const session = fake('ws://example.test/').connect()
    sessions.push(session)
    FakeWebSocket.last.open()
    const cause = new Error('boom')
    FakeWebSocket.last.send = () => {
      throw cause
    }
    await expect(session.send('x')).rejects.toMatchObject({ code: 'SEND_FAILED', cause })
  })

  it('closes while still connecting, and close() twice returns the same promise', async () => {
    const session = fake('ws://example.test/').connect()
    sessions.push(session)
    const first = session.close()
    expect(session.close()).toBe(first)
    expect(session.state.value).toBe('closing')
    await first
    expect(session.state.value).toBe('closed')
  })

  it('ends its streams when closed for good, so for await loops finish', async () => {
    const session = fake('ws://example.test/').connect()
    sessions.push(session)
    FakeWebSocket.last.open()
    const opens: Event[] = []
    const loop = (async () => {
      for await (const event of session.opens) opens.push(event)
    })()
    await session.close()
    await loop
    expect(opens).toEqual([])
  })
})
