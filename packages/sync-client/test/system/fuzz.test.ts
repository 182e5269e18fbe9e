import { PROTOCOL_NAME } from '@lensync/protocol'
import { storeOf } from '@lensync/store'
import { resource, type Sync, type SyncError, syncList, syncWith, websocket } from '@lensync/sync-client'
import { createSyncServer, type SyncServer } from '@lensync/sync-server'
import { afterEach, describe, expect, it, onTestFailed, vi } from 'vitest'
import { WebSocket } from 'ws'
import { type FuzzFrame, frameFuzzer } from '../../../sync-server/test/support/fuzzFrames.ts'
import { mib, settledHeap } from '../../../sync-server/test/support/heap.ts'
import { intFromEnv, mulberry32, seedFromEnv } from '../../../sync-server/test/support/prng.ts'

// 100 000 hostile frames from several connections while two honest clients
// keep syncing. Reproduce a failure with the seed it prints:
//   LENSYNC_FUZZ_SEED=<seed> npx vitest run packages/sync-server/test/fuzz.test.ts
// LENSYNC_FUZZ_FRAMES sets the number of frames (default 100 000).

const SEED = seedFromEnv('LENSYNC_FUZZ_SEED', 0x1e75_c0de)
const FRAMES = intFromEnv('LENSYNC_FUZZ_FRAMES', 100_000)
const GARBAGE_CONNECTIONS = 4
/** Frames sent between two probes (a probe's answer proves the server handled everything before it). */
const CHUNK = 100
/** The server's default maxFrameSize: a bigger frame closes the connection with 1009. */
const TOO_BIG = 1 << 20
/** A generous bound on heap growth over the run (the server caches at most a few dozen entities here). */
const HEAP_GROWTH_LIMIT = 64 * 1024 * 1024

type Note = { _id: string; a: number; b: number }
type Todo = { id: string; by: string; n: number }
const NoteResource = resource<Note>({ name: 'note', id: n => n._id })
const TodoResource = resource<Todo>({ name: 'todo', id: t => t.id })

let server: SyncServer | undefined
const sockets: WebSocket[] = []
const syncs: Sync[] = []

afterEach(async () => {
  for (const sync of syncs.splice(0)) sync.stop()
  for (const ws of sockets.splice(0)) ws.terminate()
  await server?.close()
  server = undefined
})

/** A recording logger: the test fails on any `error` (an internal failure the hub had to catch). */
function recordingLogger() {
  return { error: vi.fn(), warn: vi.fn(), info: vi.fn() }
}

/** An honest client: one syncWith (its own field of a shared note) and one syncList (todos) over one socket. */
function honestClient(url: string, name: string) {
  const socket = websocket(url, { WebSocket: WebSocket as never, reconnect: { minDelay: 10, maxDelay: 100 } })
  const note = storeOf<Note>({ _id: 'shared', a: 0, b: 0 })
  const todos = storeOf<Todo[]>([])
  const noteSync = syncWith(note, socket, NoteResource)
  const todoSync = syncList(todos, socket, TodoResource)
  syncs.push(noteSync, todoSync)
  const errors: SyncError[] = []
  noteSync.errors.subscribe(e => void errors.push(e))
  todoSync.errors.subscribe(e => void errors.push(e))
  return {
    name,
    note,
    todos,
    errors,
    flush: () => Promise.all([noteSync.flush(), todoSync.flush()]),
  }
}
type Honest = ReturnType<typeof honestClient>

/** Edits its own field and adds todos, waiting for each round to be acknowledged, until `done()`. */
async function keepEditing(client: Honest, field: 'a' | 'b', done: () => boolean) {
  let i = 0
  while (!done()) {
    i++
    client.note.update({ ...client.note.current, [field]: i })
    if (i % 5 === 0)
      client.todos.update([...client.todos.current, { id: `${client.name}-${i}`, by: client.name, n: i }])
    await client.flush()
  }
  return i
}

/** Opens a garbage connection; `probe()` resolves once the server answered everything sent before it. */
async function garbageConnection(url: string) {
  const ws = new WebSocket(url, PROTOCOL_NAME)
  sockets.push(ws)
  let wake: (() => void) | undefined
  let answers = 0
  ws.on('message', (data, isBinary) => {
    answers++
    if (isBinary) throw new Error('the server sent a binary frame')
    const text = data.toString()
    if (text.includes('"r":"probe"')) wake?.()
  })
  const closed = new Promise<number>(resolve => ws.on('close', code => resolve(code)))
  void closed.then(() => wake?.())
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return {
    ws,
    closed,
    get answers() {
      return answers
    },
    get open() {
      return ws.readyState === WebSocket.OPEN
    },
    send(frame: FuzzFrame) {
      if (frame.kind === 'text') ws.send(frame.data)
      else ws.send(frame.data, { binary: frame.kind === 'binary' })
    },
    /** Sends a subscription to the probe entity and waits for its answer (or the close). */
    probe(): Promise<'answered' | 'closed'> {
      if (ws.readyState !== WebSocket.OPEN) return Promise.resolve('closed')
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('the server did not answer a probe within 20 s')),
          20_000,
        )
        wake = () => {
          wake = undefined
          clearTimeout(timer)
          resolve(ws.readyState === WebSocket.OPEN ? 'answered' : 'closed')
        }
        ws.send('{"t":"sub","r":"probe","id":"p"}')
      })
    },
  }
}

describe('fuzz: hostile frames', () => {
  it(`survives ${FRAMES} random and mutated frames while honest clients keep syncing (seed ${SEED})`, async () => {
    onTestFailed(() => {
      console.error(`fuzz failed with seed ${SEED}: rerun with LENSYNC_FUZZ_SEED=${SEED}`)
    })
    const logger = recordingLogger()
    const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort()
    const arrayPrototypeBefore = Object.getOwnPropertyNames(Array.prototype).sort()
    server = await createSyncServer({
      port: 0,
      dataFile: ':memory:',
      pingPeriod: 0,
      logger,
      // The defaults (20 bad frames per 10 s; 200 writes/s) would close a garbage
      // connection after a few dozen frames, so the fuzz would mostly test the
      // handshake; hubHardening.test.ts covers the defaults. Raised, the limits
      // still close each garbage connection every few hundred bad frames.
      maxErrors: { count: 500, windowMs: 10_000 },
      rateLimit: { perSecond: 50_000, burst: 50_000, closeAfter: 100 },
    })
    const { url } = server

    const a = honestClient(url, 'A')
    const b = honestClient(url, 'B')
    await Promise.all([a.flush(), b.flush()])
    const heapBefore = await settledHeap()

    let fuzzing = true
    const editsA = keepEditing(a, 'a', () => !fuzzing)
    const editsB = keepEditing(b, 'b', () => !fuzzing)

    const started = performance.now()
    const perConnection = Math.ceil(FRAMES / GARBAGE_CONNECTIONS)
    const counts: Record<string, number> = {}
    const closeCodes: Record<number, number> = {}
    let confirmed = 0
    let answers = 0
    const garbage = async (index: number) => {
      const fuzzer = frameFuzzer(mulberry32(SEED + index * 0x9e37_79b9), {
        resources: ['doc', 'fuzz', 'x'],
        ids: Array.from({ length: 12 }, (_, i) => `e${i}`),
        tooBig: TOO_BIG,
      })
      let sent = 0
      let handled = 0
      let connection = await garbageConnection(url)
      try {
        // Until the server provably handled this connection's share (a probe's
        // answer covers its chunk); frames sent into a closing connection do not count.
        while (handled < perConnection) {
          expect(sent, 'too many frames lost to closed connections').toBeLessThan(perConnection * 3)
          if (!connection.open) {
            const code = await connection.closed
            closeCodes[code] = (closeCodes[code] ?? 0) + 1
            answers += connection.answers
            connection = await garbageConnection(url)
          }
          let chunk = 0
          while (chunk < CHUNK && connection.open) {
            const frame = fuzzer.next()
            connection.send(frame)
            chunk++
            // A frame the server closes for (invalid UTF-8, too big): probe at once, lose nothing after it.
            if (frame.kind === 'badUtf8' || frame.data.length >= TOO_BIG) break
          }
          sent += chunk
          if ((await connection.probe()) === 'answered') handled += chunk
        }
        confirmed += handled
        answers += connection.answers
      } finally {
        connection.ws.close()
        await connection.closed
        for (const [kind, n] of Object.entries(fuzzer.counts)) counts[kind] = (counts[kind] ?? 0) + n
      }
      return sent
    }
    const sent = (
      await Promise.all(Array.from({ length: GARBAGE_CONNECTIONS }, (_, i) => garbage(i)))
    ).reduce((x, y) => x + y)
    const seconds = (performance.now() - started) / 1000
    fuzzing = false
    const [lastA, lastB] = await Promise.all([editsA, editsB])

    // The server never crashed and handled no envelope by failing inside.
    expect(confirmed).toBeGreaterThanOrEqual(FRAMES)
    expect(logger.error.mock.calls.slice(0, 3)).toEqual([])
    const health = await fetch(`http://127.0.0.1:${server.port}/health`)
    expect(await health.json()).toMatchObject({ ok: true })
    // Garbage connections are all gone; only the honest ones remain.
    await expect.poll(() => server?.hub.connections, { timeout: 10_000 }).toBe(2)

    // The honest clients converged, on their own values.
    await Promise.all([a.flush(), b.flush()])
    const expectedNote = { _id: 'shared', a: lastA, b: lastB }
    const byId = (list: Todo[]) => [...list].sort((x, y) => x.id.localeCompare(y.id))
    const expectedTodos = byId([
      ...Array.from({ length: Math.floor(lastA / 5) }, (_, i) => ({
        id: `A-${(i + 1) * 5}`,
        by: 'A',
        n: (i + 1) * 5,
      })),
      ...Array.from({ length: Math.floor(lastB / 5) }, (_, i) => ({
        id: `B-${(i + 1) * 5}`,
        by: 'B',
        n: (i + 1) * 5,
      })),
    ])
    await expect.poll(() => a.note.current, { timeout: 10_000 }).toEqual(expectedNote)
    await expect.poll(() => b.note.current, { timeout: 10_000 }).toEqual(expectedNote)
    await expect.poll(() => byId(a.todos.current), { timeout: 10_000 }).toEqual(expectedTodos)
    await expect.poll(() => byId(b.todos.current), { timeout: 10_000 }).toEqual(expectedTodos)
    const fresh = honestClient(url, 'C')
    await fresh.flush()
    expect(fresh.note.current).toEqual(expectedNote)
    expect(byId(fresh.todos.current)).toEqual(expectedTodos)
    expect([...a.errors, ...b.errors, ...fresh.errors]).toEqual([])

    // Nothing reached a prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore)
    expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(arrayPrototypeBefore)

    // Memory stays bounded: the garbage left nothing behind but a few cached entities.
    const heapAfter = await settledHeap()
    expect(heapAfter - heapBefore).toBeLessThan(HEAP_GROWTH_LIMIT)

    console.info(
      `[fuzz] seed ${SEED}: ${sent} frames sent, ${confirmed} of them handled before a probe's answer ` +
        `(${answers} answer frames) ` +
        `in ${seconds.toFixed(1)} s = ${Math.round(sent / seconds)} frames/s over ${GARBAGE_CONNECTIONS} connections; ` +
        `closes ${JSON.stringify(closeCodes)}; honest edits A ${lastA}, B ${lastB}; ` +
        `heap ${mib(heapBefore)} → ${mib(heapAfter)}; warnings ${logger.warn.mock.calls.length}\n` +
        `[fuzz] frames by kind ${JSON.stringify(counts)}`,
    )

    for (const sync of syncs.splice(0)) sync.stop()
    await expect.poll(() => server?.hub.connections, { timeout: 10_000 }).toBe(0)
  }, 180_000)
})
