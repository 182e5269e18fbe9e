import { readFileSync } from 'node:fs'
import { PROTOCOL_NAME } from '@lensync/protocol'
import { WebSocket } from 'ws'
import type { ProtocolClient } from './protocolClient.ts'

/** The resident set size of a process, from `/proc/<pid>/status` (Linux), in bytes. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /VmRSS:\s+(\d+) kB/.exec(status)
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(match[1]) * 1024
}

/** What an honest client saw while an attack ran. */
export interface ProbeReport {
  /** Round trips (write → ack) completed. */
  readonly rounds: number
  /** The slowest round trip, in milliseconds. */
  readonly worstMs: number
  /** The highest RSS of the server process seen between rounds, in bytes. */
  readonly peakRss: number
}

/**
 * An honest client that keeps writing one entity and waits for each ack,
 * sampling the server's RSS between rounds, until `stop()`. A round trip
 * that takes longer than `limitMs` fails the probe at once (with the time
 * it took so far), so an attack that freezes the server is caught while
 * it happens, not afterwards.
 */
export function probe(client: ProtocolClient, pid: number, limitMs = 2000) {
  let stopped = false
  let rounds = 0
  let worstMs = 0
  let peakRss = 0
  const done = (async (): Promise<ProbeReport> => {
    while (!stopped) {
      const started = performance.now()
      let timer: ReturnType<typeof setTimeout> | undefined
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`an honest round trip took over ${limitMs} ms (after ${rounds} rounds)`)),
          limitMs,
        )
      })
      try {
        await Promise.race([
          client.write({ t: 'put', r: 'honest', id: 'probe', value: { json: { round: rounds } } }),
          late,
        ])
      } finally {
        clearTimeout(timer)
      }
      worstMs = Math.max(worstMs, performance.now() - started)
      peakRss = Math.max(peakRss, rssOf(pid))
      rounds++
      // Let the attack's own callbacks run between rounds.
      await new Promise(resolve => setImmediate(resolve))
    }
    const report = { rounds, worstMs, peakRss }
    // The figures docs/security.md quotes: LENSYNC_ATTACK_REPORT=1 npx vitest run …/attacks.test.ts
    if (process.env.LENSYNC_ATTACK_REPORT)
      console.info(
        `honest client: ${rounds} round trips, worst ${worstMs.toFixed(1)} ms; server peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
      )
    return report
  })()
  // Reported by stop() (or by the test's end); never as an unhandled rejection.
  done.catch(() => {})
  return {
    /** Resolves with the report after the current round; rejects when a round was too slow. */
    stop(): Promise<ProbeReport> {
      stopped = true
      return done
    },
    /** Resolves once `count` more rounds completed. */
    async rounds(count: number): Promise<void> {
      const target = rounds + count
      while (rounds < target) {
        await Promise.race([done, new Promise(resolve => setImmediate(resolve))])
      }
    },
  }
}

/** A raw attacker connection: sends what it likes and, once `stopReading()`, reads nothing. */
export interface Attacker {
  readonly ws: WebSocket
  /** Resolves with the close code the connection ended with (on this side). */
  readonly closed: Promise<number>
  /** Sends raw text as one frame. */
  send(text: string): void
  /** Stops reading from the socket: the server's frames pile up in the kernel, then in the server. */
  stopReading(): void
  /** Reads again (what piled up, then the server's close frame if it closed). */
  resumeReading(): void
}

/** Opens an {@link Attacker} on the sync URL (subprotocol `lensync.v1`). */
export async function openAttacker(url: string): Promise<Attacker> {
  const ws = new WebSocket(url, PROTOCOL_NAME)
  const closed = new Promise<number>(resolve => ws.on('close', code => resolve(code)))
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return {
    ws,
    closed,
    send: text => ws.send(text),
    stopReading: () => (ws as unknown as { _socket: { pause(): void } })._socket.pause(),
    resumeReading: () => (ws as unknown as { _socket: { resume(): void } })._socket.resume(),
  }
}

/** GET `/health` of the server behind a sync URL. */
export async function health(syncUrl: string): Promise<{ ok: boolean; connections: number }> {
  const { port } = new URL(syncUrl)
  const response = await fetch(`http://127.0.0.1:${port}/health`)
  return (await response.json()) as { ok: boolean; connections: number }
}

/** Polls `/health` (on each honest round) until the server holds at most `count` connections. */
export async function untilConnections(syncUrl: string, count: number, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const { connections } = await health(syncUrl)
    if (connections <= count) return
    if (performance.now() > deadline)
      throw new Error(`the server still holds ${connections} connections after ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
