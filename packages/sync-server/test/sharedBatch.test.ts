import type { IncomingMessage } from 'node:http'
import { createSyncHub, type HubConnection, memoryStorage, type SharedFrame } from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { enc, quietLogger } from './hubHelpers.ts'

// Several changes of one entity in one tick reach each subscriber as one
// frame (a JSON array). Every subscriber gets the same array, so the hub
// joins it once and hands every connection the same shared frame, which a
// transport encodes once (as it does for a single change).

const request = { headers: {} } as IncomingMessage

/** A connection that records what it is sent, shared frames apart. */
function recordingConnection(id: string) {
  const texts: string[] = []
  const shared: SharedFrame[] = []
  const connection: HubConnection = {
    id,
    send: text => void texts.push(text),
    sendShared: frame => {
      shared.push(frame)
      texts.push(frame.text)
    },
    close: () => {},
  }
  return { connection, texts, shared }
}

function immediateTimers() {
  const immediates: (() => void)[] = []
  return {
    timers: {
      setTimeout,
      clearTimeout,
      setImmediate: (callback: () => void) => void immediates.push(callback),
    },
    run() {
      for (const callback of immediates.splice(0)) callback()
    },
  }
}

async function setUp(subscriberCount: number, options: { maxOutgoingFrameBytes?: number } = {}) {
  const clock = immediateTimers()
  const hub = createSyncHub(memoryStorage(), { logger: quietLogger(), timers: clock.timers, ...options })
  const writer = recordingConnection('writer')
  const writerClient = hub.connect(writer.connection, request)
  writerClient.receive(JSON.stringify({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ n: 0 }) }))
  await Promise.resolve()
  clock.run()
  const subscribers = Array.from({ length: subscriberCount }, (_, i) => recordingConnection(`s${i}`))
  const clients = subscribers.map(s => hub.connect(s.connection, request))
  for (const client of clients) client.receive(JSON.stringify({ t: 'sub', r: 'doc', id: 'x' }))
  await Promise.resolve()
  clock.run()
  for (const s of subscribers) {
    expect(JSON.parse(s.texts[0] as string)).toMatchObject({ t: 'snap' })
    s.texts.length = 0
    s.shared.length = 0
  }
  let op = 1
  /** Writes `count` one-field patches in one tick, then runs the flush. */
  const patchInOneTick = async (count: number) => {
    for (let i = 0; i < count; i++)
      writerClient.receive(
        JSON.stringify({ t: 'patch', op: ++op, r: 'doc', id: 'x', set: [[['n'], enc(op)]] }),
      )
    await Promise.resolve()
    clock.run()
  }
  const close = async () => {
    writerClient.disconnect()
    for (const client of clients) client.disconnect()
    await hub.close()
  }
  /** Runs the flush after what was received this tick. */
  const flush = async () => {
    await Promise.resolve()
    clock.run()
  }
  return { subscribers, clients, writerClient, patchInOneTick, flush, close }
}

describe('a tick of changes fanned out to several subscribers', () => {
  it('is joined once: every subscriber is handed the same shared array frame', async () => {
    const { subscribers, patchInOneTick, close } = await setUp(3)
    await patchInOneTick(3)
    const [first, ...others] = subscribers
    expect(first?.shared).toHaveLength(1)
    const frame = first?.shared[0] as SharedFrame
    const changes = JSON.parse(frame.text)
    expect(changes.map((c: { t: string; rev: number }) => [c.t, c.rev])).toEqual([
      ['change', 2],
      ['change', 3],
      ['change', 4],
    ])
    for (const other of others) {
      expect(other.shared).toHaveLength(1)
      expect(other.shared[0]).toBe(frame)
      expect(other.texts).toEqual([frame.text])
    }
    await close()
  })

  it('cuts long ticks at maxOutgoingFrameBytes at the same places for everyone, each part shared', async () => {
    const { subscribers, patchInOneTick, close } = await setUp(2, { maxOutgoingFrameBytes: 200 })
    await patchInOneTick(8)
    const [a, b] = subscribers
    expect(a?.shared.length).toBeGreaterThan(1)
    expect(b?.shared).toEqual(a?.shared)
    for (let i = 0; i < (a?.shared.length ?? 0); i++) expect(b?.shared[i]).toBe(a?.shared[i])
    const revs = (a?.texts ?? []).flatMap(text => {
      expect(text.length).toBeLessThanOrEqual(200)
      const parsed = JSON.parse(text)
      return (Array.isArray(parsed) ? parsed : [parsed]).map((c: { rev: number }) => c.rev)
    })
    expect(revs).toEqual([2, 3, 4, 5, 6, 7, 8, 9])
    await close()
  })

  it('reuses a joined frame only for the same sequence: one more change makes a frame of its own', async () => {
    const { subscribers, clients, writerClient, flush, close } = await setUp(2)
    const [onlyX, xAndY] = subscribers
    clients[1]?.receive(JSON.stringify({ t: 'sub', r: 'doc', id: 'y' }))
    await flush()
    xAndY?.texts.splice(0)
    // In one tick: two changes of x (both subscribers), then one of y (the second only).
    writerClient.receive(JSON.stringify({ t: 'patch', op: 90, r: 'doc', id: 'x', set: [[['n'], enc(90)]] }))
    writerClient.receive(JSON.stringify({ t: 'patch', op: 91, r: 'doc', id: 'x', set: [[['n'], enc(91)]] }))
    writerClient.receive(JSON.stringify({ t: 'put', op: 92, r: 'doc', id: 'y', value: enc({ n: 92 }) }))
    await flush()
    const ids = (text: string | undefined) => JSON.parse(text as string).map((c: { id: string }) => c.id)
    expect(ids(onlyX?.texts[0])).toEqual(['x', 'x'])
    expect(ids(xAndY?.texts[0])).toEqual(['x', 'x', 'y'])
    expect(xAndY?.shared[0]).not.toBe(onlyX?.shared[0])
    await close()
  })

  it('gives a subscriber with something else queued in the tick its own frame, in order', async () => {
    const { subscribers, clients, patchInOneTick, close } = await setUp(2)
    const [plain, busy] = subscribers
    // The busy one asks for another entity in the same tick: its snap (of an
    // entity that does not exist yet, revision 0) goes first.
    clients[1]?.receive(JSON.stringify({ t: 'sub', r: 'doc', id: 'y' }))
    await patchInOneTick(2)
    expect(plain?.shared).toHaveLength(1)
    expect(busy?.shared).toEqual([])
    const received = JSON.parse(busy?.texts[0] as string)
    expect(received.map((m: { t: string; rev?: number }) => [m.t, m.rev])).toEqual([
      ['snap', 0],
      ['change', 2],
      ['change', 3],
    ])
    expect(JSON.parse(plain?.shared[0]?.text as string)).toEqual(received.slice(1))
    await close()
  })
})
