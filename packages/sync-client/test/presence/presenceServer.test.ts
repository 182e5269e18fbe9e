import { storeOf } from '@lensync/store'
import {
  type Peer,
  type Presence,
  presence,
  resource,
  type SyncError,
  syncList,
  syncWith,
  websocket,
} from '@lensync/sync-client'
import { createSyncServer, type SyncServerOptions } from '@lensync/sync-server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import {
  countingWebSocket,
  envelopes,
  fastReconnect,
  quietLogger,
  switchableWebSocket,
  until,
} from '../helpers.ts'
import { recorded, trackedWebSocket } from './presenceHelpers.ts'

// presence() against a real hub: rooms ride each socket's one shared
// connection, and what one client does shows up at the others.

type Me = { name: string; field?: string; since?: Date; n?: number }

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function start(options: SyncServerOptions = {}): Promise<string> {
  const server = await createSyncServer({
    port: 0,
    host: '127.0.0.1',
    memory: true,
    pingPeriod: 0,
    logger: quietLogger,
    ...options,
  })
  cleanups.push(() => server.close())
  return server.url
}

/** A socket of its own (a tab) with a readable client id, `ws` injected and fast reconnects. */
function tab(url: string, clientId: string, WebSocketImpl: typeof WebSocket = WebSocket) {
  return websocket(url, { WebSocket: WebSocketImpl as never, reconnect: fastReconnect, clientId })
}

function join(socket: ReturnType<typeof tab>, room: string, state: Me, throttle?: number): Presence<Me> {
  const made = presence<Me>(socket, room, state, throttle === undefined ? {} : { throttle })
  cleanups.push(() => made.stop())
  return made
}

const names = (peers: readonly Peer<Me>[]) => peers.map(p => p.state.name)
const clients = (peers: readonly Peer<Me>[]) => peers.map(p => p.client)
const sees = (room: Presence<Me>, expected: string[], what: string) =>
  until(room.others, others => JSON.stringify(names(others)) === JSON.stringify(expected), what)

describe('presence() against the hub', () => {
  it('members see each other in joining order, me excluded; a late joiner sees everyone at once', async () => {
    const url = await start()
    const probe = join(tab(url, 'probe'), 'doc', { name: 'Probe' })
    const ada = join(tab(url, 'ada'), 'doc', { name: 'Ada' })
    await sees(probe, ['Ada'], 'the probe to see Ada')
    const bob = join(tab(url, 'bob'), 'doc', { name: 'Bob' })
    await sees(probe, ['Ada', 'Bob'], 'the probe to see Bob after Ada')
    await sees(ada, ['Probe', 'Bob'], 'Ada to see the probe and Bob')
    const joinsAtBob = recorded(bob.joins)

    const cy = join(tab(url, 'cy'), 'doc', { name: 'Cy' })
    await sees(cy, ['Probe', 'Ada', 'Bob'], 'Cy to see everyone')
    expect(clients(cy.others.value)).toEqual(['probe', 'ada', 'bob'])
    await sees(bob, ['Probe', 'Ada', 'Cy'], 'Bob to see Cy at the end')
    expect(joinsAtBob).toEqual([{ client: 'cy', state: { name: 'Cy' } }])
  })

  it('two sockets are two peers, and rooms are apart', async () => {
    const url = await start()
    const a = tab(url, 'a')
    const b = tab(url, 'b')
    const aDoc = join(a, 'doc', { name: 'A' })
    const aChat = join(a, 'chat', { name: 'A in chat' })
    const bDoc = join(b, 'doc', { name: 'B' })
    await sees(aDoc, ['B'], 'A to see B in doc')
    await sees(bDoc, ['A'], 'B to see A in doc')
    expect(aChat.others.value).toEqual([])
  })

  it('sends self throttled: a burst reaches the others as its last state, in few updates', async () => {
    const url = await start()
    const counting = countingWebSocket()
    const ada = join(tab(url, 'ada', counting.WebSocket), 'doc', { name: 'Ada', n: 0 }, 50)
    const bob = join(tab(url, 'bob'), 'doc', { name: 'Bob' })
    await sees(bob, ['Ada'], 'Bob to see Ada')
    const seenAtBob = new Set<number | undefined>()
    bob.others.subscribe(others => void seenAtBob.add(others[0]?.state.n))

    for (let n = 1; n <= 100; n++) ada.self.update({ ...ada.self.current, n })
    await until(bob.others, others => others[0]?.state.n === 100, 'Bob to see the last state')
    const sets = envelopes(counting.sent).filter(m => m.t === 'pset')
    expect(sets.length).toBeLessThanOrEqual(2)
    expect([...seenAtBob].filter(n => n !== 0 && n !== 100).length).toBeLessThanOrEqual(1)

    // A change after the interval goes at once, and reaches Bob.
    ada.self.update({ ...ada.self.current, field: 'name' })
    await until(bob.others, others => others[0]?.state.field === 'name', 'Bob to see the field')
  })

  it('stop() leaves: the others see a leave with the last state', async () => {
    const url = await start()
    const ada = join(tab(url, 'ada'), 'doc', { name: 'Ada' })
    const bob = join(tab(url, 'bob'), 'doc', { name: 'Bob' })
    await sees(bob, ['Ada'], 'Bob to see Ada')
    const leaves = recorded(bob.leaves)
    ada.stop()
    await sees(bob, [], 'Ada to leave')
    expect(leaves).toEqual([{ client: 'ada', state: { name: 'Ada' } }])
    expect(ada.others.value).toEqual([])
  })

  it("a closed socket's peer leaves", async () => {
    const url = await start()
    const closing = trackedWebSocket()
    join(tab(url, 'ada', closing.WebSocket), 'doc', { name: 'Ada' })
    const bob = join(tab(url, 'bob'), 'doc', { name: 'Bob' })
    await sees(bob, ['Ada'], 'Bob to see Ada')
    const leaves = recorded(bob.leaves)
    closing.closeTab()
    await sees(bob, [], 'Ada to leave when her tab closed')
    expect(clients(leaves)).toEqual(['ada'])
  })

  it('a reconnect within presenceTimeout shows no leave and no join at the others; the room goes on', async () => {
    const url = await start({ presenceTimeout: 60_000 })
    const flaky = switchableWebSocket()
    const ada = join(tab(url, 'ada', flaky.WebSocket), 'doc', { name: 'Ada' })
    const bob = join(tab(url, 'bob'), 'doc', { name: 'Bob' })
    await sees(bob, ['Ada'], 'Bob to see Ada')
    await sees(ada, ['Bob'], 'Ada to see Bob')
    const joins = recorded(bob.joins)
    const leaves = recorded(bob.leaves)
    const adaJoins = recorded(ada.joins)
    const adaLeaves = recorded(ada.leaves)

    flaky.offline()
    // Changed while offline: the re-join carries the current state.
    ada.self.update({ name: 'Ada', field: 'email' })
    flaky.online()
    await until(
      bob.others,
      others => others[0]?.state.field === 'email',
      'Bob to see the state of the re-join',
    )
    ada.self.update({ name: 'Ada', field: 'name' })
    await until(bob.others, others => others[0]?.state.field === 'name', 'Bob to see a later update')
    expect(joins).toEqual([])
    expect(leaves).toEqual([])
    expect(adaJoins).toEqual([])
    expect(adaLeaves).toEqual([])
    expect(names(ada.others.value)).toEqual(['Bob'])
  })

  it('reports FORBIDDEN, TOO_LARGE and RATE_LIMITED on errors', async () => {
    const url = await start({
      authorize: (_principal, { op, resource }) => !(op === 'presence' && resource === 'secret'),
      maxPresenceBytes: 200,
      maxPresenceRooms: 2,
    })
    const socket = tab(url, 'ada')
    const codes = (room: Presence<Me>) => recorded(room.errors)
    const secret = join(socket, 'secret', { name: 'Ada' })
    const secretErrors = codes(secret)
    const big = join(socket, 'big', { name: 'x'.repeat(500) })
    const bigErrors = codes(big)
    const one = join(socket, 'one', { name: 'Ada' })
    const oneErrors = codes(one)
    const two = join(socket, 'two', { name: 'Ada' })
    const twoErrors = codes(two)
    const watcher = join(tab(url, 'bob'), 'one', { name: 'Bob' })
    await sees(watcher, ['Ada'], 'Bob to see Ada in the room she could join')

    const code = (errors: SyncError[]) => errors.map(e => e.code)
    await vi.waitFor(() => {
      expect(code(secretErrors)).toEqual(['FORBIDDEN'])
      expect(code(bigErrors)).toEqual(['TOO_LARGE'])
    })
    // 'secret' and 'big' were refused, so 'one' and 'two' fit; a third room is over the limit.
    expect(oneErrors).toEqual([])
    expect(twoErrors).toEqual([])
    const three = join(socket, 'three', { name: 'Ada' })
    const threeErrors = codes(three)
    await vi.waitFor(() => expect(code(threeErrors)).toEqual(['RATE_LIMITED']))

    // An update over the size limit is refused; the room stays joined.
    one.self.update({ name: 'y'.repeat(500) })
    await vi.waitFor(() => expect(code(oneErrors)).toEqual(['TOO_LARGE']))
    one.self.update({ name: 'Ada', field: 'name' })
    await until(watcher.others, others => others[0]?.state.field === 'name', 'Bob to see the next update')
  })

  it('states go through the codec: Dates survive', async () => {
    const url = await start()
    const since = new Date('2024-05-06T07:08:09.010Z')
    join(tab(url, 'ada'), 'doc', { name: 'Ada', since })
    const bob = join(tab(url, 'bob'), 'doc', { name: 'Bob' })
    const [ada] = await until(bob.others, others => others.length === 1, 'Bob to see Ada')
    expect(ada?.state.since).toBeInstanceOf(Date)
    expect(ada?.state.since?.getTime()).toBe(since.getTime())
  })

  it('one socket opens one WebSocket for its syncs and rooms together', async () => {
    const url = await start()
    const tracked = trackedWebSocket()
    const socket = tab(url, 'ada', tracked.WebSocket)
    type Person = { _id: string; name: string }
    type Line = { id: string; text: string }
    const person = storeOf<Person>({ _id: 'p1', name: 'Ada' })
    const lines = storeOf<Line[]>([])
    const sync = syncWith(person, socket, resource<Person>({ name: 'person', id: p => p._id }))
    const list = syncList(lines, socket, resource<Line>({ name: 'line', id: l => l.id }))
    cleanups.push(
      () => sync.stop(),
      () => list.stop(),
    )
    const doc = join(socket, 'person/p1', { name: 'Ada' })
    join(socket, 'chat', { name: 'Ada' })
    const bob = join(tab(url, 'bob'), 'person/p1', { name: 'Bob' })
    await Promise.all([sync.flush(), list.flush(), sees(doc, ['Bob'], 'Ada to see Bob')])
    await sees(bob, ['Ada'], 'Bob to see Ada')
    expect(tracked.constructed).toBe(1)
  })

  it('the same room twice over one socket is refused up front', async () => {
    const url = await start()
    const socket = tab(url, 'ada')
    join(socket, 'doc', { name: 'Ada' })
    expect(() => presence(socket, 'doc', { name: 'again' })).toThrow(/already joined/)
  })
})
