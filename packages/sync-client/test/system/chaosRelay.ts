import type { AddressInfo } from 'node:net'
import { type AckMessage, createFrameDecoder, type FrameDecoder, type RejectMessage } from '@lensync/protocol'
import WebSocket, { WebSocketServer } from 'ws'
import type { SentWrite } from '../../../sync-server/test/support/protocolClient.ts'

type Envelope = { t?: string; op?: number; client?: string } & Record<string, unknown>

// The messages of a frame as version 1 envelopes, read with the connection's
// decoder (version 2 frames depend on the connection's earlier frames).
const sentEnvelopes = (decoder: FrameDecoder, text: string): Envelope[] => {
  const messages = decoder.client(text)
  return Array.isArray(messages) ? (messages.filter(m => !(m instanceof Error)) as unknown as Envelope[]) : []
}
const receivedEnvelopes = (decoder: FrameDecoder, text: string): Envelope[] => {
  const messages = decoder.server(text)
  return Array.isArray(messages)
    ? messages.flatMap(m => (m.ok ? [m.message as unknown as Envelope] : []))
    : []
}

/** A write the relay forwarded, with the client id it was sent under and the answer the server gave. */
export interface RelayedWrite extends SentWrite {
  /** The client id of the connection's `hello` (or the write's own `client`). */
  readonly client: string
}

/** Options of {@link startChaosRelay}. */
export interface ChaosRelayOptions {
  /**
   * Asked for every answer (`ack` / `reject`) that reaches the relay: `true`
   * cuts the connection before the answer goes on — the write is applied,
   * its client never hears so. Default never.
   */
  cutBeforeAnswer?: (write: RelayedWrite) => boolean
}

/**
 * A WebSocket relay on 127.0.0.1 between sync clients and a server (the
 * "network"): it forwards frames both ways, logs every write with its answer
 * and the client id it was sent under, and can cut a connection right after
 * the server answered a write — after the server applied it, before the
 * client hears of it.
 */
export interface ChaosRelay {
  /** Where clients connect instead of the server. */
  readonly url: string
  /** Every write forwarded, in order, answered in place. */
  readonly writes: RelayedWrite[]
  /** New connections go to `target` (a restarted server, another node). */
  retarget(target: string): void
  /** While paused, new connections are refused (closed at once); `resume()` lets them through. */
  pause(): void
  resume(): void
  /**
   * Cuts the connection of `client` once the answer to its next write
   * reaches the relay, and pauses the relay at that moment (until
   * `resume()`), so the client stays cut off. Resolves with that write.
   */
  cutAfterNextAnswer(client: string): Promise<RelayedWrite>
  /** Cuts every connection now. */
  cutAll(): void
  close(): Promise<void>
}

/**
 * Starts a relay to `target` (a server's sync URL).
 * @param target - Where connections go until {@link ChaosRelay.retarget}.
 */
export async function startChaosRelay(target: string, options: ChaosRelayOptions = {}): Promise<ChaosRelay> {
  let upstreamUrl = target
  let paused = false
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  const cuts = new Set<() => void>()
  const writes: RelayedWrite[] = []
  const pendingCuts: Array<{ client: string; op?: number; done: (write: RelayedWrite) => void }> = []
  let connections = 0

  server.on('connection', (client, request) => {
    if (paused) {
      client.terminate()
      return
    }
    const name = `relay#${++connections}`
    const protocol = request.headers['sec-websocket-protocol']?.split(',')[0]?.trim()
    const upstream = new WebSocket(upstreamUrl, protocol)
    let hello = ''
    const decoder = createFrameDecoder()
    const open = new Map<number, RelayedWrite>()
    const early: string[] = []
    const cut = () => {
      cuts.delete(cut)
      client.terminate()
      upstream.terminate()
    }
    cuts.add(cut)
    upstream.on('open', () => {
      for (const text of early.splice(0)) upstream.send(text)
    })
    client.on('message', data => {
      const text = data.toString()
      for (const envelope of sentEnvelopes(decoder, text)) {
        if (envelope.t === 'hello') hello = String(envelope.client ?? '')
        if (envelope.t !== 'put' && envelope.t !== 'patch' && envelope.t !== 'del') continue
        const write: RelayedWrite = {
          connection: name,
          client: envelope.client ?? hello,
          msg: envelope as unknown as SentWrite['msg'],
        }
        writes.push(write)
        open.set(envelope.op as number, write)
        for (const pending of pendingCuts)
          if (pending.client === write.client && pending.op === undefined) pending.op = write.msg.op as number
      }
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text)
      else early.push(text)
    })
    upstream.on('message', data => {
      const text = data.toString()
      for (const envelope of receivedEnvelopes(decoder, text)) {
        if ((envelope.t !== 'ack' && envelope.t !== 'reject') || envelope.op === undefined) continue
        const write = open.get(envelope.op)
        if (!write) continue
        open.delete(envelope.op)
        write.answer = envelope as unknown as AckMessage | RejectMessage
        const i = pendingCuts.findIndex(p => p.client === write.client && p.op === write.msg.op)
        const planned = i >= 0 ? pendingCuts.splice(i, 1)[0] : undefined
        if (planned) paused = true
        if (planned || options.cutBeforeAnswer?.(write)) {
          // The whole frame is held back: the answer never reaches the client.
          cut()
          planned?.done(write)
          return
        }
      }
      if (client.readyState === WebSocket.OPEN) client.send(text)
    })
    client.on('close', () => {
      cuts.delete(cut)
      upstream.terminate()
    })
    upstream.on('close', () => {
      cuts.delete(cut)
      client.terminate()
    })
    client.on('error', () => {})
    upstream.on('error', () => {})
  })
  const cutAll = () => {
    for (const cut of [...cuts]) cut()
  }
  await new Promise<void>(resolve => server.once('listening', () => resolve()))
  const { port } = server.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/`,
    writes,
    retarget(next) {
      upstreamUrl = next
    },
    pause() {
      paused = true
    },
    resume() {
      paused = false
    },
    cutAfterNextAnswer(client) {
      return new Promise(done => pendingCuts.push({ client, done }))
    },
    cutAll,
    async close() {
      cutAll()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
