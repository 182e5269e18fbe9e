import { effect } from '@lensync/store'
import { SendError, type Session, type WebSocketOptions, websocket } from '@lensync/sync-client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FakeWebSocket } from './sessionHelpers.ts'

const URL = 'ws://example.test/sync'
const sessions: Session[] = []

function reconnecting(options: WebSocketOptions = {}): Session {
  const session = websocket(URL, {
    WebSocket: FakeWebSocket,
    reconnect: true,
    online: null,
    ...options,
  }).connect()
  sessions.push(session)
  return session
}

const attempts = () => FakeWebSocket.instances.length

/** Advances fake time by `ms` and asserts the next attempt comes exactly then, not 1 ms earlier. */
function expectAttemptAfter(ms: number): void {
  const before = attempts()
  vi.advanceTimersByTime(ms - 1)
  expect(attempts(), `no attempt before ${ms} ms`).toBe(before)
  vi.advanceTimersByTime(1)
  expect(attempts(), `an attempt at ${ms} ms`).toBe(before + 1)
}

/** Fails the newest connection attempt and asserts each retry comes after the given delays. */
function expectSchedule(delays: number[]): void {
  for (const delay of delays) {
    FakeWebSocket.last.fail()
    expectAttemptAfter(delay)
  }
}

beforeEach(() => {
  vi.useFakeTimers()
  FakeWebSocket.instances = []
})

afterEach(async () => {
  await Promise.all(sessions.splice(0).map(session => session.close()))
  expect(vi.getTimerCount(), 'timers left after close()').toBe(0)
  vi.useRealTimers()
})

describe('reconnect backoff', () => {
  it('grows by factor from minDelay and is capped at maxDelay (full jitter, random 0.5)', () => {
    reconnecting({ random: () => 0.5 })
    // Attempt n waits minDelay + 0.5 · (min(10000, 250 · 2^(n+1)) − minDelay).
    expectSchedule([375, 625, 1125, 2125, 4125, 5125, 5125])
  })

  it('stays within [minDelay, upper bound]: random 0 gives minDelay', () => {
    reconnecting({ random: () => 0 })
    expectSchedule([250, 250, 250, 250])
  })

  it('stays within [minDelay, upper bound]: random close to 1 gives the bound', () => {
    reconnecting({ random: () => 1 - 1e-9 })
    expectSchedule([500, 1000, 2000, 4000, 8000, 10_000, 10_000])
  })

  it('spreads retries with the random numbers it is given (jitter)', () => {
    const values = [0.1, 0.9, 0.3]
    reconnecting({ random: () => values.shift() ?? 0 })
    expectSchedule([250 + 0.1 * 250, 250 + 0.9 * 750, 250 + 0.3 * 1750])
  })

  it('waits exactly the upper bound with jitter 0, and between with partial jitter', () => {
    reconnecting({ random: () => 0, reconnect: { jitter: 0 } })
    expectSchedule([500, 1000, 2000])
    reconnecting({ random: () => 0, reconnect: { jitter: 0.5, minDelay: 100, maxDelay: 1000, factor: 3 } })
    // Upper bounds 300, 900, 1000; the lower end is halfway up from minDelay.
    expectSchedule([200, 500, 550])
  })

  it('starts over after a connection stayed open for resetAfter', () => {
    reconnecting({ random: () => 0.5 })
    expectSchedule([375, 625])
    FakeWebSocket.last.open()
    vi.advanceTimersByTime(5000)
    expectSchedule([375])
  })

  it('does not start over when the connection dropped sooner than resetAfter', () => {
    reconnecting({ random: () => 0.5, reconnect: { resetAfter: 2000 } })
    expectSchedule([375, 625])
    FakeWebSocket.last.open()
    vi.advanceTimersByTime(1999)
    expectSchedule([1125])
  })

  it('tries again at once on the online event', () => {
    const online = new EventTarget()
    reconnecting({ online })
    FakeWebSocket.last.fail()
    expect(attempts()).toBe(1)
    online.dispatchEvent(new Event('online'))
    expect(attempts()).toBe(2)
    // The timer of the retry that was skipped is gone.
    vi.advanceTimersByTime(60_000)
    expect(attempts()).toBe(2)
  })

  it('stops everything on close(): no retry timer fires, the online listener is removed', async () => {
    const added: string[] = []
    const removed: string[] = []
    class CountingTarget extends EventTarget {
      override addEventListener(...args: Parameters<EventTarget['addEventListener']>): void {
        added.push(args[0])
        super.addEventListener(...args)
      }
      override removeEventListener(...args: Parameters<EventTarget['removeEventListener']>): void {
        removed.push(args[0])
        super.removeEventListener(...args)
      }
    }
    const online = new CountingTarget()
    const session = reconnecting({ online })
    FakeWebSocket.last.fail()
    expect(vi.getTimerCount()).toBe(1)
    await session.close()
    expect(session.state.value).toBe('closed')
    expect(vi.getTimerCount()).toBe(0)
    expect(removed).toEqual(added)
    vi.advanceTimersByTime(60_000)
    online.dispatchEvent(new Event('online'))
    expect(attempts()).toBe(1)
  })

  it.each([
    ['open', () => FakeWebSocket.last.open()],
    [
      'drop',
      () => {
        FakeWebSocket.last.open()
        FakeWebSocket.last.fail()
      },
    ],
  ] as const)('leaves nothing running when an effect closes the session on %s', async (_, happen) => {
    const session = reconnecting()
    let closing: Promise<void> | undefined
    let changes = 0
    const dispose = effect(() => {
      session.state.value
      if (++changes > 1 && !closing) closing = session.close()
    })
    happen()
    await closing
    dispose()
    expect(session.state.value).toBe('closed')
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(60_000)
    expect(attempts()).toBe(1)
  })

  it('clears the resetAfter timer on close() of an open session', async () => {
    const session = reconnecting()
    FakeWebSocket.last.open()
    expect(vi.getTimerCount()).toBe(1)
    await session.close()
    expect(vi.getTimerCount()).toBe(0)
  })

  it.each([4401, 4403])('does not reconnect after close code %i', async code => {
    const session = reconnecting()
    FakeWebSocket.last.open()
    const queuedLater = new Promise<unknown>(resolve => {
      session.closes.subscribe(() => void session.send('late').catch(resolve))
    })
    FakeWebSocket.last.closed(code, 'no')
    expect(session.state.value).toBe('closed')
    expect(await queuedLater).toMatchObject({ code: 'SESSION_CLOSED' })
    vi.advanceTimersByTime(60_000)
    expect(attempts()).toBe(1)
  })

  it('goes back to connecting while waiting, fires closes for each drop and opens for each open', () => {
    const session = reconnecting({ random: () => 0 })
    const events: string[] = []
    session.opens.subscribe(() => events.push(`open:${session.state.peek()}`))
    session.closes.subscribe(event => events.push(`close ${event.code}:${session.state.peek()}`))
    FakeWebSocket.last.open()
    FakeWebSocket.last.fail()
    vi.advanceTimersByTime(250)
    FakeWebSocket.last.fail()
    vi.advanceTimersByTime(250)
    FakeWebSocket.last.open()
    expect(events).toEqual(['open:open', 'close 1006:connecting', 'close 1006:connecting', 'open:open'])
  })

  it('queues sends while reconnecting up to maxQueue, then rejects with QUEUE_FULL', async () => {
    const session = reconnecting({ random: () => 0, maxQueue: 2 })
    FakeWebSocket.last.open()
    FakeWebSocket.last.fail()
    const first = session.send('one')
    const second = session.send('two')
    const third = session.send('three').catch((e: unknown) => e)
    const error = await third
    expect(error).toBeInstanceOf(SendError)
    expect(error).toMatchObject({ code: 'QUEUE_FULL' })
    vi.advanceTimersByTime(250)
    FakeWebSocket.last.open()
    await Promise.all([first, second])
    expect(FakeWebSocket.last.sent).toEqual(['one', 'two'])
  })

  it('uses injected timers instead of the global ones', async () => {
    vi.useRealTimers()
    const scheduled: { callback: () => void; ms: number }[] = []
    const session = reconnecting({
      random: () => 0,
      timers: {
        setTimeout: (callback, ms) => scheduled.push({ callback, ms }),
        clearTimeout: () => {},
      },
    })
    FakeWebSocket.last.fail()
    expect(scheduled.map(s => s.ms)).toEqual([250])
    scheduled[0]?.callback()
    expect(attempts()).toBe(2)
    await session.close()
    vi.useFakeTimers()
  })

  it('treats a WebSocket constructor that throws as a failed attempt and retries', async () => {
    let throwsLeft = 1
    class Flaky extends FakeWebSocket {
      constructor(url: string, protocols?: string | string[]) {
        if (throwsLeft-- > 0) throw new Error('SecurityError')
        super(url, protocols)
      }
    }
    const session = reconnecting({ WebSocket: Flaky, random: () => 0 })
    const errors: unknown[] = []
    const codes: number[] = []
    session.errors.subscribe(event => errors.push((event as Event & { error: unknown }).error))
    session.closes.subscribe(event => codes.push(event.code))
    await Promise.resolve()
    expect(errors).toMatchObject([{ message: 'SecurityError' }])
    expect(codes).toEqual([1006])
    expect(session.state.value).toBe('connecting')
    expectAttemptAfter(250)
  })

  it('moves through the URLs round-robin', () => {
    const socket = websocket(['ws://a.test/', 'ws://b.test/'], {
      WebSocket: FakeWebSocket,
      reconnect: true,
      online: null,
    })
    const session = socket.connect()
    sessions.push(session)
    for (let i = 0; i < 3; i++) {
      FakeWebSocket.last.fail()
      vi.runOnlyPendingTimers()
    }
    expect(FakeWebSocket.instances.map(ws => ws.url)).toEqual([
      'ws://a.test/',
      'ws://b.test/',
      'ws://a.test/',
      'ws://b.test/',
    ])
    expect(session.url.value).toBe('ws://b.test/')
  })

  it('lets connect() turn reconnect on or off and override the socket settings', () => {
    const socket = websocket(URL, {
      WebSocket: FakeWebSocket,
      online: null,
      random: () => 0,
      reconnect: { minDelay: 100, jitter: 0 },
    })
    const once = socket.connect({ reconnect: false })
    sessions.push(once)
    FakeWebSocket.last.fail()
    expect(once.state.value).toBe('closed')
    expect(vi.getTimerCount()).toBe(0)

    sessions.push(socket.connect({ reconnect: true }))
    expectSchedule([200, 400])
    sessions.push(socket.connect({ reconnect: { maxDelay: 150 } }))
    expectSchedule([150])
  })

  it('ends a plain session (no reconnect) on the first drop', () => {
    const session = websocket(URL, { WebSocket: FakeWebSocket }).connect()
    sessions.push(session)
    FakeWebSocket.last.open()
    FakeWebSocket.last.fail()
    expect(session.state.value).toBe('closed')
    vi.advanceTimersByTime(60_000)
    expect(attempts()).toBe(1)
  })
})
