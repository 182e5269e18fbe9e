import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Store, storeOf } from '@lensync/store'
import { resource, type Sync, syncList, syncWith, websocket } from '@lensync/sync-client'
import type { SyncServer } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { startServer } from '../../../sync-server/test/hubHelpers.ts'
import { startChildServer } from '../../../sync-server/test/support/childServer.ts'
import { processFixtures } from '../../../sync-server/test/support/processFixtures.ts'
import { REDIS_URL, redisPrefix } from '../../../sync-server/test/support/redis.ts'
import { until } from '../helpers.ts'
import { type ChaosRelay, startChaosRelay } from './chaosRelay.ts'

// Issue #15, "a lost ack overwrites a later write": client A's write is
// applied, the connection drops before A hears of it (the relay cuts it
// with the ack in hand), client B then writes the same field and is
// acknowledged, and A resends. The server recognises the resend (same client
// id, same op) and does not apply it again: B's later write survives on
// every replica and in storage — on one server, across a restart of a
// server on one SQLite file (kill -9), and across two Redis nodes.

type Person = { _id: string; name: string }
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
type Note = { id: string; text: string }
const NoteResource = resource<Note>({ name: 'note', id: n => n.id })

const { track } = processFixtures()
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const socketTo = (url: string) =>
  websocket(url, { WebSocket: WebSocket as never, reconnect: { minDelay: 10, maxDelay: 50 } })

function keep<T extends Sync>(sync: T): T {
  cleanups.push(() => sync.stop())
  return sync
}

function personAt(url: string, initial: Person) {
  const socket = socketTo(url)
  const store = storeOf<Person>(initial)
  return { socket, store, sync: keep(syncWith(store, socket, PersonResource)) }
}

function notesAt(url: string) {
  const socket = socketTo(url)
  const store = storeOf<Note[]>([])
  return { socket, store, sync: keep(syncList(store, socket, NoteResource)) }
}

/** Where the test runs: the relay's first target, B's server, what happens while A is cut off, a reader of storage. */
interface Cluster {
  /** The server A reaches through the relay. */
  readonly relayTarget: string
  /** The server B talks to directly. */
  readonly bUrl: string
  /** After A's connection was cut (the write applied, its ack held back), before B writes. */
  afterCut(relay: ChaosRelay): Promise<void>
  /** A URL to read what storage holds, after everything settled. */
  readerUrl(): string
}

const clusters: Record<string, () => Promise<Cluster>> = {
  async 'one server'() {
    const server = await startServer({ memory: true, pingPeriod: 0 })
    cleanups.push(() => server.close())
    return {
      relayTarget: server.url,
      bUrl: server.url,
      afterCut: async () => {},
      readerUrl: () => server.url,
    }
  },
  async 'a restart on one SQLite file (kill -9)'() {
    const dir = mkdtempSync(join(tmpdir(), 'lensync-lostack-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const data = join(dir, 'lensync.db')
    const first = await startChildServer(['--port', '0', '--data', data], track)
    let current = first
    return {
      relayTarget: first.url,
      bUrl: first.url,
      async afterCut() {
        await first.stop('SIGKILL')
        current = await startChildServer(['--port', String(first.port), '--data', data], track)
      },
      readerUrl: () => current.url,
    }
  },
  async 'two Redis nodes'() {
    const prefix = redisPrefix()
    const nodes: SyncServer[] = []
    for (const node of ['node-1', 'node-2'])
      nodes.push(await startServer({ redis: { url: REDIS_URL, prefix }, node, pingPeriod: 0 }))
    cleanups.push(() => Promise.all(nodes.map(n => n.close())))
    const [one, two] = nodes as [SyncServer, SyncServer]
    return {
      relayTarget: one.url,
      bUrl: one.url,
      // A's resend reaches the other node.
      async afterCut(relay) {
        relay.retarget(two.url)
      },
      readerUrl: () => two.url,
    }
  },
}

async function relayTo(cluster: Cluster): Promise<ChaosRelay> {
  const relay = await startChaosRelay(cluster.relayTarget)
  cleanups.push(() => relay.close())
  return relay
}

/** A's write is applied and its ack held back; then B writes (acknowledged); then A comes back. */
async function loseTheAck(relay: ChaosRelay, cluster: Cluster, aClient: string, aWrite: () => void) {
  const cut = relay.cutAfterNextAnswer(aClient)
  aWrite()
  const write = await cut
  expect(write.answer).toMatchObject({ t: 'ack' })
  await cluster.afterCut(relay)
  return write
}

/** A came back: its resend was answered `applied: false` (recognised, not applied again). */
async function resent(relay: ChaosRelay, write: { client: string; msg: { op: unknown } }, a: Sync) {
  relay.resume()
  await until(a.status, s => s === 'synced', 'A synced again')
  const again = relay.writes.filter(w => w.client === write.client && w.msg.op === write.msg.op)
  expect(again.length).toBeGreaterThanOrEqual(2)
  expect(again.at(-1)?.answer).toMatchObject({ t: 'ack', applied: false })
}

async function readPeople(url: string): Promise<Store<Person[]>> {
  const store = storeOf<Person[]>([])
  const sync = keep(syncList(store, socketTo(url), PersonResource))
  await sync.flush()
  return store
}

async function readNotes(url: string): Promise<Note[]> {
  const reader = notesAt(url)
  await reader.sync.flush()
  return reader.store.current
}

describe.each(Object.keys(clusters))(
  'a resend after a lost ack never overwrites a later write (%s)',
  name => {
    const setUp = clusters[name] as () => Promise<Cluster>

    it('a patch', async () => {
      const cluster = await setUp()
      const relay = await relayTo(cluster)
      const a = personAt(relay.url, { _id: 'p1', name: 'first' })
      await a.sync.flush()
      const b = personAt(cluster.bUrl, { _id: 'p1', name: '' })
      await b.sync.flush()
      const write = await loseTheAck(relay, cluster, a.socket.clientId, () =>
        a.store.update({ ...a.store.current, name: 'from A' }),
      )
      expect(write.msg.t).toBe('patch')
      await until(b.store.data, p => p.name === 'from A', 'B sees A’s write')
      b.store.update({ ...b.store.current, name: 'from B (later)' })
      await b.sync.flush()
      await resent(relay, write, a.sync)
      await until(a.store.data, p => p.name === 'from B (later)', 'A shows B’s later write')
      expect(b.store.current.name).toBe('from B (later)')
      const stored = await readPeople(cluster.readerUrl())
      expect(stored.current).toEqual([{ _id: 'p1', name: 'from B (later)' }])
    })

    it('a put (the create-only put of an offer)', async () => {
      const cluster = await setUp()
      const relay = await relayTo(cluster)
      const a = personAt(relay.url, { _id: 'p2', name: 'placeholder' })
      // A's offer is its first write: wait until it is connected, then lose the answer to it.
      const write = await loseTheAck(relay, cluster, a.socket.clientId, () => {})
      expect(write.msg).toMatchObject({ t: 'put', create: true })
      const b = personAt(cluster.bUrl, { _id: 'p2', name: 'B’s default' })
      await b.sync.flush()
      expect(b.store.current.name).toBe('placeholder')
      b.store.update({ ...b.store.current, name: 'from B (later)' })
      await b.sync.flush()
      await resent(relay, write, a.sync)
      await until(a.store.data, p => p.name === 'from B (later)', 'A shows B’s later write')
      const stored = await readPeople(cluster.readerUrl())
      expect(stored.current).toEqual([{ _id: 'p2', name: 'from B (later)' }])
    })

    it('a syncList add (a whole-value put)', async () => {
      const cluster = await setUp()
      const relay = await relayTo(cluster)
      const a = notesAt(relay.url)
      const b = notesAt(cluster.bUrl)
      await Promise.all([a.sync.flush(), b.sync.flush()])
      const write = await loseTheAck(relay, cluster, a.socket.clientId, () =>
        a.store.update([{ id: 'n1', text: 'from A' }]),
      )
      expect(write.msg).toMatchObject({ t: 'put' })
      await until(b.store.data, list => list[0]?.text === 'from A', 'B sees A’s note')
      b.store.update([{ id: 'n1', text: 'from B (later)' }])
      await b.sync.flush()
      await resent(relay, write, a.sync)
      await until(a.store.data, list => list[0]?.text === 'from B (later)', 'A shows B’s later write')
      expect(b.store.current).toEqual([{ id: 'n1', text: 'from B (later)' }])
      expect(await readNotes(cluster.readerUrl())).toEqual([{ id: 'n1', text: 'from B (later)' }])
    })

    it('a delete', async () => {
      const cluster = await setUp()
      const relay = await relayTo(cluster)
      const a = notesAt(relay.url)
      const b = notesAt(cluster.bUrl)
      await Promise.all([a.sync.flush(), b.sync.flush()])
      b.store.update([{ id: 'n1', text: 'made by B' }])
      await b.sync.flush()
      await until(a.store.data, list => list.length === 1, 'A sees the note')
      const write = await loseTheAck(relay, cluster, a.socket.clientId, () => a.store.update([]))
      expect(write.msg).toMatchObject({ t: 'del' })
      await until(b.store.data, list => list.length === 0, 'B sees the delete')
      b.store.update([{ id: 'n1', text: 'made again by B (later)' }])
      await b.sync.flush()
      await resent(relay, write, a.sync)
      await until(a.store.data, list => list.length === 1, 'A shows the note made again')
      expect(a.store.current).toEqual([{ id: 'n1', text: 'made again by B (later)' }])
      expect(b.store.current).toEqual([{ id: 'n1', text: 'made again by B (later)' }])
      expect(await readNotes(cluster.readerUrl())).toEqual([{ id: 'n1', text: 'made again by B (later)' }])
    })
  },
)
