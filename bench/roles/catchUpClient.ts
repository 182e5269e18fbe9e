// Role: P7's client. lensync: a `syncList` of a 1000-entity collection over a tapped WebSocket;
// each round drops the connection, has a writer change 10 entities while it is away, lets it
// reconnect and times reconnect → `synced` with the changes in the store. Raw: connect, send
// the bytes lensync sent on reconnect, receive the bytes lensync received (the floor).
import { computed, type RootStore, storeOf } from '@lensync/store'
import { resource, type Sync, syncList, websocket } from '@lensync/sync-client'
import { WebSocket } from 'ws'
import { type Task, task } from '../lib/fixtures.ts'
import { ProtocolClient } from '../lib/protocolClient.ts'
import { roundTrips, Tap } from '../lib/tapWebSocket.ts'
import { until } from '../lib/until.ts'

const TaskResource = resource<Task>({ name: 'task', id: t => t._id })
/** Entities per seeding frame. */
const SEED_BATCH = 100

/** One catch-up: how long, how many round trips, and what went over the wire. */
export interface CatchUpRound {
  readonly ms: number
  readonly roundTrips: number
  /** What the client sent after the connection opened (lensync: hello + sub with `since`). */
  readonly request: string
  /** What it received until caught up. */
  readonly reply: string
}

interface Subject {
  readonly tap: Tap
  readonly store: RootStore<Task[]>
  readonly sync: Sync
  readonly writer: ProtocolClient
  readonly count: number
}

let subject: Subject | undefined
let rawUrl = ''
let round = 0

async function seed(writer: ProtocolClient, count: number): Promise<void> {
  for (let start = 0; start < count; start += SEED_BATCH) {
    const puts = []
    for (let i = start; i < Math.min(count, start + SEED_BATCH); i++) {
      puts.push({
        t: 'put',
        op: writer.op(),
        r: 'task',
        id: `t-${i}`,
        value: { json: task(`t-${i}`) },
      } as const)
    }
    await writer.writeAll(puts)
  }
}

async function lensyncRound(s: Subject, changes: number): Promise<CatchUpRound> {
  round++
  // Away: the connection drops; reconnect attempts wait at the tap.
  s.tap.hold()
  s.tap.dropAll()
  await until(s.sync.status, status => status === 'offline')
  const titles = new Map<string, string>()
  const stride = Math.floor(s.count / changes)
  for (let k = 0; k < changes; k++) titles.set(`t-${k * stride}`, `changed in round ${round}`)
  await s.writer.writeAll(
    [...titles].map(([id, title]) => ({
      t: 'patch',
      op: s.writer.op(),
      r: 'task',
      id,
      set: [[['title'], { json: title }]],
    })),
  )
  const caughtUp = computed(() => {
    if (s.sync.status.value !== 'synced') return false
    let seen = 0
    for (const item of s.store.data.value) if (titles.get(item._id) === item.title) seen++
    return seen === titles.size
  })
  s.tap.clear()
  let doneAt = 0
  const done = until(caughtUp, ok => {
    if (ok) doneAt = performance.now()
    return ok
  })
  s.tap.release()
  await done
  const events = s.tap.events
  const start = events.find(event => event.kind === 'connect')?.at ?? 0
  return {
    ms: doneAt - start,
    roundTrips: roundTrips(events),
    request: events
      .filter(event => event.kind === 'send')
      .map(event => event.text)
      .join('\n'),
    reply: events
      .filter(event => event.kind === 'recv')
      .map(event => event.text)
      .join('\n'),
  }
}

async function rawRound(request: string): Promise<CatchUpRound> {
  const start = performance.now()
  const socket = new WebSocket(rawUrl)
  const reply = await new Promise<string>((resolve, reject) => {
    socket.once('open', () => socket.send(request))
    socket.once('message', (data: Buffer) => resolve(data.toString()))
    socket.once('error', reject)
  })
  const ms = performance.now() - start
  socket.terminate()
  // Connect + upgrade, then one request and its answer.
  return { ms, roundTrips: 2, request, reply }
}

export const methods = {
  /**
   * Seeds `count` tasks on the sync server and starts a synced `syncList`
   * of them over a tapped socket; remembers the raw server's URL.
   */
  async setup(urls: { sync: string; raw: string }, count: number): Promise<void> {
    rawUrl = urls.raw
    const writer = await ProtocolClient.open(urls.sync)
    await seed(writer, count)
    const tap = new Tap()
    // Reconnect at once (the wait before a retry is not what P7 measures).
    const socket = websocket(urls.sync, {
      WebSocket: tap.WebSocket,
      reconnect: { minDelay: 0, maxDelay: 1, jitter: 0 },
    })
    const store = storeOf<Task[]>([])
    const sync = syncList(store, socket, TaskResource)
    await sync.flush()
    if (store.current.length !== count)
      throw new Error(`catchUpClient: synced ${store.current.length} of ${count}`)
    subject = { tap, store, sync, writer, count }
  },

  /** One catch-up on one side (raw needs the request bytes of a lensync round). */
  round(side: 'lensync' | 'raw', changes: number, request = ''): Promise<CatchUpRound> {
    if (!subject) throw new Error('catchUpClient: setup() first')
    return side === 'lensync' ? lensyncRound(subject, changes) : rawRound(request)
  },

  /** Stops the sync and closes the writer. */
  async teardown(): Promise<void> {
    subject?.sync.stop()
    await subject?.writer.close()
    subject = undefined
  },
}
