import { lenses, storeOf } from '@lensync/store'
import { ConnectionError, resource, syncWith, websocket } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { fastReconnect, syncFixtures, until } from './helpers.ts'
import { startServer } from './sessionHelpers.ts'

// The client speaks the latest protocol version (3: version 2's compact
// frames and the short patch) to a hub that speaks it, and version 1 to a
// server that speaks only version 1.

type Person = { _id: string; name: string; age: number }
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
const L = lenses<Person>()
const { cleanups, track, server } = syncFixtures()

/** A `ws` WebSocket that keeps the raw frames it sent and received. */
function rawFrames() {
  const sent: string[] = []
  const received: string[] = []
  class Raw extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args)
      this.on('message', data => received.push(String(data)))
    }
    override send(data: unknown, ...rest: unknown[]): void {
      sent.push(String(data))
      // biome-ignore lint/suspicious/noExplicitAny: forwarding ws's overloads
      ;(super.send as any)(data, ...rest)
    }
  }
  return { WebSocket: Raw as unknown as typeof WebSocket, sent, received }
}

/**
 * Syncs p1 against a hand-made server at `url` (it snaps p1 as Ada), edits
 * its name and waits until the edit is acknowledged.
 */
async function editAgainst(url: string): Promise<void> {
  const store = storeOf<Person>({ _id: 'p1', name: 'local', age: 0 })
  const sync = track(
    syncWith(
      store,
      websocket(url, { WebSocket: WebSocket as never, reconnect: fastReconnect }),
      PersonResource,
    ),
  )
  await sync.flush()
  expect(store.current.name).toBe('Ada')
  store.map(L.name).update('Grace')
  await sync.flush()
  expect(sync.status.value).toBe('synced')
}

describe('protocol v2 from syncWith', () => {
  it('sends a one-field edit and receives it as short arrays, smaller than {path, value}', async () => {
    const { url } = await server()
    const [netA, netB] = [rawFrames(), rawFrames()]
    const a = storeOf<Person>({ _id: 'p1', name: 'Ada', age: 36 })
    const b = storeOf<Person>({ _id: 'p1', name: 'Ada', age: 36 })
    const syncA = track(syncWith(a, websocket(url, { WebSocket: netA.WebSocket }), PersonResource))
    await syncA.flush()
    const syncB = track(syncWith(b, websocket(url, { WebSocket: netB.WebSocket }), PersonResource))
    await syncB.flush()
    expect(netA.sent[0]).toContain('"t":"hello","v":3')
    const [sentBefore, receivedBefore] = [netA.sent.length, netB.received.length]

    a.map(L.name).update('Grace')
    await until(b.data, p => p.name === 'Grace', 'B shows the edit')
    await syncA.flush()
    const baseline = JSON.stringify({ path: '.name', value: 'Grace' }).length
    const [sent] = netA.sent.slice(sentBefore)
    const [received] = netB.received.slice(receivedBefore)
    // A short patch: [handle, base, path, value], its op the one after the put that created p1;
    // and a short change: [handle, rev, path, value].
    expect(sent).toMatch(/^\[1,\d+,"name","Grace"\]$/)
    expect(received).toBe('[1,2,"name","Grace"]')
    expect((sent as string).length / baseline).toBeLessThanOrEqual(1)
    expect((received as string).length / baseline).toBeLessThanOrEqual(1)
    a.map(L.age).update(37)
    await until(b.data, p => p.age === 37, 'B shows the second edit')
    expect(netA.sent.at(-1)).toMatch(/^\[1,\d+,"age",37\]$/)
    await syncA.flush()
    expect(syncA.pending.value).toBe(0)
    expect(b.current).toEqual({ _id: 'p1', name: 'Grace', age: 37 })
  })

  it('falls back to version 1 against a server that speaks only version 1', async () => {
    const received: Array<Record<string, unknown>> = []
    let rev = 1
    const v1 = await startServer(ws => {
      ws.on('message', data => {
        const parsed = JSON.parse(String(data)) as Record<string, unknown> | Record<string, unknown>[]
        for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
          received.push(msg)
          if (msg.t === 'hello' && msg.v !== 1) ws.close(1002, 'Unsupported protocol version')
          else if (msg.t === 'hello') ws.send(JSON.stringify({ t: 'welcome', v: 1, client: 'c', node: 'n' }))
          else if (msg.t === 'sub')
            ws.send(
              JSON.stringify({
                t: 'snap',
                r: 'person',
                id: 'p1',
                rev,
                value: { json: { _id: 'p1', name: 'Ada', age: 36 } },
              }),
            )
          else if (msg.t === 'patch') ws.send(JSON.stringify({ t: 'ack', op: msg.op, rev: ++rev }))
          else if (msg.t !== 'unsub') ws.close(1008, `not version 1: ${JSON.stringify(msg)}`)
        }
      })
    })
    cleanups.push(() => v1.close())
    await editAgainst(v1.url)
    const hellos = received.filter(m => m.t === 'hello').map(m => m.v)
    expect(hellos).toEqual([3, 1])
    expect(received.filter(m => m.t === 'patch')).toMatchObject([
      { t: 'patch', r: 'person', id: 'p1', set: [[['name'], { json: 'Grace' }]] },
    ])
  })

  it('falls back to the newest version a server names in its 1002 reason (a version 2 server)', async () => {
    const hellos: unknown[] = []
    const writes: string[] = []
    let rev = 1
    const v2 = await startServer(ws => {
      ws.on('message', data => {
        const text = String(data)
        const parsed = JSON.parse(text) as Record<string, unknown> | Record<string, unknown>[]
        // The client speaks version 1 until welcome; after it, version 2's compact writes.
        for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
          if (msg.t === 'hello') {
            hellos.push(msg.v)
            if (msg.v !== 1 && msg.v !== 2)
              ws.close(1002, `Unsupported protocol version ${msg.v}; this server speaks 1 to 2`)
            else ws.send(JSON.stringify({ t: 'welcome', v: msg.v, client: 'c', node: 'n' }))
          } else if (msg.t === 'sub')
            ws.send(`{"e":[1,"person","p1"],"r":${rev},"v":{"_id":"p1","name":"Ada","age":36}}`)
          else if (typeof msg.p === 'number' || Array.isArray(msg.p)) {
            writes.push(text)
            ws.send(JSON.stringify({ a: msg.o, r: ++rev }))
          } else if (msg.t !== 'unsub') ws.close(1008, `unexpected: ${text}`)
        }
      })
    })
    cleanups.push(() => v2.close())
    await editAgainst(v2.url)
    expect(hellos).toEqual([3, 2])
    // Version 2's compact patch, not version 3's short one nor version 1's.
    expect(writes).toHaveLength(1)
    expect(writes[0]).toMatch(/^\{"p":1,"o":\d+,"b":1,"s":\["name","Grace"\]\}$/)
  })

  it('speaks version 1 to a version 2 hub when protocolVersion is 1', async () => {
    const { url } = await server()
    const [netA, netB] = [rawFrames(), rawFrames()]
    const a = storeOf<Person>({ _id: 'p1', name: 'Ada', age: 36 })
    const b = storeOf<Person>({ _id: 'p1', name: 'Ada', age: 36 })
    const socketA = websocket(url, { WebSocket: netA.WebSocket, protocolVersion: 1 })
    expect(socketA.options.protocolVersion).toBe(1)
    const syncA = track(syncWith(a, socketA, PersonResource))
    await syncA.flush()
    const syncB = track(syncWith(b, websocket(url, { WebSocket: netB.WebSocket }), PersonResource))
    await syncB.flush()
    expect(netA.sent[0]).toContain('"t":"hello","v":1')
    expect(netA.received.find(f => f.includes('"welcome"'))).toContain('"v":1')
    const sentBefore = netA.sent.length
    a.map(L.name).update('Grace')
    await until(b.data, p => p.name === 'Grace', 'B shows the edit')
    await syncA.flush()
    // A's patch is version 1's self-describing form; B, on version 3, still reads it short.
    expect(JSON.parse(netA.sent[sentBefore] as string)).toMatchObject({
      t: 'patch',
      r: 'person',
      id: 'p1',
      set: [[['name'], { json: 'Grace' }]],
    })
    expect(netB.received.at(-1)).toBe('[1,2,"name","Grace"]')
    b.map(L.age).update(37)
    await until(a.data, p => p.age === 37, 'A shows B’s edit')
    expect(JSON.parse(netA.received.at(-1) as string)).toMatchObject({ t: 'change', r: 'person', id: 'p1' })
  })

  it('refuses a protocolVersion it does not speak with BAD_OPTION', () => {
    for (const protocolVersion of [0, 4, 1.5, Number.NaN, '2' as unknown as number]) {
      const error = (() => {
        try {
          websocket('ws://127.0.0.1:1', { WebSocket: WebSocket as never, protocolVersion })
        } catch (caught) {
          return caught
        }
      })()
      expect(error).toBeInstanceOf(ConnectionError)
      expect(error).toMatchObject({ code: 'BAD_OPTION' })
    }
  })
})
