import { storeOf } from '@lensync/store'
import { resource, type Sync, syncWith, websocket } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { fastReconnect, switchableWebSocket, syncFixtures, until } from './helpers.ts'
import { startServer } from './sessionHelpers.ts'

// Writes land once (issue #15): a write keeps its op id and content for
// ever, so a server that remembers which (client, op) it applied answers a
// resend with `ack applied: false` instead of applying it again.

type Person = { _id: string; name: string; age: number }
const person = (name = 'Ada', age = 36): Person => ({ _id: 'p1', name, age })
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
type Envelope = { t: string } & Record<string, unknown>

const { cleanups, track } = syncFixtures()

/**
 * A server of one entity (person p1) that remembers the writes it applied
 * per (client, op), as the hub does: a write seen before is answered with
 * `ack { op, rev, applied: false }` (its first revision) and changes nothing.
 * `holdAcks(n)`: connection n applies writes but never acknowledges them
 * (the ack is lost when the connection drops).
 */
async function dedupServer() {
  const state = { rev: 1, value: person() as Record<string, unknown> }
  const applied = new Map<string, number>()
  const held = new Set<number>()
  const hellos: Envelope[] = []
  const writes: Array<{ connection: number; frame: string; message: Envelope }> = []
  const arrivals = new Set<() => void>()
  let connections = 0
  const script = await startServer(ws => {
    const connection = ++connections
    let client = ''
    ws.on('message', data => {
      const text = String(data)
      const parsed = JSON.parse(text) as Envelope | Envelope[]
      for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
        if (msg.t === 'hello') {
          hellos.push(msg)
          client = String(msg.client)
          ws.send(JSON.stringify({ t: 'welcome', v: 1, client, node: 'n' }))
        } else if (msg.t === 'sub') {
          ws.send(
            JSON.stringify({
              t: 'snap',
              r: 'person',
              id: 'p1',
              rev: state.rev,
              value: { json: state.value },
            }),
          )
        } else if (msg.t === 'patch') {
          writes.push({ connection, frame: JSON.stringify(msg), message: msg })
          for (const arrived of [...arrivals]) arrived()
          const key = `${String(msg.client ?? client)}\u0000${String(msg.op)}`
          const before = applied.get(key)
          if (before !== undefined) {
            ws.send(JSON.stringify({ t: 'ack', op: msg.op, rev: before, applied: false }))
            continue
          }
          for (const [path, encoded] of msg.set as Array<[string[], { json: unknown }]>)
            state.value = { ...state.value, [path[0] as string]: encoded.json }
          state.rev++
          applied.set(key, state.rev)
          if (!held.has(connection)) ws.send(JSON.stringify({ t: 'ack', op: msg.op, rev: state.rev }))
        }
      }
    })
  })
  cleanups.push(() => script.close())
  return {
    url: script.url,
    state,
    hellos,
    writes,
    holdAcks: (connection: number) => held.add(connection),
    /** Resolves once `count` writes arrived. */
    writesArrived(count: number): Promise<void> {
      return new Promise(resolve => {
        const check = () => {
          if (writes.length < count) return
          arrivals.delete(check)
          resolve()
        }
        arrivals.add(check)
        check()
      })
    },
    connection: (n: number): Promise<WebSocket> => script.connection(n),
  }
}

function client(url: string, WebSocketImpl: unknown) {
  const store = storeOf(person('local', 0))
  const socket = websocket(url, { WebSocket: WebSocketImpl as never, reconnect: fastReconnect })
  const sync: Sync = track(syncWith(store, socket, PersonResource))
  return { store, sync, socket }
}

describe('a write lands once', () => {
  it('sends a write whose ack was lost again after a reconnect, with the same op and content; later edits get a new op after it', async () => {
    const server = await dedupServer()
    const cut = switchableWebSocket()
    const a = client(server.url, cut.WebSocket)
    await a.sync.flush()
    server.holdAcks(1)

    a.store.update({ ...a.store.current, name: 'A' })
    await server.writesArrived(1)
    cut.offline()
    await until(a.sync.status, s => s === 'offline', 'A offline')
    // Edited again while the first write waits for its ack: a new write.
    a.store.update({ ...a.store.current, name: 'A2', age: 50 })
    expect(a.sync.pending.value).toBe(2)

    cut.online()
    await a.sync.flush()
    const [first, resent, later] = server.writes
    expect(server.writes).toHaveLength(3)
    expect(first?.connection).toBe(1)
    expect(resent?.connection).toBe(2)
    expect(resent?.frame).toBe(first?.frame)
    expect(later?.connection).toBe(2)
    expect(later?.message.op as number).toBeGreaterThan(first?.message.op as number)
    expect(later?.message.set).toEqual([
      [['name'], { json: 'A2' }],
      [['age'], { json: 50 }],
    ])
    expect(a.store.current).toEqual(person('A2', 50))
    expect(server.state.value).toEqual(person('A2', 50))
    expect(a.sync.pending.value).toBe(0)
  })

  it('drops a resent write the server had applied (ack applied: false) without taking the store back to it', async () => {
    const server = await dedupServer()
    const cut = switchableWebSocket()
    const a = client(server.url, cut.WebSocket)
    await a.sync.flush()
    server.holdAcks(1)

    a.store.update({ ...a.store.current, name: 'mine' })
    await server.writesArrived(1)
    cut.offline()
    await until(a.sync.status, s => s === 'offline', 'A offline')
    // Another client's write lands after A's, before A is back.
    server.state.value = { ...server.state.value, name: 'theirs' }
    server.state.rev++

    cut.online()
    await a.sync.flush()
    expect(server.writes.map(w => w.connection)).toEqual([1, 2])
    expect(a.store.current).toEqual(person('theirs'))
    expect(server.state.value).toEqual(person('theirs'))
    expect(a.sync.pending.value).toBe(0)
    expect(a.sync.status.value).toBe('synced')
  })
})

describe('client ids', () => {
  it('sends socket.clientId in hello; two sockets are two clients; the clientId option overrides it', async () => {
    const server = await dedupServer()
    const cut = switchableWebSocket()
    const one = client(server.url, cut.WebSocket)
    const two = client(server.url, cut.WebSocket)
    await Promise.all([one.sync.flush(), two.sync.flush()])

    expect(one.socket.clientId).toMatch(/\S/)
    expect(one.socket.clientId).not.toBe(two.socket.clientId)
    expect(server.hellos.map(h => h.client).sort()).toEqual([one.socket.clientId, two.socket.clientId].sort())
    expect(one.socket.append('/x').clientId).toBe(one.socket.clientId)

    const given = websocket(server.url, { WebSocket: cut.WebSocket as never, clientId: 'tab-1' })
    expect(given.clientId).toBe('tab-1')
    const sync = track(syncWith(storeOf(person()), given, PersonResource))
    await sync.flush()
    expect(server.hellos.at(-1)?.client).toBe('tab-1')
    expect(() => websocket(server.url, { clientId: '' })).toThrow(/clientId/)
  })

  it('keeps op ids increasing per client: a new sync over the same socket goes on after the last op', async () => {
    const server = await dedupServer()
    const cut = switchableWebSocket()
    const socket = websocket(server.url, { WebSocket: cut.WebSocket as never, reconnect: fastReconnect })
    const first = storeOf(person())
    const firstSync = track(syncWith(first, socket, PersonResource))
    await firstSync.flush()
    first.update(person('one'))
    await firstSync.flush()
    firstSync.stop()

    const second = storeOf(person())
    const secondSync = track(syncWith(second, socket, PersonResource))
    await secondSync.flush()
    second.update({ ...second.current, age: 2 })
    await secondSync.flush()
    const ops = server.writes.map(w => w.message.op as number)
    expect(ops).toHaveLength(2)
    expect(ops[1]).toBeGreaterThan(ops[0] as number)
  })
})
