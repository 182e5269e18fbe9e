import { type Store, storeOf } from '@lensync/store'
import {
  type Conflict,
  type OnConflict,
  type OutboxEntry,
  resource,
  syncList,
  syncWith,
  websocket,
} from '@lensync/sync-client'
import { describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { fastReconnect, syncFixtures, until } from '../helpers.ts'
import { afterTest, type CacheKind, type Tab, testBrowser } from './tabs.ts'

// API.md §6 with §4: an edit queued in a cache's outbox keeps the revision it
// was made at, so it meets conflicts whoever sends it — the next page after a
// reload, or another tab taking the outbox over — and the conflict is
// reported on the sync that shows the entity, resolved by its onConflict.

type Person = { _id: string; name: string; age: number }
const p1 = (name: string, age = 36): Person => ({ _id: 'p1', name, age })

const { server } = syncFixtures()

/** Principals are `{ name }` from the token; `attribution` names them. */
const people = () =>
  server({
    authenticate: (_request, hello) => (hello.token ? { name: hello.token } : null),
    attribution: principal => (principal as { name: string }).name,
  })

function personIn(tab: Tab, onConflict: OnConflict | undefined, initial = p1('default', 0)) {
  const store = storeOf<Person>(initial)
  const Resource = resource<Person>({ name: 'person', id: p => p._id, ...(onConflict ? { onConflict } : {}) })
  const sync = syncWith(store, tab.socket, Resource)
  afterTest(() => sync.stop())
  const conflicts: Conflict[] = []
  afterTest(sync.conflicts.subscribe(conflict => conflicts.push(conflict)))
  return { store, sync, conflicts }
}

/** Another user, online without a cache, who renames p1 to `name` and waits for the ack. */
async function otherUserRenames(url: string, name: string): Promise<Store<Person>> {
  const socket = websocket(url, { WebSocket: WebSocket as never, reconnect: fastReconnect, token: name })
  const store = storeOf<Person>(p1('x', 0))
  const sync = syncWith(store, socket, resource<Person>({ name: 'person', id: p => p._id }))
  afterTest(() => sync.stop())
  await sync.flush()
  store.update({ ...store.current, name })
  await sync.flush()
  return store
}

/**
 * Ada's first page edits `edit` of p1 offline and is closed (reloaded);
 * meanwhile Grace renames p1 online; Ada's next page (same cache) comes
 * online with `onConflict`. Resolves once the next page and Grace agree.
 */
async function reloadAfterOfflineEdit(
  kind: CacheKind,
  onConflict: OnConflict | undefined,
  edit: Partial<Person>,
) {
  const { url } = await people()
  const browser = testBrowser(kind)
  const first = browser.tab(url, { token: 'Ada' })
  const a = personIn(first, onConflict, p1('Ada'))
  await a.sync.flush()
  first.net.offline()
  a.store.update({ ...a.store.current, ...edit })
  a.sync.stop() // the page goes away

  const grace = await otherUserRenames(url, 'Grace')

  const next = browser.tab(url, { token: 'Ada' })
  const b = personIn(next, onConflict)
  await b.sync.flush()
  await until(
    grace.data,
    value => value.name === b.store.current.name && value.age === b.store.current.age,
    'Grace to see what the next page shows',
  )
  await b.sync.flush()
  return { first, next, b, grace }
}

describe.each<CacheKind>(['memory', 'indexeddb'])('conflicts of edits sent from a %s cache', kind => {
  it("'overwrite': an offline edit sent after a reload replaces the newer value and is reported", async () => {
    const { first, next, b, grace } = await reloadAfterOfflineEdit(kind, undefined, { name: 'Offline' })
    expect(b.store.current.name).toBe('Offline')
    expect(grace.current.name).toBe('Offline')
    expect(b.conflicts).toEqual([
      {
        id: 'p1',
        path: '.name',
        mine: 'Offline',
        theirs: 'Grace',
        rev: expect.any(Number),
        by: 'Grace',
        resolution: 'mine',
      },
    ])
    // Sent by the next page under the first page's client id, with the revision it was made at.
    const [sent] = next.net.writes.filter(w => w.sender === first.socket.clientId)
    expect(sent).toMatchObject({ t: 'patch', base: expect.any(Number) })
    expect(sent).not.toHaveProperty('onConflict')
  })

  it("'keep-theirs': the offline edit is dropped, the page shows theirs, other fields are kept", async () => {
    const { b, grace } = await reloadAfterOfflineEdit(kind, 'keep-theirs', { name: 'Offline', age: 40 })
    expect(b.store.current).toEqual(p1('Grace', 40))
    expect(grace.current).toEqual(p1('Grace', 40))
    expect(b.sync.pending.value).toBe(0)
    expect(b.conflicts).toEqual([
      {
        id: 'p1',
        path: '.name',
        mine: 'Offline',
        theirs: 'Grace',
        rev: expect.any(Number),
        by: 'Grace',
        resolution: 'theirs',
      },
    ])
  })

  it('a merge function: the next page writes the merged value on top of theirs', async () => {
    const merge = (c: Conflict) => `${String(c.theirs)} & ${String(c.mine)}`
    const { b, grace } = await reloadAfterOfflineEdit(kind, merge, { name: 'Offline' })
    await until(grace.data, value => value.name === 'Grace & Offline', 'Grace to see the merged name')
    await b.sync.flush()
    expect(b.store.current.name).toBe('Grace & Offline')
    expect(b.conflicts).toEqual([
      {
        id: 'p1',
        path: '.name',
        mine: 'Offline',
        theirs: 'Grace',
        rev: expect.any(Number),
        by: 'Grace',
        resolution: 'merged',
      },
    ])
  })

  it('another tab taking the outbox over reports the conflict on its sync', async () => {
    const { url } = await people()
    const browser = testBrowser(kind)
    const tabA = browser.tab(url, { token: 'Ada' })
    const tabB = browser.tab(url, { token: 'Ada' })
    const a = personIn(tabA, 'keep-theirs', p1('Ada'))
    const b = personIn(tabB, 'keep-theirs')
    await Promise.all([a.sync.flush(), b.sync.flush()])
    tabA.net.offline()
    tabB.net.offline()
    a.store.update({ ...a.store.current, name: 'Offline' })
    await until(b.store.data, value => value.name === 'Offline', "B to show A's offline edit")
    // Tab A crashes: its locks are freed, nothing of it runs any more.
    browser.locks?.crash(tabA.lockName)
    const grace = await otherUserRenames(url, 'Grace')
    tabB.net.online()
    await until(b.store.data, value => value.name === 'Grace', 'B to show theirs')
    await b.sync.flush()
    expect(grace.current.name).toBe('Grace')
    expect(b.conflicts).toMatchObject([{ id: 'p1', path: '.name', by: 'Grace', resolution: 'theirs' }])
    expect(a.conflicts).toEqual([])
  })

  it('a sync started after the page sent the outbox still reports the conflict', async () => {
    const { url } = await people()
    const browser = testBrowser(kind)
    const first = browser.tab(url, { token: 'Ada' })
    const a = personIn(first, undefined, p1('Ada'))
    await a.sync.flush()
    first.net.offline()
    a.store.update({ ...a.store.current, name: 'Offline' })
    a.sync.stop()
    const grace = await otherUserRenames(url, 'Grace')

    // The next page starts another sync first: its socket sends the outbox
    // before any sync of p1 starts.
    const next = browser.tab(url, { token: 'Ada' })
    const notes = syncList(
      storeOf<Array<{ id: string }>>([]),
      next.socket,
      resource({ name: 'note', id: n => n.id }),
    )
    afterTest(() => notes.stop())
    await until(grace.data, value => value.name === 'Offline', 'the outbox sent')
    await vi.waitFor(async () => expect(await next.cache.readOutbox()).toEqual([]))
    const b = personIn(next, undefined)
    await b.sync.flush()
    expect(b.store.current.name).toBe('Offline')
    expect(b.conflicts).toMatchObject([
      { id: 'p1', path: '.name', mine: 'Offline', theirs: 'Grace', by: 'Grace' },
    ])
  })

  it('a list item edited offline before a reload meets the conflict too', async () => {
    const { url } = await people()
    const browser = testBrowser(kind)
    const Todos = resource<{ id: string; title: string }>({ name: 'todo', id: t => t.id })
    const first = browser.tab(url, { token: 'Ada' })
    const a = storeOf([{ id: 't1', title: 'one' }])
    const aSync = syncList(a, first.socket, Todos)
    await aSync.flush()
    first.net.offline()
    a.update([{ id: 't1', title: 'Offline' }])
    aSync.stop()

    const socket = websocket(url, { WebSocket: WebSocket as never, reconnect: fastReconnect, token: 'Grace' })
    const g = storeOf<Array<{ id: string; title: string }>>([])
    const gSync = syncList(g, socket, Todos)
    afterTest(() => gSync.stop())
    await until(g.data, list => list.length === 1, 'Grace to hold t1')
    g.update([{ id: 't1', title: 'Grace' }])
    await gSync.flush()

    const next = browser.tab(url, { token: 'Ada' })
    const b = storeOf<Array<{ id: string; title: string }>>([])
    const bSync = syncList(b, next.socket, Todos)
    afterTest(() => bSync.stop())
    const conflicts: Conflict[] = []
    afterTest(bSync.conflicts.subscribe(conflict => conflicts.push(conflict)))
    await bSync.flush()
    await until(g.data, list => list[0]?.title === 'Offline', 'Grace to see the offline title')
    expect(conflicts).toEqual([
      {
        id: 't1',
        path: '.title',
        mine: 'Offline',
        theirs: 'Grace',
        rev: expect.any(Number),
        by: 'Grace',
        resolution: 'mine',
      },
    ])
  })

  it('an entry queued without base (by an older version) is sent without it and never conflicts', async () => {
    const { url } = await people()
    const browser = testBrowser(kind)
    const first = browser.tab(url, { token: 'Ada' })
    const a = personIn(first, 'keep-theirs', p1('Ada'))
    await a.sync.flush()
    a.sync.stop()
    const grace = await otherUserRenames(url, 'Grace')
    // What an older page left: a patch without base, under its own client id.
    const old: OutboxEntry = {
      client: 'older-page',
      op: 1,
      resource: 'person',
      id: 'p1',
      kind: 'patch',
      set: [[['name'], { json: 'Older' }]],
      version: 1,
    }
    expect((await first.cache.enqueue(old)).ok).toBe(true)

    const next = browser.tab(url, { token: 'Ada' })
    const b = personIn(next, 'keep-theirs')
    await until(grace.data, value => value.name === 'Older', "Grace to see the older page's edit")
    await b.sync.flush()
    expect(b.store.current.name).toBe('Older')
    expect(b.conflicts).toEqual([])
    const sent = next.net.writes.filter(w => w.sender === 'older-page')
    expect(sent).toMatchObject([{ t: 'patch', op: 1 }])
    expect(sent[0]).not.toHaveProperty('base')
  })
})
