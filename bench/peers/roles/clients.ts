// Role: one system's clients and the loops that measure them. Latency: clients A and B in this
// one process (both ends of an edit read the same clock). Fan-out: a writer and N quiet readers.
// Late joiner: a seeder stays connected; each round a fresh client syncs the collection.
// Presence: N members of one room.
import { setImmediate as nextTurn } from 'node:timers/promises'
import { WIDE_EDIT } from '../../lib/fixtures.ts'
import { openMany } from '../../lib/openMany.ts'
import { percentile } from '../../lib/stats.ts'
import {
  countBytes,
  installByteCounting,
  type SocketBytes,
  takeNewSockets,
  total,
} from '../lib/countBytes.ts'
import type { PresenceMember, RecordClient } from '../lib/system.ts'
import { loadClient, type SystemId } from '../systems/index.ts'

/** One latency round: percentiles in µs, and the payload bytes per edit in each direction. */
export interface LatencyRound {
  readonly p50: number
  readonly p99: number
  readonly samples: number
  /** A → server, server → A, B → server, server → B; per edit. */
  readonly bytes: {
    readonly aSent: number
    readonly aReceived: number
    readonly bSent: number
    readonly bReceived: number
  }
}

const FIELD = WIDE_EDIT.field

/** The members of a presence room and the count of the current burst's deliveries. */
interface Room {
  readonly members: PresenceMember[]
  delivered: number
  target: number
  /** The cursor the current burst publishes. */
  cursor: number
  /** Called when `delivered` reaches `target`. */
  done: () => void
}

/**
 * Resolves once `test` passes for `client`, checked now and after each change it applies.
 *
 * @returns When it passed.
 */
function whenClient(client: RecordClient, test: () => boolean, timeoutMs = 150_000): Promise<void> {
  if (test()) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop()
      reject(new Error(`no expected value within ${timeoutMs} ms (have ${String(client.read(FIELD))})`))
    }, timeoutMs)
    const stop = client.onChange(() => {
      if (!test()) return
      clearTimeout(timer)
      stop()
      resolve()
    })
  })
}

/**
 * The clients role's methods for one system.
 *
 * @param system - Which system.
 * @returns The measuring methods.
 */
export async function clientMethods(system: SystemId) {
  const client = await loadClient(system)
  // y-websocket adds a process 'exit' listener per provider: hundreds of readers are expected here.
  process.setMaxListeners(0)
  installByteCounting()
  let seq = 0
  let pair: { a: RecordClient; b: RecordClient; aSockets: SocketBytes[]; bSockets: SocketBytes[] } | undefined
  let fan: { writer: RecordClient; readers: RecordClient[] } | undefined
  let idle: RecordClient[] = []
  let late: { url: string; ref: string; count: number; close(): Promise<void> } | undefined
  let room: Room | undefined

  return {
    /** Connects clients A (which creates the record) and B. */
    async latencySetup(url: string): Promise<void> {
      countBytes(true)
      takeNewSockets()
      const { ref, client: a } = await client.createRecord(url, `latency-${system}`)
      const aSockets = takeNewSockets()
      const b = await client.openRecord(url, ref, { quiet: false })
      const bSockets = takeNewSockets()
      countBytes(false)
      pair = { a, b, aSockets, bSockets }
    },

    /**
     * Edits one field on A, waits until B shows it, waits until A's edit is
     * acknowledged (where the system acknowledges), and again — up to
     * `maxSamples` edits or `maxMs`, whichever comes first.
     */
    async latencyRound(maxSamples: number, maxMs: number): Promise<LatencyRound> {
      if (!pair) throw new Error('clients: latencySetup() first')
      const { a, b, aSockets, bSockets } = pair
      const micros: number[] = []
      let expected = ''
      let seenAt = 0
      let seen: () => void = () => {}
      const stop = b.onChange(() => {
        if (b.read(FIELD) !== expected) return
        seenAt = performance.now()
        seen()
      })
      countBytes(true)
      const before = { a: total(aSockets), b: total(bSockets) }
      const started = performance.now()
      try {
        while (micros.length < maxSamples && performance.now() - started < maxMs) {
          expected = `edit ${++seq}`
          const arrived = new Promise<void>(resolve => {
            seen = resolve
          })
          const start = performance.now()
          a.edit(FIELD, expected)
          await arrived
          micros.push((seenAt - start) * 1000)
          await a.settled()
        }
      } finally {
        stop()
      }
      const after = { a: total(aSockets), b: total(bSockets) }
      countBytes(false)
      const n = micros.length
      micros.sort((x, y) => x - y)
      return {
        p50: percentile(micros, 50),
        p99: percentile(micros, 99),
        samples: n,
        bytes: {
          aSent: (after.a.sent - before.a.sent) / n,
          aReceived: (after.a.received - before.a.received) / n,
          bSent: (after.b.sent - before.b.sent) / n,
          bReceived: (after.b.received - before.b.received) / n,
        },
      }
    },

    /** A writer creates a fresh record; `readers` quiet readers open it. */
    async fanoutSetup(url: string, readers: number, round: number): Promise<void> {
      const { ref, client: writer } = await client.createRecord(url, `fanout-${system}-${round}`)
      fan = { writer, readers: await openMany(readers, () => client.openRecord(url, ref, { quiet: true })) }
    },

    /**
     * The writer edits one field `edits` times, one edit per turn of the
     * event loop; resolves when every reader shows the last value.
     *
     * @returns Milliseconds from the first edit until every reader showed the last.
     */
    async fanoutRound(edits: number): Promise<{ ms: number }> {
      if (!fan) throw new Error('clients: fanoutSetup() first')
      const last = `fan ${seq + edits}`
      const { writer, readers } = fan
      const all = Promise.all(readers.map(reader => whenClient(reader, () => reader.read(FIELD) === last)))
      // Handled at once: it may reject (time out) while the edits are still being made.
      const outcome = all.then(
        () => undefined,
        (error: unknown) => error,
      )
      const start = performance.now()
      for (let i = 0; i < edits; i++) {
        writer.edit(FIELD, `fan ${++seq}`)
        await nextTurn()
      }
      const error = await outcome
      if (error !== undefined) throw error
      return { ms: performance.now() - start }
    },

    /** Closes the writer and the readers. */
    async fanoutTeardown(): Promise<void> {
      if (!fan) return
      const { writer, readers } = fan
      fan = undefined
      await Promise.all([writer, ...readers].map(c => c.close()))
    },

    /** The record's creator, then `count` quiet idle clients (each synced). */
    async idleOpen(url: string, count: number, ref?: string): Promise<string> {
      if (ref === undefined) {
        const created = await client.createRecord(url, `idle-${system}`)
        idle.push(created.client)
        return created.ref
      }
      idle.push(...(await openMany(count, () => client.openRecord(url, ref, { quiet: true }))))
      return ref
    },

    /** Closes the idle clients. */
    async idleClose(): Promise<void> {
      const all = idle
      idle = []
      await Promise.all(all.map(c => c.close()))
    },

    /** A seeder creates a collection of `count` records and stays connected. */
    async lateSetup(url: string, count: number): Promise<void> {
      const seeded = await client.seedRecords(url, `late-${system}`, count)
      late = { url, count, ...seeded }
    },

    /** A fresh client opens the collection. @returns Milliseconds until it held every record. */
    async lateRound(): Promise<{ ms: number }> {
      if (!late) throw new Error('clients: lateSetup() first')
      const start = performance.now()
      const close = await client.joinRecords(late.url, late.ref, late.count)
      const ms = performance.now() - start
      await close()
      return { ms }
    },

    /** Closes the seeder. */
    async lateTeardown(): Promise<void> {
      await late?.close()
      late = undefined
    },

    /** Whether this system has presence. */
    hasPresence: () => client.presence !== undefined,

    /** `members` members join one room. */
    async presenceSetup(url: string, members: number): Promise<void> {
      const presence = client.presence
      if (!presence) throw new Error(`${system} has no presence`)
      const ref = await presence.createRoom(url, `room-${system}`)
      const joined = await openMany(members, index => presence.join(url, ref, index))
      const state: Room = { members: joined, delivered: 0, target: 0, cursor: -2, done: () => {} }
      room = state
      for (const member of joined)
        member.onPeer((_peer, cursor) => {
          if (cursor !== state.cursor) return
          state.delivered++
          if (state.delivered === state.target) state.done()
        })
    },

    /**
     * `bursts` bursts: in each, `burst` members (in turn) publish a new
     * cursor in one tick; the next burst once every other member saw them.
     *
     * @returns Updates delivered (summed over receivers) and the wall time.
     */
    async presenceRound(bursts: number, burst: number): Promise<{ deliveries: number; ms: number }> {
      const state = room
      if (!state) throw new Error('clients: presenceSetup() first')
      const members = state.members.length
      const start = performance.now()
      let deliveries = 0
      for (let b = 0; b < bursts; b++) {
        state.cursor = ++seq
        state.delivered = 0
        state.target = burst * (members - 1)
        const done = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`presence: ${state.delivered} of ${state.target} updates arrived`)),
            30_000,
          )
          state.done = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        for (let i = 0; i < burst; i++) state.members[(b * burst + i) % members]?.move(state.cursor)
        await done
        deliveries += state.target
      }
      return { deliveries, ms: performance.now() - start }
    },

    /** Leaves the room. */
    async presenceTeardown(): Promise<void> {
      const members = room?.members ?? []
      room = undefined
      await Promise.all(members.map(member => member.close()))
    },

    /** Closes everything still open. */
    async closeAll(): Promise<void> {
      await Promise.all([pair?.a.close(), pair?.b.close()])
      pair = undefined
    },
  }
}
