// Role: P2's load — one writer and N subscribers, all bare protocol clients (so the client
// side costs the same for both servers). The writer sends bursts of patch frames; a burst is
// done when every subscriber has received every change of it.
import { WebSocket } from 'ws'
import { openMany } from '../lib/openMany.ts'
import { ProtocolClient } from '../lib/protocolClient.ts'

/** What one round delivered. */
export interface FanoutRound {
  /** Changes received, summed over subscribers. */
  readonly deliveries: number
  readonly wallMs: number
}

/** One side's connections: a writer and the subscribers, with a count of what arrived. */
interface Audience {
  readonly subscribers: number
  send(frame: string): void
  delivered: number
  /** Called on every delivery while a burst is out. */
  onDelivery: (() => void) | undefined
  close(): Promise<void>
}

const RESOURCE = 'doc'
const ENTITY = 'p2-doc'
/** `lensync` and `raw`: P2's two servers; `nodes`: P2b's writer and subscribers on different nodes. */
type Side = 'lensync' | 'raw' | 'nodes'
const audiences = new Map<Side, Audience>()
let seq = 0

function patchFrame(): string {
  const n = ++seq
  return JSON.stringify({ t: 'patch', op: n, r: RESOURCE, id: ENTITY, set: [[['n'], { json: n }]] })
}

async function lensyncAudience(url: string, count: number, writerUrl = url): Promise<Audience> {
  const writer = await ProtocolClient.open(writerUrl)
  await writer.writeAll([{ t: 'put', op: writer.op(), r: RESOURCE, id: ENTITY, value: { json: { n: 0 } } }])
  const audience: Audience = {
    subscribers: count,
    send: frame => writer.socket.send(frame),
    delivered: 0,
    onDelivery: undefined,
    close: async () => {
      await Promise.all([writer.close(), ...subscribers.map(s => s.close())])
    },
  }
  const subscribers = await openMany(count, async () => {
    const client = await ProtocolClient.open(url)
    await client.request(m => m.t === 'snap', { t: 'sub', r: RESOURCE, id: ENTITY })
    client.onMessage(message => {
      if (message.t !== 'change') return
      audience.delivered++
      audience.onDelivery?.()
    })
    return client
  })
  return audience
}

function openRaw(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url)
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })
}

async function rawAudience(url: string, count: number): Promise<Audience> {
  const writer = await openRaw(url)
  const audience: Audience = {
    subscribers: count,
    send: frame => writer.send(frame),
    delivered: 0,
    onDelivery: undefined,
    close: async () => {
      for (const socket of [writer, ...subscribers]) socket.terminate()
    },
  }
  const subscribers = await openMany(count, async () => {
    const socket = await openRaw(url)
    socket.on('message', () => {
      audience.delivered++
      audience.onDelivery?.()
    })
    return socket
  })
  return audience
}

async function sendBurst(audience: Audience, burst: number): Promise<void> {
  const target = audience.delivered + burst * audience.subscribers
  const done = new Promise<void>(resolve => {
    audience.onDelivery = () => {
      if (audience.delivered >= target) resolve()
    }
  })
  for (let i = 0; i < burst; i++) audience.send(patchFrame())
  await done
  audience.onDelivery = undefined
}

export const methods = {
  /**
   * Connects `subscribers` subscribers of one entity to `url`, and its writer
   * to `writerUrl` (default `url`; another node of the same Redis for P2b).
   */
  async setup(side: Side, url: string, subscribers: number, writerUrl = url): Promise<void> {
    await audiences.get(side)?.close()
    audiences.set(
      side,
      side === 'raw'
        ? await rawAudience(url, subscribers)
        : await lensyncAudience(url, subscribers, writerUrl),
    )
  },

  /**
   * Sends `bursts` bursts of `burst` patch frames (one burst written in one
   * tick; the next once the last was delivered everywhere).
   */
  async round(side: Side, bursts: number, burst: number): Promise<FanoutRound> {
    const audience = audiences.get(side)
    if (!audience) throw new Error(`fanoutClients: setup(${side}) first`)
    const before = audience.delivered
    const start = performance.now()
    for (let i = 0; i < bursts; i++) await sendBurst(audience, burst)
    return { deliveries: audience.delivered - before, wallMs: performance.now() - start }
  },

  /** Closes every connection. */
  async teardown(): Promise<void> {
    await Promise.all([...audiences.values()].map(audience => audience.close()))
    audiences.clear()
  },
}
