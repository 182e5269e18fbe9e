import { effect, lenses, storeOf } from '@lensync/store'
import { resource, type SyncError, syncList, syncWith } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { syncFixtures, testSocket, until } from './helpers.ts'
import { startServer } from './sessionHelpers.ts'

// How a syncWith shows remote field changes: only the changed paths are set
// in the store (issue #21), with local edits still pending kept on top, and
// whatever the store shows that the sync does not know of replaced as before.

type Address = { street: string; city: string }
type Person = { _id: string; name: string; age: number; address: Address; tags?: string[] }
const person = (name = 'Ada', age = 36): Person => ({
  _id: 'p1',
  name,
  age,
  address: { street: 'Main St 1', city: 'Berlin' },
})
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
const L = lenses<Person>()
type Envelope = { t: string } & Record<string, unknown>

const fixtures = syncFixtures()
const { cleanups, track } = fixtures

/**
 * A server that answers hello and sub (person('Ada', 36) at rev 1) and acks
 * writes only when the test says so, and lets the test send changes.
 */
async function heldServer() {
  const writes: Envelope[] = []
  const waiting = new Set<() => void>()
  let socket: WebSocket | undefined
  const script = await startServer(ws => {
    socket = ws
    ws.on('message', data => {
      const parsed = JSON.parse(String(data)) as Envelope | Envelope[]
      for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
        if (msg.t === 'hello') ws.send(JSON.stringify({ t: 'welcome', v: 1, client: 'c', node: 'n' }))
        if (msg.t === 'sub')
          ws.send(JSON.stringify({ t: 'snap', r: 'person', id: 'p1', rev: 1, value: { json: person() } }))
        if (msg.t === 'patch' || msg.t === 'put') {
          writes.push(msg)
          for (const wake of [...waiting]) wake()
        }
      }
    })
  })
  cleanups.push(() => script.close())
  const send = (message: Envelope) => socket?.send(JSON.stringify(message))
  return {
    url: script.url,
    /** The `n`-th write the client sent (1-based), once it came. */
    written: (n: number): Promise<Envelope> =>
      new Promise(resolve => {
        const check = () => {
          const write = writes[n - 1]
          if (!write) return
          waiting.delete(check)
          resolve(write)
        }
        waiting.add(check)
        check()
      }),
    change: (rev: number, set: Array<[string[], unknown]>, unset: string[][] = []) =>
      send({ t: 'change', r: 'person', id: 'p1', rev, set: set.map(([p, v]) => [p, { json: v }]), unset }),
    ack: (op: unknown, rev: number) => send({ t: 'ack', op, rev }),
  }
}

async function synced() {
  const server = await heldServer()
  const store = storeOf(person('local', 0))
  const sync = track(syncWith(store, testSocket(server.url), PersonResource))
  const errors: SyncError[] = []
  cleanups.push(sync.errors.subscribe(e => errors.push(e)))
  await until(sync.status, s => s === 'synced', 'synced')
  expect(store.current).toEqual(person())
  return { server, store, sync, errors }
}

/** Counts the notifications of a store's `data` after the first run. */
function notifications(data: { readonly value: unknown }): { count: number } {
  const seen = { count: -1 }
  cleanups.push(
    effect(() => {
      data.value
      seen.count++
    }),
  )
  return seen
}

describe('syncWith: remote field changes', () => {
  it('notify only the sub-stores of the fields they change, also after an own edit was acknowledged', async () => {
    const { server, store, sync } = await synced()
    store.map(L.address.city).update('Paris')
    server.ack((await server.written(1)).op, 2)
    await until(sync.pending, n => n === 0, 'edit acknowledged')
    const address = notifications(store.map(L.address).data)
    const age = notifications(store.map(L.age).data)
    server.change(3, [[['name'], 'Grace']])
    await until(store.data, p => p.name === 'Grace', 'the change shown')
    expect(store.current).toEqual({ ...person('Grace'), address: { street: 'Main St 1', city: 'Paris' } })
    expect(address.count).toBe(0)
    expect(age.count).toBe(0)
  })

  it('keep local edits not yet acknowledged on top, in the store and when acknowledged', async () => {
    const { server, store, sync } = await synced()
    store.map(L.name).update('mine')
    store.map(L.address.city).update('Paris')
    const write = await server.written(1)
    server.change(2, [
      [['name'], 'theirs'],
      [['age'], 50],
      [['address', 'street'], 'Side St 2'],
    ])
    await until(store.data, p => p.age === 50, 'the change shown')
    expect(store.current).toEqual({
      _id: 'p1',
      name: 'mine',
      age: 50,
      address: { street: 'Side St 2', city: 'Paris' },
    })
    expect(sync.pending.peek()).toBe(2)
    server.ack(write.op, 3)
    await until(sync.pending, n => n === 0, 'acknowledged')
    expect(store.current).toEqual({
      _id: 'p1',
      name: 'mine',
      age: 50,
      address: { street: 'Side St 2', city: 'Paris' },
    })
  })

  it('that remove a field show the field an edit still pending makes below it', async () => {
    const { server, store } = await synced()
    store.map(L.address.city).update('Paris')
    await server.written(1)
    server.change(2, [[['age'], 1]], [['address']])
    await until(store.data, p => p.age === 1, 'the change shown')
    expect(store.current).toEqual({ _id: 'p1', name: 'Ada', age: 1, address: { city: 'Paris' } })
  })

  it('that set a field to what the store shows do not notify the store', async () => {
    const { server, store } = await synced()
    const all = notifications(store.data)
    server.change(2, [[['name'], 'Ada']])
    server.change(3, [[['age'], 37]])
    await until(store.data, p => p.age === 37, 'the second change shown')
    expect(all.count).toBe(1)
    expect(store.current).toEqual(person('Ada', 37))
  })

  it('add and remove nested fields and arrays', async () => {
    const { server, store } = await synced()
    server.change(
      2,
      [
        [['tags'], ['a', 'b']],
        [['address', 'zip'], '10115'],
      ],
      [['address', 'street']],
    )
    await until(store.data, p => p.tags !== undefined, 'the change shown')
    expect(store.current).toEqual({
      ...person(),
      tags: ['a', 'b'],
      address: { city: 'Berlin', zip: '10115' },
    })
    server.change(3, [], [['tags']])
    await until(store.data, p => p.tags === undefined, 'the removal shown')
    expect(store.current).toEqual({ ...person(), address: { city: 'Berlin', zip: '10115' } })
  })

  it('replace a store value the sync could not take (no valid id) as before', async () => {
    const { server, store, errors } = await synced()
    store.update({ ...person(), _id: '' })
    expect(errors.map(e => e.code)).toEqual(['BAD_MESSAGE'])
    server.change(2, [[['age'], 40]])
    await until(store.data, p => p.age === 40, 'the change shown')
    expect(store.current).toEqual(person('Ada', 40))
  })
})

type Note = { id: string; text: string; meta: { by: string } }
const NoteResource = resource<Note>({ name: 'note', id: n => n.id })
const note = (id: string, text: string): Note => ({ id, text, meta: { by: 'a' } })

describe('syncList: remote field changes', () => {
  async function twoLists() {
    const srv = await fixtures.server()
    const initial = [note('n1', 'one'), note('n2', 'two'), note('n3', 'three')]
    const a = storeOf<Note[]>(initial)
    const syncA = track(syncList(a, testSocket(srv.url), NoteResource))
    await syncA.flush()
    const b = storeOf<Note[]>([])
    const syncB = track(syncList(b, testSocket(srv.url), NoteResource))
    await syncB.flush()
    expect(b.current).toEqual(initial)
    return { a, b, syncA, syncB }
  }

  it('replace only the changed item: the other items keep their identity', async () => {
    const { a, b } = await twoLists()
    const [first, , third] = b.current
    const lists = notifications(b.data)
    a.update(a.current.map(n => (n.id === 'n2' ? { ...n, text: 'TWO' } : n)))
    await until(b.data, l => l[1]?.text === 'TWO', 'the change shown')
    expect(b.current).toEqual([note('n1', 'one'), note('n2', 'TWO'), note('n3', 'three')])
    expect(b.current[0]).toBe(first)
    expect(b.current[2]).toBe(third)
    expect(lists.count).toBe(1)
  })

  it('show local edits not yet acknowledged on top, and items added since', async () => {
    const { a, b, syncB } = await twoLists()
    b.update(b.current.map(n => (n.id === 'n1' ? { ...n, meta: { by: 'b' } } : n)))
    a.update([...a.current.map(n => (n.id === 'n1' ? { ...n, text: 'ONE' } : n)), note('n4', 'four')])
    await until(b.data, l => l.length === 4 && l[0]?.text === 'ONE', 'both changes shown')
    await syncB.flush()
    expect(b.current).toEqual([
      { id: 'n1', text: 'ONE', meta: { by: 'b' } },
      note('n2', 'two'),
      note('n3', 'three'),
      note('n4', 'four'),
    ])
  })

  it('drop an item without a valid id from the store as before', async () => {
    const { a, b, syncB } = await twoLists()
    const errors: SyncError[] = []
    cleanups.push(syncB.errors.subscribe(e => errors.push(e)))
    b.update([...b.current, { id: '', text: 'no id', meta: { by: 'b' } }])
    expect(errors.map(e => e.code)).toEqual(['BAD_MESSAGE'])
    a.update(a.current.map(n => (n.id === 'n3' ? { ...n, text: 'THREE' } : n)))
    await until(b.data, l => l[2]?.text === 'THREE', 'the change shown')
    expect(b.current).toEqual([note('n1', 'one'), note('n2', 'two'), note('n3', 'THREE')])
  })
})
