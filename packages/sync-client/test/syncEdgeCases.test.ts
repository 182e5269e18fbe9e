import { storeOf } from '@lensync/store'
import {
  resource,
  type StandardSchemaV1,
  type Sync,
  type SyncError,
  syncList,
  syncWith,
  websocket,
} from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { fastReconnect, switchableWebSocket, syncFixtures, testSocket, until } from './helpers.ts'
import { startServer } from './sessionHelpers.ts'

type Person = { _id: string; name: string; age: number }
const person = (name = 'Ada', age = 36): Person => ({ _id: 'p1', name, age })

// A hand-written Standard Schema: age must be an integer 0..150.
const PersonSchema: StandardSchemaV1<unknown, Person> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      const age = (value as Person | null)?.age
      return typeof age === 'number' && Number.isInteger(age) && age >= 0 && age <= 150
        ? { value: value as Person }
        : { issues: [{ message: 'age must be an integer from 0 to 150', path: ['age'] }] }
    },
  },
}
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })

const { cleanups, track, server } = syncFixtures()
function collect(sync: Sync): SyncError[] {
  const errors: SyncError[] = []
  cleanups.push(sync.errors.subscribe(e => errors.push(e)))
  return errors
}

describe('syncWith edge cases', () => {
  it('reverts a write the server rejects and reports it, while other fields still sync', async () => {
    const { url } = await server({ resources: { person: { schema: PersonSchema } } })
    const a = storeOf(person())
    const sync = track(syncWith(a, testSocket(url), PersonResource))
    const errors = collect(sync)
    await sync.flush()

    a.update({ ...a.current, age: 999 })
    await until(a.data, p => p.age === 36, 'the age to revert')
    await sync.flush()
    expect(errors.map(e => e.code)).toEqual(['VALIDATION_FAILED'])
    expect(errors[0]?.issues?.[0]?.message).toMatch(/age/)

    a.update({ ...a.current, name: 'Grace' })
    await sync.flush()
    const b = storeOf(person('x', 0))
    const bs = track(syncWith(b, testSocket(url), PersonResource))
    await bs.flush()
    expect(b.current).toEqual(person('Grace', 36))
  })

  it('skips an incoming value that fails the client schema, reports it, and keeps syncing', async () => {
    const { url } = await server()
    const writer = storeOf(person())
    const ws = track(syncWith(writer, testSocket(url), PersonResource))
    await ws.flush()
    const strict = resource<Person>({ name: 'person', id: p => p._id, schema: PersonSchema })
    const reader = storeOf(person())
    const rs = track(syncWith(reader, testSocket(url), strict))
    const errors = collect(rs)
    await rs.flush()

    const invalid = new Promise<SyncError>(resolve => {
      cleanups.push(rs.errors.filter(e => e.code === 'INVALID_VALUE').subscribe(resolve))
    })
    writer.update({ ...writer.current, age: -5 })
    expect((await invalid).issues?.[0]?.message).toMatch(/age/)
    writer.update({ ...writer.current, name: 'after' })
    await until(reader.data, p => p.name === 'after', 'the reader to keep syncing')
    expect(reader.current.age).toBe(36)
    expect(errors.some(e => e.code === 'INVALID_VALUE')).toBe(true)
  })

  it('goes offline and stops retrying when the server refuses the token (4401)', async () => {
    let attempts = 0
    const { url } = await server({
      authenticate: (_request, hello) => {
        attempts++
        return hello?.token === 'good' ? { user: 'u' } : null
      },
    })
    const bad = storeOf(person())
    const socket = websocket(url, { WebSocket, reconnect: fastReconnect, token: 'bad' })
    const sync = track(syncWith(bad, socket, PersonResource))
    const errors = collect(sync)
    await expect(sync.flush()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' })
    expect(sync.status.value).toBe('offline')
    expect(errors.map(e => e.code)).toContain('UNAUTHENTICATED')
    const seen = attempts

    const good = storeOf(person('with token'))
    const goodSync = track(
      syncWith(
        good,
        websocket(url, { WebSocket, reconnect: fastReconnect, token: async () => 'good' }),
        PersonResource,
      ),
    )
    await goodSync.flush()
    expect(attempts).toBe(seen + 1)
  })

  it("sends the socket's token in hello when a sync is given a Session", async () => {
    const { url } = await server({
      authenticate: (_request, hello) => (hello?.token === 'good' ? { user: 'u' } : null),
    })
    const session = websocket(url, { WebSocket, token: 'good' }).connect()
    cleanups.push(() => session.close())
    const one = storeOf(person())
    const list = storeOf<Person[]>([])
    const oneSync = track(syncWith(one, session, PersonResource))
    const listSync = track(syncList(list, session, PersonResource))
    const errors = [...collect(oneSync), ...collect(listSync)]
    await Promise.all([oneSync.flush(), listSync.flush()])
    await until(list.data, l => l.length === 1, 'the list to get the entity')
    expect(list.current).toEqual([person()])
    expect(errors).toEqual([])
    expect(session.state.value).toBe('open')
  })

  it.each(['socket', 'session'] as const)(
    'calls a token function again on every reconnect and sends the new value (over a %s)',
    async kind => {
      const tokens: unknown[] = []
      const connections: Array<{ destroy(): void }> = []
      const { url } = await server({
        authenticate: (request, hello) => {
          tokens.push(hello?.token)
          connections.push(request.socket)
          return typeof hello?.token === 'string' && hello.token.startsWith('token-') ? { user: 'u' } : null
        },
      })
      let calls = 0
      const socket = websocket(url, {
        WebSocket,
        reconnect: fastReconnect,
        token: async () => `token-${++calls}`,
      })
      const session = kind === 'session' ? socket.connect() : undefined
      if (session) cleanups.push(() => session.close())
      const store = storeOf(person())
      const sync = track(syncWith(store, session ?? socket, PersonResource))
      await sync.flush()
      expect(tokens).toEqual(['token-1'])

      // The network drops; the edit can only be acknowledged after a reconnect.
      connections[0]?.destroy()
      store.update({ ...store.current, name: 'after reconnect' })
      await sync.flush()
      expect(tokens).toEqual(['token-1', 'token-2'])
      expect(calls).toBe(2)
    },
  )

  it('keeps the value after a remote delete and creates the entity again on the next edit', async () => {
    const { url } = await server()
    type Item = { id: string; text: string }
    const Items = resource<Item>({ name: 'item', id: i => i.id })
    const list = storeOf<Item[]>([{ id: 'i1', text: 'one' }])
    const ls = track(syncList(list, testSocket(url), Items))
    const one = storeOf<Item>({ id: 'i1', text: 'ignored' })
    const os = track(syncWith(one, testSocket(url), Items))
    await Promise.all([ls.flush(), os.flush()])
    expect(one.current.text).toBe('one')

    list.update([])
    await ls.flush()
    await until(os.pending, n => n === 0)
    expect(one.current.text).toBe('one')
    one.update({ ...one.current, text: 'back' })
    await until(list.data, l => l.length === 1 && l[0]?.text === 'back', 'the list to see the entity again')
  })
})

describe('refusals and bad frames', () => {
  /** Timers that run as usual and tell how many are still waiting. */
  function trackedTimers() {
    const waiting = new Set<unknown>()
    return {
      waiting,
      setTimeout(callback: () => void, ms: number): unknown {
        const handle = setTimeout(() => {
          waiting.delete(handle)
          callback()
        }, ms)
        waiting.add(handle)
        return handle
      },
      clearTimeout(handle: unknown): void {
        waiting.delete(handle)
        clearTimeout(handle as ReturnType<typeof setTimeout>)
      },
    }
  }
  /** A `ws` WebSocket sending `origin` as its Origin header, counting its connections. */
  function fromOrigin(origin: string) {
    const made = { count: 0 }
    class WithOrigin extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols, { origin })
        made.count++
      }
    }
    return { WebSocket: WithOrigin as unknown as typeof WebSocket, made }
  }

  it('goes offline without reconnecting when the server refuses the origin (4403)', async () => {
    const { url } = await server({ allowedOrigins: ['https://app.example'] })
    const timers = trackedTimers()
    const evil = fromOrigin('https://evil.example')
    const socket = websocket(url, { WebSocket: evil.WebSocket, reconnect: fastReconnect, timers })
    const store = storeOf(person())
    const sync = track(syncWith(store, socket, PersonResource))
    const errors = collect(sync)

    await expect(sync.flush()).rejects.toMatchObject({ name: 'SyncError', code: 'CONNECTION_FORBIDDEN' })
    expect(sync.status.value).toBe('offline')
    expect(errors.map(e => e.code)).toEqual(['CONNECTION_FORBIDDEN'])
    // No retry is scheduled and no other connection was tried.
    expect(timers.waiting.size).toBe(0)
    expect(evil.made.count).toBe(1)
    await expect(sync.flush()).rejects.toMatchObject({ code: 'CONNECTION_FORBIDDEN' })

    const app = fromOrigin('https://app.example')
    const allowed = track(
      syncWith(storeOf(person()), websocket(url, { WebSocket: app.WebSocket }), PersonResource),
    )
    await allowed.flush()
    expect(allowed.status.value).toBe('synced')
  })

  it('reports an unparseable frame as BAD_MESSAGE and goes on to synced', async () => {
    const script = await startServer(ws => {
      ws.on('message', data => {
        const parsed = JSON.parse(String(data)) as { t: string } | { t: string }[]
        for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
          if (msg.t === 'hello') {
            ws.send('not json')
            ws.send(JSON.stringify({ t: 'welcome', v: 1, client: 'c', node: 'n' }))
          }
          if (msg.t === 'sub') {
            const value = { json: person('From the server', 40) }
            ws.send(JSON.stringify({ t: 'snap', r: 'person', id: 'p1', rev: 1, value }))
          }
        }
      })
    })
    cleanups.push(() => script.close())
    const store = storeOf(person('local', 0))
    const sync = track(syncWith(store, testSocket(script.url), PersonResource))
    const errors = collect(sync)

    await sync.flush()
    expect(sync.status.value).toBe('synced')
    expect(store.current).toEqual(person('From the server', 40))
    expect(errors.map(e => e.code)).toEqual(['BAD_MESSAGE'])
  })
})

describe('syncWith when the id in the store changes', () => {
  function client(url: string, initial: Person, WebSocketImpl?: Parameters<typeof testSocket>[1]) {
    const store = storeOf<Person>(initial)
    const sync = track(syncWith(store, testSocket(url, WebSocketImpl), PersonResource))
    return { store, sync, errors: collect(sync) }
  }
  const p2 = (name = 'Second', age = 2): Person => ({ _id: 'p2', name, age })

  it('syncs the new id after the old one was refused (FORBIDDEN): status synced, flush resolves', async () => {
    const { url } = await server({ authorize: (_principal, { id }) => id !== 'secret' })
    await client(url, p2()).sync.flush()
    const a = client(url, { _id: 'secret', name: 'x', age: 1 })
    await expect(a.sync.flush()).rejects.toMatchObject({ code: 'FORBIDDEN' })
    expect(a.sync.status.value).toBe('offline')

    a.store.update({ _id: 'p2', name: 'x', age: 1 })
    await a.sync.flush()
    expect(a.sync.status.value).toBe('synced')
    expect(a.store.current).toEqual(p2())
    expect(a.errors.map(e => e.code)).toEqual(['FORBIDDEN'])
  })

  it('reports a value without a valid id on errors and syncs again once the id is back', async () => {
    const { url } = await server()
    const a = client(url, person())
    await a.sync.flush()
    a.store.update({ ...a.store.current, _id: '' })
    expect(a.errors).toHaveLength(1)
    expect(a.errors[0]).toMatchObject({ name: 'SyncError', code: 'BAD_MESSAGE', resource: 'person' })
    expect(a.errors[0]?.message).toMatch(/id/)

    a.store.update(person('back'))
    await a.sync.flush()
    const late = client(url, person('default', 0))
    await late.sync.flush()
    expect(late.store.current).toEqual(person('back'))
    expect(a.errors).toHaveLength(1)
  })

  it('still sends the edits of the old id made offline, after reconnecting', async () => {
    const { url } = await server()
    await client(url, p2()).sync.flush()
    const cut = switchableWebSocket()
    const a = client(url, person(), cut.WebSocket)
    await a.sync.flush()

    cut.offline()
    await until(a.sync.status, s => s === 'offline', 'A offline')
    a.store.update({ ...a.store.current, name: 'Edited offline' })
    a.store.update(p2('', 0))
    expect(a.sync.pending.value).toBe(1)

    cut.online()
    await a.sync.flush()
    expect(a.sync.pending.value).toBe(0)
    expect(a.store.current).toEqual(p2())
    const late = client(url, person('default', 0))
    await late.sync.flush()
    expect(late.store.current).toEqual(person('Edited offline'))
  })

  it('settles an edit of the old id that was in flight when the id changed', async () => {
    const { url } = await server()
    await client(url, p2()).sync.flush()
    let onPatch: (() => void) | undefined
    class SwitchOnPatch extends WebSocket {
      override send(data: unknown, ...rest: unknown[]): void {
        // biome-ignore lint/suspicious/noExplicitAny: forwarding ws's overloads
        ;(super.send as any)(data, ...rest)
        // A patch in any protocol version (version 3's short patch is an array starting with a handle).
        if (/"t":"patch"|\{"p":|^\[\d/.test(String(data))) {
          const hook = onPatch
          onPatch = undefined
          hook?.()
        }
      }
    }
    const a = client(url, person(), SwitchOnPatch as unknown as typeof WebSocket)
    await a.sync.flush()

    // The id changes while the patch is on the wire, before its ack.
    onPatch = () => a.store.update(p2('', 0))
    a.store.update({ ...a.store.current, name: 'In flight' })
    await a.sync.flush()
    expect(a.sync.pending.value).toBe(0)
    expect(a.store.current).toEqual(p2())
    const late = client(url, person('default', 0))
    await late.sync.flush()
    expect(late.store.current).toEqual(person('In flight'))
  })

  it('shows the edits still waiting for an id when the store comes back to it', async () => {
    const { url } = await server()
    await client(url, p2()).sync.flush()
    const cut = switchableWebSocket()
    const a = client(url, person(), cut.WebSocket)
    await a.sync.flush()

    cut.offline()
    await until(a.sync.status, s => s === 'offline', 'A offline')
    a.store.update({ ...a.store.current, name: 'Edited offline' })
    a.store.update(p2('', 0))
    a.store.update(person('stale', 0))

    cut.online()
    await a.sync.flush()
    expect(a.store.current).toEqual(person('Edited offline'))
    const late = client(url, person('default', 0))
    await late.sync.flush()
    expect(late.store.current).toEqual(person('Edited offline'))
  })

  it('sends edits made before the first snapshot of the old id as edits, not over the server value', async () => {
    const { url } = await server()
    await client(url, person('On the server', 50)).sync.flush()
    const cut = switchableWebSocket()
    cut.offline()
    const a = client(url, person('local default', 0), cut.WebSocket)
    await until(a.sync.status, s => s === 'offline', 'A offline from the start')
    a.store.update({ ...a.store.current, name: 'Edited before the snapshot' })
    a.store.update(p2('', 0))

    cut.online()
    await a.sync.flush()
    const late = client(url, person('default', 0))
    await late.sync.flush()
    // The edited field reaches the server; the rest of the offer does not overwrite it.
    expect(late.store.current).toEqual(person('Edited before the snapshot', 50))
  })
})

describe('rate limits', () => {
  type Item = { id: string; n: number }
  const ItemResource = resource<Item>({ name: 'item', id: i => i.id })
  /** Lets the current tick end, so the next edit leaves in a write of its own. */
  const nextTick = () => new Promise<void>(resolve => setImmediate(resolve))

  it('keeps edits refused with RATE_LIMITED, reports it once, and sends them again later (syncWith)', async () => {
    const { url } = await server({ rateLimit: { perSecond: 20, burst: 3, closeAfter: 1000 } })
    const a = storeOf(person('Ada', 0))
    const sync = track(syncWith(a, testSocket(url), PersonResource))
    const errors = collect(sync)
    await sync.flush()
    const ages: number[] = []
    cleanups.push(a.data.subscribe(p => void ages.push(p.age)))

    for (let i = 1; i <= 12; i++) {
      a.update(i % 2 === 0 ? { ...a.current, age: i } : { ...a.current, name: `name ${i}` })
      await nextTick()
    }
    await sync.flush()
    expect(errors.map(e => e.code)).toContain('RATE_LIMITED')
    expect(errors.filter(e => e.code !== 'RATE_LIMITED')).toEqual([])
    // Nothing reverted on screen: the age only ever went up.
    expect(ages).toEqual([...ages].sort((x, y) => x - y))
    expect(a.current).toEqual(person('name 11', 12))

    const b = storeOf(person('x', 0))
    const bs = track(syncWith(b, testSocket(url), PersonResource))
    await bs.flush()
    expect(b.current).toEqual(person('name 11', 12))
  })

  it('keeps items refused with RATE_LIMITED and sends them again later (syncList)', async () => {
    const { url } = await server({ rateLimit: { perSecond: 20, burst: 3, closeAfter: 1000 } })
    const list = storeOf<Item[]>([])
    const sync = track(syncList(list, testSocket(url), ItemResource))
    const errors = collect(sync)
    await sync.flush()
    const lengths: number[] = []
    cleanups.push(list.data.subscribe(l => void lengths.push(l.length)))

    for (let i = 1; i <= 12; i++) {
      list.update([...list.current, { id: `i${i}`, n: i }])
      await nextTick()
    }
    await sync.flush()
    expect(errors.some(e => e.code === 'RATE_LIMITED')).toBe(true)
    expect(lengths).toEqual([...lengths].sort((x, y) => x - y))
    const expected = Array.from({ length: 12 }, (_, i) => ({ id: `i${i + 1}`, n: i + 1 }))
    expect(list.current).toEqual(expected)

    const other = storeOf<Item[]>([])
    const os = track(syncList(other, testSocket(url), ItemResource))
    await os.flush()
    expect([...other.current].sort((x, y) => x.n - y.n)).toEqual(expected)
  })
})
