import { storeOf } from '@lensync/store'
import {
  resource,
  type Sync,
  type SyncError,
  type SyncListOptions,
  syncList,
  syncWith,
} from '@lensync/sync-client'
import superjson from 'superjson'
import { describe, expect, it, vi } from 'vitest'
import type { WebSocket } from 'ws'
import { syncFixtures, testSocket, until } from './helpers.ts'
import { startServer } from './sessionHelpers.ts'

// A server that follows the protocol for hello, sub and writes, and lets the
// test push anything it likes to the client: what a hostile server, or a
// man in the middle on ws://, could send.

type Person = { _id: string; name: string; age: number }
const person = (name = 'Ada', age = 36): Person => ({ _id: 'p1', name, age })
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
type Envelope = { t: string } & Record<string, unknown>

const { cleanups, track } = syncFixtures()

function collect(sync: Sync): SyncError[] {
  const errors: SyncError[] = []
  cleanups.push(sync.errors.subscribe(e => errors.push(e)))
  return errors
}

function envelopesOf(data: unknown): Envelope[] {
  const parsed = JSON.parse(String(data)) as Envelope | Envelope[]
  return Array.isArray(parsed) ? parsed : [parsed]
}

/**
 * A scripted server: welcome on hello, `answerSub` on every sub, an ack for
 * every write. Returns its URL, the envelopes received, and the connections.
 */
async function scriptedServer(answerSub: (ws: WebSocket, sub: Envelope, connection: number) => void) {
  const received: Envelope[] = []
  let rev = 100
  let connections = 0
  const script = await startServer(ws => {
    const connection = ++connections
    ws.on('message', data => {
      for (const msg of envelopesOf(data)) {
        received.push(msg)
        if (msg.t === 'hello') ws.send(JSON.stringify({ t: 'welcome', v: 1, client: 'c', node: 'n' }))
        if (msg.t === 'sub') answerSub(ws, msg, connection)
        if (msg.t === 'put' || msg.t === 'patch' || msg.t === 'del')
          ws.send(JSON.stringify({ t: 'ack', op: msg.op, rev: ++rev }))
      }
    })
  })
  cleanups.push(() => script.close())
  return { url: script.url, received, connection: (n: number) => script.connection(n) }
}

/** A syncWith of person p1 against a server whose snapshot is person('Ada', 36) at rev 1. */
async function entitySetup() {
  const srv = await scriptedServer((ws, sub) => {
    if (sub.id === 'p1')
      ws.send(JSON.stringify({ t: 'snap', r: 'person', id: 'p1', rev: 1, value: { json: person() } }))
  })
  const store = storeOf(person('local', 0))
  const sync = track(syncWith(store, testSocket(srv.url), PersonResource))
  const errors = collect(sync)
  await sync.flush()
  expect(store.current).toEqual(person())
  const ws = await srv.connection(1)
  return { store, sync, errors, ws }
}

/** Sends a valid change (name: 'after', at `rev`) and waits until the store shows it. */
async function thenAValidChange(ws: WebSocket, store: ReturnType<typeof storeOf<Person>>, rev: number) {
  ws.send(JSON.stringify({ t: 'change', r: 'person', id: 'p1', rev, set: [[['name'], { json: 'after' }]] }))
  await until(store.data, p => p.name === 'after', 'the valid change after the bad ones')
}

/** A local edit is sent and acknowledged: the sync still works end to end. */
async function stillSyncs(sync: Sync, store: ReturnType<typeof storeOf<Person>>) {
  store.update({ ...store.current, age: 41 })
  await sync.flush()
  expect(sync.status.value).toBe('synced')
}

describe('a hostile server: paths', () => {
  it('a change with a __proto__ path is skipped as BAD_MESSAGE; no prototype changes', async () => {
    const { store, sync, errors, ws } = await entitySetup()
    ws.send(
      JSON.stringify({
        t: 'change',
        r: 'person',
        id: 'p1',
        rev: 2,
        set: [[['__proto__', 'polluted'], { json: true }]],
      }),
    )
    await thenAValidChange(ws, store, 3)

    expect(Object.getPrototypeOf(store.current)).toBe(Object.prototype)
    expect((store.current as Record<string, unknown>).polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(errors.map(e => e.code)).toEqual(['BAD_MESSAGE'])
    expect(errors[0]?.message).toMatch(/__proto__/)
    await stillSyncs(sync, store)
  })

  it('a change with a constructor.prototype path is skipped; the sync goes on', async () => {
    const { store, sync, errors, ws } = await entitySetup()
    ws.send(
      JSON.stringify({
        t: 'change',
        r: 'person',
        id: 'p1',
        rev: 2,
        set: [[['constructor', 'prototype', 'polluted'], { json: true }]],
        unset: [['name', '__proto__']],
      }),
    )
    await thenAValidChange(ws, store, 3)

    expect(Object.hasOwn(store.current, 'constructor')).toBe(false)
    expect(store.current).toEqual(person('after'))
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined()
    expect(errors.map(e => e.code)).toEqual(['BAD_MESSAGE'])
    await stillSyncs(sync, store)
  })
})

describe('a hostile server: values', () => {
  it('a 100,000-deep value is skipped as BAD_MESSAGE', async () => {
    const { store, sync, errors, ws } = await entitySetup()
    // Built as text: JSON.stringify itself would overflow the stack.
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`
    ws.send(`{"t":"change","r":"person","id":"p1","rev":2,"value":{"json":${deep}}}`)
    ws.send(`{"t":"change","r":"person","id":"p1","rev":2,"set":[[["name"],{"json":${deep}}]]}`)
    await thenAValidChange(ws, store, 3)

    expect(store.current).toEqual(person('after'))
    expect(errors.map(e => e.code)).toEqual(['BAD_MESSAGE', 'BAD_MESSAGE'])
    expect(errors[0]?.message).toMatch(/nesting/)
    await stillSyncs(sync, store)
  })

  it('a cyclic superjson value (referentialEqualities) is skipped as BAD_MESSAGE', async () => {
    const { store, sync, errors, ws } = await entitySetup()
    const loop: Record<string, unknown> = { ...person('loop') }
    loop.self = loop
    const encoded = superjson.serialize(loop)
    expect(encoded.meta?.referentialEqualities).toBeDefined()
    ws.send(JSON.stringify({ t: 'change', r: 'person', id: 'p1', rev: 2, value: encoded }))
    // A hand-made one inside a patch value: b's first item is b itself.
    const handMade = { json: { b: [null] }, meta: { referentialEqualities: { b: ['b.0'] }, v: 1 } }
    ws.send(JSON.stringify({ t: 'change', r: 'person', id: 'p1', rev: 2, set: [[['friend'], handMade]] }))
    await thenAValidChange(ws, store, 3)

    expect(() => JSON.stringify(store.current)).not.toThrow()
    expect(store.current).toEqual(person('after'))
    expect(errors.map(e => e.code)).toEqual(['BAD_MESSAGE', 'BAD_MESSAGE'])
    expect(errors[0]?.message).toMatch(/cycle/)
    await stillSyncs(sync, store)
  })
})

describe('a hostile server: wrong field types', () => {
  it('every entity message type with a wrong field is skipped as BAD_MESSAGE (syncWith)', async () => {
    const { store, sync, errors, ws } = await entitySetup()
    const evil = { json: person('evil', 1) }
    const bad: unknown[] = [
      { t: 'welcome', v: '1', client: 'c', node: 'n' },
      { t: 'welcome', v: 1, client: 'c', node: 42 },
      { t: 'snap', r: 'person', id: 'p1', rev: '9', value: evil },
      { t: 'snap', r: 'person', id: 'p1', rev: 9, value: 'evil' },
      { t: 'snap', r: 'person', id: 'p1', rev: 9, value: { meta: {} } },
      { t: 'change', r: 'person', id: 'p1', rev: '9', value: evil },
      { t: 'change', r: 'person', id: 'p1', rev: 9 },
      { t: 'change', r: 'person', id: 'p1', rev: 9, set: 'name' },
      { t: 'change', r: 'person', id: 'p1', rev: 9, set: [[['name'], { json: 'x' }]], value: evil },
      { t: 'change', r: 'person', id: 'p1', rev: 9, set: [[[], evil]] },
      { t: 'change', r: 'person', id: 'p1', rev: 9, set: [[['name'], { json: 'x' }]], unset: 'age' },
      { t: 'change', r: 'person', id: ['p1'], rev: 9, value: evil },
      { t: 'gone', r: 'person', id: 'p1', rev: '9' },
      { t: 'gone', r: 'person', id: 'p1', rev: 1.5 },
      { t: 'ack', op: {}, rev: 1 },
      { t: 'ack', op: 1, rev: -1 },
      { t: 'reject', code: 'FORBIDDEN', message: 5, r: 'person', id: 'p1' },
      { t: 'reject', code: 'NOPE', message: 'x', r: 'person', id: 'p1' },
      { t: 'reject', op: 1, code: 'VALIDATION_FAILED', message: 'x', issues: 'many' },
      { t: 'error', code: 'BAD_FRAME', message: {} },
      { t: 'error', code: 'BAD_FRAME' },
      { t: 7 },
      { t: 'hello', v: 1, client: 'c' },
      null,
      'snap',
    ]
    for (const message of bad) ws.send(JSON.stringify(message))
    await thenAValidChange(ws, store, 2)

    expect(store.current).toEqual(person('after'))
    expect(errors.map(e => e.code)).toEqual(bad.map(() => 'BAD_MESSAGE'))
    expect(sync.status.value).toBe('synced')
    await stillSyncs(sync, store)
  })

  it('every collection message type with a wrong field is skipped as BAD_MESSAGE (syncList)', async () => {
    const srv = await scriptedServer(ws => {
      ws.send(
        JSON.stringify({
          t: 'snap',
          r: 'person',
          rev: 1,
          items: [{ id: 'p1', rev: 1, value: { json: person() } }],
          gone: [],
        }),
      )
    })
    const store = storeOf<Person[]>([])
    const sync = track(syncList(store, testSocket(srv.url), PersonResource))
    const errors = collect(sync)
    await sync.flush()
    expect(store.current).toEqual([person()])
    const ws = await srv.connection(1)

    const evil = (id: string) => ({ json: { _id: id, name: 'evil', age: 1 } })
    const bad: unknown[] = [
      { t: 'snap', r: 'person', rev: 5, items: 'p9', gone: [] },
      { t: 'snap', r: 'person', rev: 5, items: [{ id: 9, rev: 1, value: evil('p9') }], gone: [] },
      { t: 'snap', r: 'person', rev: 5, items: [{ id: 'p9', rev: '1', value: evil('p9') }], gone: [] },
      { t: 'snap', r: 'person', rev: 5, items: [{ id: 'p9', rev: 1 }], gone: [] },
      { t: 'snap', r: 'person', rev: 5, items: [], gone: [1] },
      { t: 'snap', r: 'person', rev: 5, items: [], gone: 'p1' },
      { t: 'snap', r: 'person', rev: 5, items: [] },
      { t: 'snap', r: 'person', rev: 5, items: [], gone: [], more: 'yes' },
      { t: 'snap', r: 7, rev: 5, items: [], gone: [] },
      { t: 'change', r: 'person', id: 'p9', rev: 5 },
      { t: 'change', r: 'person', id: 'p9', rev: -5, value: evil('p9') },
      { t: 'change', r: 'person', id: 'p1', rev: 5, unset: [['name'], 'age'] },
      { t: 'gone', r: 'person', id: ['p1'], rev: 5 },
      { t: 'gone', r: 'person', rev: 5 },
    ]
    for (const message of bad) ws.send(JSON.stringify(message))
    const second = { _id: 'p2', name: 'second', age: 2 }
    ws.send(JSON.stringify({ t: 'change', r: 'person', id: 'p2', rev: 6, value: { json: second } }))
    await until(store.data, l => l.length === 2, 'the valid change after the bad ones')

    expect(store.current).toEqual([person(), second])
    expect(errors.map(e => e.code)).toEqual(bad.map(() => 'BAD_MESSAGE'))
    expect(sync.status.value).toBe('synced')
  })
})

describe('a hostile server: snapshot pages without end', () => {
  /**
   * Answers the first connection's collection sub with `more: true` pages
   * until the client unsubscribes (at most `maxPages`), and every later
   * connection's with one complete page.
   */
  async function endlessPages(itemsPerPage: number, itemValue: (id: string) => unknown, maxPages = 400) {
    let pagesSent = 0
    let unsubscribed = false
    const srv = await scriptedServer((ws, _sub, connection) => {
      if (connection > 1) {
        const items = [{ id: 'real', rev: 1, value: { json: itemValue('real') } }]
        ws.send(JSON.stringify({ t: 'snap', r: 'person', rev: 1, items, gone: [] }))
        return
      }
      ws.on('message', data => {
        if (envelopesOf(data).some(m => m.t === 'unsub')) unsubscribed = true
      })
      const sendPage = () => {
        if (unsubscribed || pagesSent >= maxPages || ws.readyState !== ws.OPEN) return
        const items = Array.from({ length: itemsPerPage }, (_, i) => {
          const id = `x${pagesSent}-${i}`
          return { id, rev: 1, value: { json: itemValue(id) } }
        })
        ws.send(JSON.stringify({ t: 'snap', r: 'person', rev: 1, items, gone: [], more: true }))
        pagesSent++
        setImmediate(sendPage)
      }
      sendPage()
    })
    return { ...srv, pagesSent: () => pagesSent, unsubscribed: () => unsubscribed }
  }

  async function endlessCase(
    options: SyncListOptions | undefined,
    limit: RegExp,
    ...args: Parameters<typeof endlessPages>
  ) {
    const srv = await endlessPages(...args)
    const mine = { _id: 'mine', name: 'local', age: 1 }
    const store = storeOf<Person[]>([mine])
    const sync = track(syncList(store, testSocket(srv.url), PersonResource, options))
    const errors = collect(sync)
    const refused = sync.flush().then(
      () => undefined,
      (e: SyncError) => e,
    )

    await until(sync.status, s => s === 'offline', 'the sync to give up the endless snapshot')
    expect((await refused)?.code).toBe('SNAPSHOT_TOO_LARGE')
    expect(errors.map(e => e.code)).toEqual(['SNAPSHOT_TOO_LARGE'])
    expect(errors[0]?.message).toMatch(limit)
    // Nothing of the partial snapshot was applied, the local item is kept.
    expect(store.current).toEqual([mine])
    await vi.waitFor(() => expect(srv.unsubscribed()).toBe(true))
    expect(srv.pagesSent()).toBeLessThan(400)

    // The next connection subscribes again and gets a proper snapshot.
    ;(await srv.connection(1)).terminate()
    await until(sync.status, s => s === 'synced', 'the sync to subscribe again after reconnecting')
    expect(store.current.map(p => p._id).sort()).toEqual(['mine', 'real'])
  }

  it('stops buffering at maxSnapshotItems: SNAPSHOT_TOO_LARGE, unsub, offline, then subscribes again', async () => {
    await endlessCase({ maxSnapshotItems: 2000 }, /maxSnapshotItems \(2000\)/, 100, id => ({
      _id: id,
      name: 'n',
      age: 1,
    }))
  })

  it('stops buffering at maxSnapshotBytes', async () => {
    const big = 'x'.repeat(10_000)
    await endlessCase({ maxSnapshotBytes: 1_000_000 }, /maxSnapshotBytes \(1000000\)/, 10, id => ({
      _id: id,
      name: big,
      age: 1,
    }))
  })

  it('stops buffering at the default bound of 100,000 items', async () => {
    await endlessCase(
      undefined,
      /maxSnapshotItems \(100000\)/,
      2000,
      id => ({ _id: id, name: '', age: 1 }),
      100,
    )
  })

  it('refuses options that are not positive integers', async () => {
    const store = storeOf<Person[]>([])
    for (const bad of [0, -1, 1.5, Number.NaN, '10' as unknown as number]) {
      expect(() =>
        syncList(store, testSocket('ws://127.0.0.1:1/'), PersonResource, { maxSnapshotItems: bad }),
      ).toThrow(/maxSnapshotItems must be a positive integer or Infinity/)
    }
  })
})
