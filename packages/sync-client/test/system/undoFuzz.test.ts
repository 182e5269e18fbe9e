import { deepEqual, diffFields } from '@lensync/protocol'
import { type RootStore, storeOf } from '@lensync/store'
import {
  type EntitySyncHandle,
  resource,
  syncWith,
  type UndoManager,
  undoManager,
} from '@lensync/sync-client'
import { describe, expect, it, onTestFailed } from 'vitest'
import { intFromEnv, mulberry32, seedFromEnv } from '../../../sync-server/test/support/prng.ts'
import { switchableWebSocket, syncFixtures, testSocket, until } from '../helpers.ts'

// Three clients edit one record at random, undo, redo, and drop off the
// network and come back. Reproduce a failure with the seed it prints (the
// network's timing still varies from run to run):
//   LENSYNC_UNDO_SEED=<seed> npx vitest run packages/sync-client/test/system/undoFuzz.test.ts
// LENSYNC_UNDO_STEPS sets the number of random actions (default 600).

const SEED = seedFromEnv('LENSYNC_UNDO_SEED', 0x0d0_5eed)
const STEPS = intFromEnv('LENSYNC_UNDO_STEPS', 600)
const CLIENTS = 3
const CAPTURE_TIMEOUT = 300

type Doc = { _id: string; a: number; b: number; c?: number; n?: { x: number; y?: number } }
const DocResource = resource<Doc>({ name: 'doc', id: d => d._id })

const { track, server } = syncFixtures()

/** A field path as a key: 'a', 'n.x'. */
const keyOf = (path: readonly string[]) => path.join('.')
/** Whether one key is the other or lies above it. */
const related = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`)

/** The field paths that differ between two values of the record. */
function changedKeys(before: Doc, after: Doc): string[] {
  const diff = diffFields(before, after)
  return [...diff.set.map(([path]) => keyOf(path)), ...diff.unset.map(keyOf)]
}

/**
 * One client, and what it has seen: for every field, who wrote the value it
 * last saw there (itself, through an edit, undo or redo; or someone else, as
 * a change the sync showed), with a clock to compare writes of related paths.
 */
function client(url: string, name: string, now: () => number) {
  const net = switchableWebSocket()
  const store: RootStore<Doc> = storeOf<Doc>({ _id: 'd1', a: 0, b: 0 })
  const sync: EntitySyncHandle = track(syncWith(store, testSocket(url, net.WebSocket), DocResource))
  const undo: UndoManager = undoManager(sync, { captureTimeout: CAPTURE_TIMEOUT, now })
  const lastWrite = new Map<string, { self: boolean; at: number }>()
  let clock = 0
  let acting = false
  let shown = store.current
  // Every change of the store not made inside act() came from the sync: someone else's.
  const unwatch = store.data.subscribe(value => {
    if (value === shown) return
    for (const key of changedKeys(shown, value)) lastWrite.set(key, { self: acting, at: ++clock })
    shown = value
  })
  return {
    name,
    store,
    sync,
    undo,
    net,
    online: true,
    unwatch,
    /** Runs an action of this client; the store changes it makes are its own. */
    act(action: () => void): void {
      acting = true
      try {
        action()
      } finally {
        acting = false
      }
    },
    /**
     * What this client has seen so far, frozen: whether the last write it saw
     * of a field (or of a field above or below it) was someone else's.
     */
    seen(): (key: string) => boolean {
      const writes = [...lastWrite]
      return key => {
        let latest: { self: boolean; at: number } | undefined
        for (const [other, write] of writes)
          if (related(key, other) && (!latest || write.at > latest.at)) latest = write
        return latest !== undefined && !latest.self
      }
    },
  }
}
type Client = ReturnType<typeof client>

const nextTurn = () => new Promise<void>(resolve => setImmediate(resolve))

describe('undo fuzz: three clients, one record', () => {
  it(`undo and redo never write over another client's change, and every replica converges (seed ${SEED})`, async () => {
    const random = mulberry32(SEED)
    let log: string[] = []
    onTestFailed(() => {
      console.error(`undo fuzz failed with seed ${SEED}: rerun with LENSYNC_UNDO_SEED=${SEED}`)
      console.error(`last actions:\n${log.slice(-30).join('\n')}`)
    })
    const { url } = await server()
    let time = 0
    const now = () => time
    const clients: Client[] = Array.from({ length: CLIENTS }, (_, i) => client(url, `c${i}`, now))
    await Promise.all(clients.map(c => c.sync.flush()))
    const counts = { edit: 0, undo: 0, undone: 0, redo: 0, redone: 0, cut: 0 }

    const edit = (c: Client) => {
      const current = c.store.current
      const value = () => random.int(0, 3)
      const next: Doc = { ...current }
      switch (random.int(0, 5)) {
        case 0:
          next.a = value()
          break
        case 1:
          next.b = value()
          break
        case 2:
          if (random.chance(0.3)) delete next.c
          else next.c = value()
          break
        case 3:
          next.n = { ...(current.n ?? { x: 0 }), x: value() }
          break
        case 4:
          if (random.chance(0.3)) delete next.n
          else next.n = random.chance(0.5) ? { x: value(), y: value() } : { x: value() }
          break
        default:
          next.a = value()
          next.b = value()
      }
      log.push(`${c.name} edit ${JSON.stringify(next)}`)
      c.act(() => c.store.update(next))
      counts.edit++
    }

    const replay = (c: Client, kind: 'undo' | 'redo') => {
      const before = c.store.current
      const othersLast = c.seen()
      let changed = false
      c.act(() => {
        changed = kind === 'undo' ? c.undo.undo() : c.undo.redo()
      })
      const after = c.store.current
      log.push(`${c.name} ${kind} → ${changed} ${JSON.stringify(after)}`)
      counts[kind]++
      if (changed) counts[kind === 'undo' ? 'undone' : 'redone']++
      expect(changed, `${kind}() says whether the store changed`).toBe(!deepEqual(before, after))
      for (const key of changedKeys(before, after))
        expect(
          othersLast(key),
          `${c.name}'s ${kind} wrote ${key}, whose last write it had seen was another client's`,
        ).toBe(false)
    }

    for (let step = 0; step < STEPS; step++) {
      time += random.int(0, 2 * CAPTURE_TIMEOUT)
      const c = random.pick(clients)
      const roll = random()
      if (roll < 0.45) edit(c)
      else if (roll < 0.7) replay(c, 'undo')
      else if (roll < 0.85) replay(c, 'redo')
      else if (roll < 0.93) {
        if (c.online) {
          c.net.offline()
          counts.cut++
        } else c.net.online()
        c.online = !c.online
        log.push(`${c.name} ${c.online ? 'online' : 'offline'}`)
      } else if (c.online) {
        // Let this client's writes land, so others see them before their next move.
        await Promise.race([c.sync.flush(), until(c.sync.status, s => s === 'offline')])
      }
      const turns = random.int(0, 3)
      for (let i = 0; i < turns; i++) await nextTurn()
    }

    log = [...log, 'all online, flushing']
    for (const c of clients) {
      c.net.online()
      c.online = true
    }
    await Promise.all(clients.map(c => c.sync.flush()))
    // A new client's snapshot, taken after every write was acknowledged: the server's value.
    const observer = storeOf<Doc>({ _id: 'd1', a: -1, b: -1 })
    await track(syncWith(observer, testSocket(url), DocResource)).flush()
    for (const c of clients)
      await until(c.store.data, value => deepEqual(value, observer.current), `${c.name} to equal the server`)
    for (const c of clients) {
      c.unwatch()
      c.undo.stop()
    }
    // The run did what it is meant to: undos and redos that wrote, across disconnects.
    expect(counts.undone).toBeGreaterThan(20)
    expect(counts.redone).toBeGreaterThan(5)
    expect(counts.cut).toBeGreaterThan(5)
  }, 30_000)
})
