// Role: P1's clients A and B, in one process so both ends of an edit read the same clock.
// lensync: A's store update → sync server → B's store notified. Raw: A's ws.send of the same
// bytes → relay → B's 'message' event.
import { lenses, type RootStore, storeOf } from '@lensync/store'
import { resource, type Sync, syncWith, websocket } from '@lensync/sync-client'
import { WebSocket } from 'ws'
import { type Task, task } from '../lib/fixtures.ts'
import { percentile } from '../lib/stats.ts'
import { until } from '../lib/until.ts'

const TaskResource = resource<Task>({ name: 'task', id: t => t._id })
const L = lenses<Task>()
const ENTITY = 'p1-task'

/** One round's latency percentiles, in microseconds. */
export interface LatencyRound {
  readonly p50: number
  readonly p99: number
  readonly samples: number
}

interface LensyncPair {
  readonly storeA: RootStore<Task>
  readonly storeB: RootStore<Task>
  readonly syncA: Sync
  readonly syncB: Sync
}

let lensync: LensyncPair | undefined
let raw: { a: WebSocket; b: WebSocket } | undefined
let seq = 0

function openRaw(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url)
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })
}

function summarize(micros: Float64Array): LatencyRound {
  micros.sort()
  return { p50: percentile(micros, 50), p99: percentile(micros, 99), samples: micros.length }
}

async function lensyncRound(pair: LensyncPair, samples: number): Promise<LatencyRound> {
  const title = pair.storeA.map(L.title)
  const micros = new Float64Array(samples)
  let expected = ''
  let notifiedAt = 0
  let notify: () => void = () => {}
  const stop = pair.storeB.data.subscribe(value => {
    if (value.title !== expected) return
    notifiedAt = performance.now()
    notify()
  })
  try {
    for (let i = 0; i < samples; i++) {
      expected = `edit ${++seq}`
      const notified = new Promise<void>(resolve => {
        notify = resolve
      })
      const start = performance.now()
      title.update(expected)
      await notified
      micros[i] = (notifiedAt - start) * 1000
      // The next edit starts from a quiet connection: A's ack is in.
      if (pair.syncA.pending.peek() > 0) await until(pair.syncA.pending, n => n === 0)
    }
  } finally {
    stop()
  }
  return summarize(micros)
}

async function rawRound(pair: { a: WebSocket; b: WebSocket }, samples: number): Promise<LatencyRound> {
  const micros = new Float64Array(samples)
  let notifiedAt = 0
  let notify: () => void = () => {}
  const onMessage = () => {
    notifiedAt = performance.now()
    notify()
  }
  pair.b.on('message', onMessage)
  try {
    for (let i = 0; i < samples; i++) {
      // The bytes lensync's client A sends for this edit.
      const frame = JSON.stringify({
        t: 'patch',
        op: ++seq,
        r: 'task',
        id: ENTITY,
        set: [[['title'], { json: `edit ${seq}` }]],
      })
      const notified = new Promise<void>(resolve => {
        notify = resolve
      })
      const start = performance.now()
      pair.a.send(frame)
      await notified
      micros[i] = (notifiedAt - start) * 1000
    }
  } finally {
    pair.b.off('message', onMessage)
  }
  return summarize(micros)
}

export const methods = {
  /** Connects A and B to the sync server (synced) and to the raw relay. */
  async setup(urls: { sync: string; raw: string }): Promise<void> {
    const storeA = storeOf(task(ENTITY))
    const storeB = storeOf(task(ENTITY))
    const syncA = syncWith(storeA, websocket(urls.sync, { WebSocket }), TaskResource)
    await syncA.flush()
    const syncB = syncWith(storeB, websocket(urls.sync, { WebSocket }), TaskResource)
    await syncB.flush()
    lensync = { storeA, storeB, syncA, syncB }
    raw = { a: await openRaw(urls.raw), b: await openRaw(urls.raw) }
  },

  /** Runs `samples` edits one after the other on one side and returns the percentiles. */
  round(side: 'lensync' | 'raw', samples: number): Promise<LatencyRound> {
    if (!lensync || !raw) throw new Error('latencyClients: setup() first')
    return side === 'lensync' ? lensyncRound(lensync, samples) : rawRound(raw, samples)
  },

  /** Stops the syncs and closes the raw sockets. */
  teardown(): void {
    lensync?.syncA.stop()
    lensync?.syncB.stop()
    raw?.a.close()
    raw?.b.close()
    lensync = undefined
    raw = undefined
  },
}
