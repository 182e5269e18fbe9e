// Role: P1o's clients, in one process (one clock for both ends): two A → server → B pairs
// like P1's, one with an observer on both sockets' frames (`socket.frames`, as the inspector
// subscribes) and one without, so the cost of observing is read as their ratio.
import { lenses, type RootStore, storeOf } from '@lensync/store'
import { type Frame, resource, type Sync, syncWith, websocket } from '@lensync/sync-client'
import { WebSocket } from 'ws'
import { type Task, task } from '../lib/fixtures.ts'
import { percentile } from '../lib/stats.ts'
import { until } from '../lib/until.ts'

const TaskResource = resource<Task>({ name: 'task', id: t => t._id })
const L = lenses<Task>()

/** One round's latency percentiles, in microseconds. */
export interface LatencyRound {
  readonly p50: number
  readonly p99: number
}

interface Pair {
  readonly storeA: RootStore<Task>
  readonly storeB: RootStore<Task>
  readonly syncA: Sync
  readonly syncB: Sync
  readonly stopObserving: () => void
}

let plain: Pair | undefined
let observed: Pair | undefined
let seq = 0
/** What the observer kept: the bytes seen, so its work is not optimized away. */
let observedBytes = 0

async function pair(url: string, id: string, observe: boolean): Promise<Pair> {
  const socketA = websocket(url, { WebSocket: WebSocket as never })
  const socketB = websocket(url, { WebSocket: WebSocket as never })
  const observer = (frame: Frame) => {
    observedBytes += frame.size
  }
  const disposers = observe ? [socketA.frames(observer), socketB.frames(observer)] : []
  const storeA = storeOf(task(id))
  const storeB = storeOf(task(id))
  const syncA = syncWith(storeA, socketA, TaskResource)
  await syncA.flush()
  const syncB = syncWith(storeB, socketB, TaskResource)
  await syncB.flush()
  return {
    storeA,
    storeB,
    syncA,
    syncB,
    stopObserving: () => {
      for (const dispose of disposers) dispose()
    },
  }
}

async function round(p: Pair, samples: number): Promise<LatencyRound> {
  const title = p.storeA.map(L.title)
  const micros = new Float64Array(samples)
  let expected = ''
  let notifiedAt = 0
  let notify: () => void = () => {}
  const stop = p.storeB.data.subscribe(value => {
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
      if (p.syncA.pending.peek() > 0) await until(p.syncA.pending, n => n === 0)
    }
  } finally {
    stop()
  }
  micros.sort()
  return { p50: percentile(micros, 50), p99: percentile(micros, 99) }
}

export const methods = {
  /** Connects both pairs (synced); the observed one with `socket.frames` on A and B. */
  async setup(url: string): Promise<void> {
    plain = await pair(url, 'p1o-plain', false)
    observed = await pair(url, 'p1o-observed', true)
  },

  /** Runs `samples` edits one after the other on one pair. */
  round(side: 'observed' | 'plain', samples: number): Promise<LatencyRound> {
    const p = side === 'observed' ? observed : plain
    if (!p) throw new Error('observedLatencyClients: setup() first')
    return round(p, samples)
  },

  /** Stops the syncs and the observers; returns the bytes the observers saw. */
  teardown(): number {
    for (const p of [plain, observed]) {
      p?.stopObserving()
      p?.syncA.stop()
      p?.syncB.stop()
    }
    plain = undefined
    observed = undefined
    return observedBytes
  },
}
