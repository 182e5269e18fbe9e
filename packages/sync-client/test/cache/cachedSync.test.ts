import { type Store, storeOf } from '@lensync/store'
import { resource, type SyncError, syncList, syncWith } from '@lensync/sync-client'
import { describe, expect, it, vi } from 'vitest'
import { syncFixtures, testSocket, until } from '../helpers.ts'
import { afterTest, type CacheKind, type Tab, testBrowser } from './tabs.ts'

// API.md §4, "Semantics with a cache": each bullet through real syncWith /
// syncList clients on a real server, with the cache in memory and in
// (fake) IndexedDB.

type Person = { _id: string; name: string; age: number }
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
type Note = { id: string; text: string }
const NoteResource = resource<Note>({ name: 'note', id: n => n.id })

const { server } = syncFixtures()

/** A syncWith of person `p1` in `tab`, stopped after the test. */
function personIn(tab: Tab, initial: Person = { _id: 'p1', name: 'default', age: 0 }) {
  const store = storeOf<Person>(initial)
  const sync = syncWith(store, tab.socket, PersonResource)
  afterTest(() => sync.stop())
  const errors: SyncError[] = []
  sync.errors.subscribe(error => errors.push(error))
  return { store, sync, errors }
}

/** A syncList of notes in `tab`, stopped after the test. */
function notesIn(tab: Tab, initial: Note[] = []) {
  const store = storeOf<Note[]>(initial)
  const sync = syncList(store, tab.socket, NoteResource)
  afterTest(() => sync.stop())
  return { store, sync }
}

/** A client without a cache watching every person on the server (it offers nothing). */
function observer(url: string): Store<Person[]> {
  const store = storeOf<Person[]>([])
  const sync = syncList(store, testSocket(url), PersonResource)
  afterTest(() => sync.stop())
  return store
}

/** A client without a cache watching every note on the server. */
function noteObserver(url: string): Store<Note[]> {
  const store = storeOf<Note[]>([])
  const sync = syncList(store, testSocket(url), NoteResource)
  afterTest(() => sync.stop())
  return store
}

const byId = (people: Person[], id = 'p1') => people.find(p => p._id === id)

/** Closes a page: its syncs stop, as on pagehide (its cache object closes after the test). */
function closePage(...syncs: Array<{ stop(): void }>): void {
  for (const sync of syncs) sync.stop()
}

describe.each<CacheKind>(['memory', 'indexeddb'])('syncs with a %s cache', kind => {
  it('queues an edit to the cache in the task that makes it, and sends it without waiting for the cache', async () => {
    const { url } = await server()
    const browser = testBrowser(kind)
    const tab = browser.tab(url)
    const a = personIn(tab, { _id: 'p1', name: 'Ada', age: 36 })
    await a.sync.flush()
    const puts = browser.idb.puts.length
    a.store.update({ ...a.store.current, age: 37 })
    // Same task: the IndexedDB request is already issued (memory: the entry is there).
    if (kind === 'indexeddb') expect(browser.idb.puts.slice(puts)).toContain('outbox')
    const queued = await tab.cache.readOutbox({ client: tab.socket.clientId })
    if (kind === 'memory') expect(queued).toMatchObject([{ kind: 'patch', id: 'p1' }])
    await a.sync.flush()
    expect(await tab.cache.readOutbox()).toEqual([])
    expect(await tab.cache.readEntity('person', 'p1', 1)).toMatchObject({
      value: { json: { _id: 'p1', name: 'Ada', age: 37 } },
    })
  })

  it("shows the cached value with the unsent edits before any connection (source 'cache'), then the server's with the edits on top", async () => {
    const { url } = await server()
    const browser = testBrowser(kind)
    const first = browser.tab(url)
    const a = personIn(first, { _id: 'p1', name: 'Ada', age: 36 })
    await a.sync.flush()
    expect(a.sync.source.value).toBe('server')
    first.net.offline()
    a.store.update({ ...a.store.current, age: 40 })
    closePage(a.sync)

    // Meanwhile another client renames her on the server.
    const other = personIn(testBrowser('memory').tab(url), { _id: 'p1', name: 'x', age: 0 })
    await other.sync.flush()
    other.store.update({ ...other.store.current, name: 'Grace' })
    await other.sync.flush()

    // The next page starts offline, with a default value in its store.
    const next = browser.tab(url)
    next.net.offline()
    const b = personIn(next)
    expect(b.sync.source.value).toBe('initial')
    await b.sync.ready
    expect(b.sync.source.value).toBe('cache')
    expect(b.store.current).toEqual({ _id: 'p1', name: 'Ada', age: 40 })
    expect(b.sync.pending.value).toBe(1)
    expect(b.sync.status.value).not.toBe('synced')

    // Online: the server's value replaces the confirmed part (not an offer:
    // the default never reaches the server), the edit goes on top and is sent.
    next.net.online()
    await until(b.sync.status, s => s === 'synced', 'B synced')
    expect(b.sync.source.value).toBe('server')
    expect(b.store.current).toEqual({ _id: 'p1', name: 'Grace', age: 40 })
    const seen = observer(url)
    await until(seen.data, people => byId(people)?.age === 40, 'the edit on the server')
    expect(byId(seen.current)).toEqual({ _id: 'p1', name: 'Grace', age: 40 })
  })

  it('a reload while offline loses nothing: the next page shows the edits and sends them', async () => {
    const { url } = await server()
    const browser = testBrowser(kind)
    const first = browser.tab(url)
    const a = personIn(first, { _id: 'p1', name: 'Ada', age: 36 })
    const n = notesIn(first)
    await Promise.all([a.sync.flush(), n.sync.flush()])
    first.net.offline()
    a.store.update({ ...a.store.current, name: 'Ada L.' })
    n.store.update([...n.store.current, { id: 'n1', text: 'written offline' }])
    closePage(a.sync, n.sync)

    const next = browser.tab(url)
    next.net.offline()
    const b = personIn(next)
    const m = notesIn(next)
    await Promise.all([b.sync.ready, m.sync.ready])
    expect(b.store.current.name).toBe('Ada L.')
    expect(m.store.current).toEqual([{ id: 'n1', text: 'written offline' }])

    next.net.online()
    const people = observer(url)
    const notes = noteObserver(url)
    await until(people.data, p => byId(p)?.name === 'Ada L.', 'the renamed person on the server')
    await until(notes.data, list => list.length === 1, 'the note on the server')
    await Promise.all([b.sync.flush(), m.sync.flush()])
    expect(await next.cache.readOutbox()).toEqual([])
  })

  it('syncList caches the collection and its revision: a reload subscribes with since', async () => {
    const { url } = await server()
    const browser = testBrowser(kind)
    const first = browser.tab(url)
    const n = notesIn(first)
    await n.sync.flush()
    n.store.update([
      { id: 'n1', text: 'one' },
      { id: 'n2', text: 'two' },
    ])
    await n.sync.flush()
    closePage(n.sync)

    const next = browser.tab(url)
    next.net.offline()
    const m = notesIn(next)
    await m.sync.ready
    expect(m.sync.source.value).toBe('cache')
    expect(m.store.current.map(note => note.id).sort()).toEqual(['n1', 'n2'])
    next.net.online()
    await until(m.sync.status, s => s === 'synced', 'synced after the reload')
    const sub = next.net.sent.find(envelope => envelope.t === 'sub' && envelope.r === 'note')
    expect(sub?.since).toBeGreaterThanOrEqual(2)
    expect(m.sync.source.value).toBe('server')
  })

  it("tabs on one cache see each other's edits at once, offline too, and each edit is sent by exactly one", async () => {
    const { url } = await server()
    const browser = testBrowser(kind)
    const tabA = browser.tab(url)
    const tabB = browser.tab(url)
    const a = personIn(tabA, { _id: 'p1', name: 'Ada', age: 36 })
    const b = personIn(tabB)
    await Promise.all([a.sync.flush(), b.sync.flush()])

    // Offline: A's edit shows in B from the cache alone.
    tabA.net.offline()
    tabB.net.offline()
    a.store.update({ ...a.store.current, name: 'typed in A' })
    await until(b.store.data, p => p.name === 'typed in A', 'B to show A’s offline edit')
    expect(b.sync.pending.value).toBe(1)

    tabA.net.online()
    tabB.net.online()
    await until(b.sync.status, s => s === 'synced', 'B synced')
    await a.sync.flush()
    const patches = [...tabA.net.writes, ...tabB.net.writes].filter(
      w => w.t === 'patch' && (w.set as unknown[][]).some(([path]) => String(path) === 'name'),
    )
    expect(patches).toHaveLength(1)
    expect(patches[0]?.sender).toBe(tabA.socket.clientId)
    expect(b.store.current.name).toBe('typed in A')

    // Online: B's edit shows in A too.
    b.store.update({ ...b.store.current, age: 99 })
    await until(a.store.data, p => p.age === 99, 'A to show B’s edit')
  })

  it("a list item added offline in one tab shows in the other tab's list at once, and is sent once", async () => {
    const { url } = await server()
    const browser = testBrowser(kind)
    const tabA = browser.tab(url)
    const tabB = browser.tab(url)
    const a = notesIn(tabA)
    const b = notesIn(tabB)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    tabA.net.offline()
    tabB.net.offline()
    a.store.update([{ id: 'n1', text: 'added in A, offline' }])
    await until(b.store.data, list => list.length === 1, 'B to list A’s note')
    expect(b.store.current).toEqual([{ id: 'n1', text: 'added in A, offline' }])
    tabA.net.online()
    tabB.net.online()
    await Promise.all([a.sync.flush(), b.sync.flush()])
    expect(b.store.current).toEqual([{ id: 'n1', text: 'added in A, offline' }])
    expect([...tabA.net.writes, ...tabB.net.writes].filter(w => w.t === 'put')).toHaveLength(1)
  })

  it('a page given the same clientId sends the writes an earlier page left under it', async () => {
    const { url } = await server()
    const browser = testBrowser(kind)
    const first = browser.tab(url, { clientId: 'my-device' })
    const a = personIn(first, { _id: 'p1', name: 'Ada', age: 36 })
    await a.sync.flush()
    first.net.offline()
    a.store.update({ ...a.store.current, age: 77 })
    closePage(a.sync)

    const next = browser.tab(url, { clientId: 'my-device' })
    const b = personIn(next)
    await until(b.store.data, p => p.age === 77, 'the earlier page’s edit shown and sent')
    const people = observer(url)
    await until(people.data, p => byId(p)?.age === 77, 'the edit on the server')
    expect(next.net.writes.filter(w => w.t === 'patch')).toMatchObject([{ sender: 'my-device' }])
  })

  it('several sockets given one cache object act as tabs of one browser', async () => {
    const { url } = await server()
    const browser = testBrowser(kind)
    const tabA = browser.tab(url)
    const tabB = browser.tab(url, { cache: tabA.cache })
    const a = personIn(tabA, { _id: 'p1', name: 'Ada', age: 36 })
    const b = personIn(tabB)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    expect(tabA.socket.clientId).not.toBe(tabB.socket.clientId)
    tabA.net.offline()
    tabB.net.offline()
    b.store.update({ ...b.store.current, age: 7 })
    await until(a.store.data, p => p.age === 7, 'A to show B’s offline edit')
    tabA.net.online()
    tabB.net.online()
    await Promise.all([a.sync.flush(), b.sync.flush()])
    expect([...tabA.net.writes, ...tabB.net.writes].filter(w => w.t === 'patch')).toHaveLength(1)
  })

  it('a closed tab’s unsent edits are taken over by an open tab within 2 s, under its client id and op ids', async () => {
    const { url } = await server()
    const browser = testBrowser(kind)
    const tabA = browser.tab(url)
    const tabB = browser.tab(url)
    const a = personIn(tabA, { _id: 'p1', name: 'Ada', age: 36 })
    const b = personIn(tabB)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    tabA.net.offline()
    a.store.update({ ...a.store.current, age: 50 })
    const [queued] = await tabA.cache.readOutbox({ client: tabA.socket.clientId })
    expect(queued).toBeDefined()

    // The tab crashes: the browser frees its locks; nothing of it runs any more.
    browser.locks?.crash(tabA.lockName)
    const closedAt = Date.now()
    const people = observer(url)
    await until(people.data, p => byId(p)?.age === 50, 'the taken-over edit on the server')
    expect(Date.now() - closedAt).toBeLessThan(2000)
    const sent = tabB.net.writes.filter(w => w.sender === tabA.socket.clientId)
    expect(sent).toMatchObject([{ t: 'patch', op: queued?.op }])
    await until(b.sync.status, s => s === 'synced', 'B synced')
    expect(b.store.current.age).toBe(50)
  })
})

describe.each<CacheKind>(['memory', 'indexeddb'])('outboxes nobody sends, with a %s cache', kind => {
  it('a sync stopped with unsent edits: the socket sends them within 2 s', async () => {
    const { url } = await server()
    const tab = testBrowser(kind).tab(url)
    const stays = notesIn(tab)
    const a = personIn(tab, { _id: 'p1', name: 'Ada', age: 36 })
    await Promise.all([a.sync.flush(), stays.sync.flush()])
    a.store.update({ ...a.store.current, name: 'edited, then stopped' })
    a.sync.stop()
    const stoppedAt = Date.now()
    const people = observer(url)
    await until(people.data, p => byId(p)?.name === 'edited, then stopped', 'the edit on the server')
    expect(Date.now() - stoppedAt).toBeLessThan(2000)
    await vi.waitFor(async () => expect(await tab.cache.readOutbox()).toEqual([]))
  })

  it('without Web Locks (heartbeat fallback): a crashed tab’s edits are taken over by another tab', async () => {
    const { url } = await server()
    const browser = testBrowser(kind, { locks: false })
    // Tab A's timers stop dead at the crash: no more heartbeats, nothing else.
    let crashed = false
    const timers = {
      setTimeout: (callback: () => void, ms: number) => setTimeout(() => crashed || callback(), ms),
      clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    }
    const tabA = browser.tab(url, { timers })
    const tabB = browser.tab(url)
    const a = personIn(tabA, { _id: 'p1', name: 'Ada', age: 36 })
    const b = personIn(tabB)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    tabA.net.offline()
    a.store.update({ ...a.store.current, age: 61 })
    await until(b.store.data, p => p.age === 61, 'B to show A’s edit')
    crashed = true
    const crashedAt = Date.now()
    const people = observer(url)
    await until(people.data, p => byId(p)?.age === 61, 'the taken-over edit on the server')
    const took = Date.now() - crashedAt
    // A record older than 1.5 s is claimable and tabs look every 0.5 s: at
    // most 2 s after the last beat, plus the round trip to the server.
    expect(took).toBeLessThan(2500)
    expect(tabB.net.writes.filter(w => w.sender === tabA.socket.clientId)).toHaveLength(1)
  })

  it.each([true, false])(
    'a tab whose socket stopped with unsent edits: another tab sends them within 2 s (Web Locks: %s)',
    async locks => {
      const { url } = await server()
      const browser = testBrowser(kind, { locks })
      const tabA = browser.tab(url)
      const tabB = browser.tab(url)
      const a = personIn(tabA, { _id: 'p1', name: 'Ada', age: 36 })
      const b = personIn(tabB)
      await Promise.all([a.sync.flush(), b.sync.flush()])
      tabA.net.offline()
      a.store.update({ ...a.store.current, age: 41 })
      await until(b.store.data, p => p.age === 41, 'B to show A’s edit')
      a.sync.stop()
      const stoppedAt = Date.now()
      const people = observer(url)
      await until(people.data, p => byId(p)?.age === 41, 'the edit on the server')
      expect(Date.now() - stoppedAt).toBeLessThan(2000)
      expect(tabB.net.writes.filter(w => w.sender === tabA.socket.clientId)).toHaveLength(1)
      await until(b.sync.status, s => s === 'synced', 'B synced')
    },
  )
})
