import { type Store, storeOf } from '@lensync/store'
import { indexedDbCache, resource, type SyncError, syncList, syncWith, websocket } from '@lensync/sync-client'
import { IDBFactory } from 'fake-indexeddb'
import { describe, expect, it, vi } from 'vitest'
import { fastReconnect, syncFixtures, testSocket, until } from '../helpers.ts'
import { failingFactory, instrumented, uniqueName } from './cacheHelpers.ts'
import { afterTest, type CacheKind, type Tab, tabNetwork, testBrowser } from './tabs.ts'

// API.md §4: a cache that fails goes on in memory, clear() drops unsent
// edits everywhere, and resource({ version }) decides which cached values
// are still usable.

type Person = { _id: string; name: string; age: number }
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })

const { server } = syncFixtures()

function personIn(tab: Pick<Tab, 'socket'>, initial: Person, res = PersonResource) {
  const store = storeOf<Person>(initial)
  const sync = syncWith(store, tab.socket, res)
  afterTest(() => sync.stop())
  const errors: SyncError[] = []
  sync.errors.subscribe(error => errors.push(error))
  return { store, sync, errors }
}

function observer(url: string): Store<Person[]> {
  const store = storeOf<Person[]>([])
  const sync = syncList(store, testSocket(url), PersonResource)
  afterTest(() => sync.stop())
  return store
}

const byId = (people: Person[], id = 'p1') => people.find(p => p._id === id)

/** A tab whose cache is an IndexedDB cache on `indexedDB`. */
function tabOn(url: string, indexedDB: IDBFactory) {
  const cache = indexedDbCache(uniqueName('failing'), { indexedDB, locks: null })
  afterTest(() => cache.close())
  const net = tabNetwork()
  const socket = websocket(url, { WebSocket: net.WebSocket as never, reconnect: fastReconnect, cache })
  afterTest(() => net.offline())
  return { cache, socket, net }
}

describe('a cache that fails', () => {
  it.each(['throw', 'error', 'blocked'] as const)(
    'one that cannot be opened (%s) is reported as CACHE_UNAVAILABLE once; the sync goes on in memory',
    async how => {
      const { url } = await server()
      const tab = tabOn(url, failingFactory(how))
      const a = personIn(tab, { _id: 'p1', name: 'Ada', age: 36 })
      await a.sync.flush()
      a.store.update({ ...a.store.current, age: 37 })
      await a.sync.flush()
      expect(a.errors.map(e => e.code)).toEqual(['CACHE_UNAVAILABLE'])
      const seen = observer(url)
      await until(seen.data, p => byId(p)?.age === 37, 'the edit on the server')
    },
  )

  it('a full cache is reported as CACHE_FULL once per run of failed writes; edits still reach the server', async () => {
    const { url } = await server()
    const idb = instrumented(new IDBFactory())
    const tab = tabOn(url, idb.factory)
    const a = personIn(tab, { _id: 'p1', name: 'Ada', age: 36 })
    await a.sync.flush()
    idb.full = true
    for (let age = 40; age < 45; age++) a.store.update({ ...a.store.current, age })
    await a.sync.flush()
    await vi.waitFor(() => expect(a.errors.map(e => e.code)).toEqual(['CACHE_FULL']))
    const seen = observer(url)
    await until(seen.data, p => byId(p)?.age === 44, 'the last edit on the server')
    expect(a.store.current.age).toBe(44)
  })
})

describe.each<CacheKind>(['memory', 'indexeddb'])('clear() with a %s cache', kind => {
  it('drops every unsent write in every tab, resolves to how many, and nothing is sent or shown after a reload', async () => {
    const { url } = await server()
    const browser = testBrowser(kind)
    const tabA = browser.tab(url)
    const tabB = browser.tab(url)
    const a = personIn(tabA, { _id: 'p1', name: 'Ada', age: 36 })
    const b = personIn(tabB, { _id: 'p2', name: 'Bea', age: 20 })
    await Promise.all([a.sync.flush(), b.sync.flush()])
    tabA.net.offline()
    tabB.net.offline()
    a.store.update({ ...a.store.current, name: 'logged out' })
    b.store.update({ ...b.store.current, name: 'logged out too' })
    await vi.waitFor(async () => expect(await tabA.cache.readOutbox()).toHaveLength(2))

    expect(await tabA.socket.options.cache?.clear()).toBe(2)
    await until(a.sync.pending, n => n === 0, 'A has nothing pending')
    await until(b.sync.pending, n => n === 0, 'B has nothing pending')
    // The stores keep what they show, as after stop().
    expect(a.store.current.name).toBe('logged out')

    tabA.net.online()
    tabB.net.online()
    await Promise.all([a.sync.flush(), b.sync.flush()])
    const seen = observer(url)
    await until(seen.data, p => p.length === 2, 'both people')
    expect(seen.current.map(p => p.name).sort()).toEqual(['Ada', 'Bea'])
    expect([...tabA.net.writes, ...tabB.net.writes].filter(w => w.t === 'patch')).toEqual([])

    const next = browser.tab(url)
    next.net.offline()
    const c = personIn(next, { _id: 'p1', name: 'fresh', age: 0 })
    // Nothing is cached any more: the store keeps its value until the server answers.
    await vi.waitFor(() => expect(c.sync.pending.value).toBe(0))
    expect(c.sync.source.value).toBe('initial')
  })
})

describe.each<CacheKind>(['memory', 'indexeddb'])('resource({ version }) with a %s cache', kind => {
  it("drops values cached under another version and fetches them again; that version's unsent edits are still sent", async () => {
    const { url } = await server()
    const browser = testBrowser(kind)
    const first = browser.tab(url)
    const a = personIn(first, { _id: 'p1', name: 'Ada', age: 36 })
    await a.sync.flush()
    first.net.offline()
    a.store.update({ ...a.store.current, age: 50 })
    a.sync.stop()

    const V2 = resource<Person>({ name: 'person', id: p => p._id, version: 2 })
    const next = browser.tab(url)
    next.net.offline()
    const b = personIn(next, { _id: 'p1', name: 'v2 default', age: 0 }, V2)
    await vi.waitFor(async () => expect(await next.cache.readEntity('person', 'p1', 2)).toBeUndefined())
    expect(b.sync.source.value).toBe('initial')
    expect(b.store.current.name).toBe('v2 default')

    next.net.online()
    await b.sync.ready
    expect(b.sync.source.value).toBe('server')
    const seen = observer(url)
    await until(seen.data, p => byId(p)?.age === 50, 'the v1 edit on the server')
    await until(b.store.data, p => p.age === 50 && p.name === 'Ada', 'B shows the server value')
    expect(await next.cache.readEntity('person', 'p1', 2)).toMatchObject({ version: 2 })
  })

  it('rejects a version that is not a positive integer', () => {
    expect(() => resource<Person>({ name: 'person', id: p => p._id, version: 0 })).toThrow(/version/)
  })
})
