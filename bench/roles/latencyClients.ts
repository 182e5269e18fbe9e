// Role: P1's clients A and B, in one process so both ends of an edit read the same clock.
// lensync: A's store update → sync server → B's store notified. Raw: A's ws.send of the same
// bytes → relay → B's 'message' event.
import { lenses, type RootStore, storeOf } from '@lensync/store'
import { resource, type Sync, syncWith, websocket } from '@lensync/sync-client'
import { WebSocket } from 'ws'
import { type Task, task } from '../lib/fixtures.ts'
import { processProbe } from '../lib/processProbe.ts'
import { percentile } from '../lib/stats.ts'
import { Tap } from '../lib/tapWebSocket.ts'
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

/** Where one edit's time goes, p50 over a round, in microseconds. */
export interface LatencyBreakdown {
  /** A's `update` until A's socket is handed the frame (client A: diff, patch, encode). */
  readonly clientA: number
  /** A's socket send until B's socket receives (loopback, server, and the two kernels). */
  readonly wireAndServer: number
  /** B's socket receive until B's store has notified (client B: parse, apply, store). */
  readonly clientB: number
}

let lensync: LensyncPair | undefined
let tapped: { pair: LensyncPair; tapA: Tap; tapB: Tap } | undefined
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

async function syncedPair(url: string, id: string, tapA?: Tap, tapB?: Tap): Promise<LensyncPair> {
  const storeA = storeOf(task(id))
  const storeB = storeOf(task(id))
  const syncA = syncWith(storeA, websocket(url, { WebSocket: tapA?.WebSocket ?? WebSocket }), TaskResource)
  await syncA.flush()
  const syncB = syncWith(storeB, websocket(url, { WebSocket: tapB?.WebSocket ?? WebSocket }), TaskResource)
  await syncB.flush()
  return { storeA, storeB, syncA, syncB }
}

async function lensyncRound(
  pair: LensyncPair,
  samples: number,
  onSample?: (start: number, end: number) => void,
): Promise<LatencyRound> {
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
      onSample?.(start, notifiedAt)
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
      // The bytes lensync's client A sends for this edit (a protocol version 3 short patch).
      const frame = JSON.stringify([1, ++seq, 'title', `edit ${seq}`])
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
  ...processProbe,

  /** Connects A and B to the sync server (synced) and to the raw relay. */
  async setup(urls: { sync: string; raw: string }): Promise<void> {
    lensync = await syncedPair(urls.sync, ENTITY)
    raw = { a: await openRaw(urls.raw), b: await openRaw(urls.raw) }
    const tapA = new Tap()
    const tapB = new Tap()
    tapped = { pair: await syncedPair(urls.sync, `${ENTITY}-tapped`, tapA, tapB), tapA, tapB }
  },

  /**
   * A lensync round over tapped sockets (a separate pair of clients; the
   * taps add a little, so these samples are not the measured ones), split
   * at A's socket send and B's socket receive. p50 of each part.
   */
  async breakdown(samples: number): Promise<LatencyBreakdown> {
    if (!tapped) throw new Error('latencyClients: setup() first')
    const { pair, tapA, tapB } = tapped
    const parts = {
      clientA: new Float64Array(samples),
      wireAndServer: new Float64Array(samples),
      clientB: new Float64Array(samples),
    }
    let i = 0
    tapA.clear()
    tapB.clear()
    await lensyncRound(pair, samples, (start, end) => {
      const sent = tapA.events.find(event => event.kind === 'send')?.at ?? start
      const received = tapB.events.find(event => event.kind === 'recv')?.at ?? end
      parts.clientA[i] = (sent - start) * 1000
      parts.wireAndServer[i] = (received - sent) * 1000
      parts.clientB[i] = (end - received) * 1000
      i++
      tapA.clear()
      tapB.clear()
    })
    const p50 = (values: Float64Array) => percentile(values.sort(), 50)
    return {
      clientA: p50(parts.clientA),
      wireAndServer: p50(parts.wireAndServer),
      clientB: p50(parts.clientB),
    }
  },

  /** Runs `samples` edits one after the other on one side and returns the percentiles. */
  round(side: 'lensync' | 'raw', samples: number): Promise<LatencyRound> {
    if (!lensync || !raw) throw new Error('latencyClients: setup() first')
    return side === 'lensync' ? lensyncRound(lensync, samples) : rawRound(raw, samples)
  },

  /** Stops the syncs and closes the raw sockets. */
  teardown(): void {
    for (const pair of [lensync, tapped?.pair]) {
      pair?.syncA.stop()
      pair?.syncB.stop()
    }
    raw?.a.close()
    raw?.b.close()
    lensync = undefined
    tapped = undefined
    raw = undefined
  },
}
