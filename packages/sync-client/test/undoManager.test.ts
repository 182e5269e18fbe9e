import { batch, lenses, storeOf } from '@lensync/store'
import { resource, SyncError, syncList, syncWith, undoManager } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import { afterTest, testBrowser } from './cache/tabs.ts'
import { switchableWebSocket, syncFixtures, testSocket, until } from './helpers.ts'

// API.md §6, "Undo": each bullet through real syncWith / syncList clients on
// a real server.

type Person = { _id: string; name: string; age: number; city?: string }
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
type Todo = { id: string; title: string; done: boolean }
const TodoResource = resource<Todo>({ name: 'todo', id: t => t.id })

const { cleanups, track, server } = syncFixtures()

const ada = (): Person => ({ _id: 'p1', name: 'Ada', age: 36 })

/** A client of person p1 with an undo manager (every edit its own step unless `captureTimeout` is given). */
function personClient(url: string, options: Parameters<typeof undoManager>[1] = { captureTimeout: 0 }) {
  const cut = switchableWebSocket()
  const store = storeOf<Person>(ada())
  const sync = track(syncWith(store, testSocket(url, cut.WebSocket), PersonResource))
  const undo = undoManager(sync, options)
  cleanups.push(() => undo.stop())
  return {
    store,
    sync,
    undo,
    cut,
    edit: (patch: Partial<Person>) => store.update({ ...store.current, ...patch }),
  }
}

/** A client of every todo with an undo manager. */
function todoClient(url: string, initial: Todo[] = []) {
  const store = storeOf<Todo[]>(initial)
  const sync = track(syncList(store, testSocket(url), TodoResource))
  const undo = undoManager(sync, { captureTimeout: 0 })
  cleanups.push(() => undo.stop())
  return { store, sync, undo }
}

const todo = (id: string, title = id): Todo => ({ id, title, done: false })
const titles = (list: Todo[]) => list.map(t => `${t.id}:${t.title}`)

describe('undoManager with syncWith', () => {
  it('undoes and redoes this client’s edits, and the server and other clients follow', async () => {
    const { url } = await server()
    const a = personClient(url)
    const b = personClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    expect(a.undo.canUndo.value).toBe(false)

    a.edit({ name: 'Grace' })
    a.edit({ age: 40 })
    expect(a.undo.canUndo.value).toBe(true)
    expect(a.undo.undo()).toBe(true)
    expect(a.store.current).toEqual({ ...ada(), name: 'Grace' })
    expect(a.undo.canRedo.value).toBe(true)
    expect(a.undo.undo()).toBe(true)
    expect(a.store.current).toEqual(ada())
    expect(a.undo.canUndo.value).toBe(false)
    expect(a.undo.undo()).toBe(false)
    await a.sync.flush()
    await until(b.store.data, p => p.name === 'Ada' && p.age === 36, 'B to see the undo')

    expect(a.undo.redo()).toBe(true)
    expect(a.store.current.name).toBe('Grace')
    await until(b.store.data, p => p.name === 'Grace', 'B to see the redo')
  })

  it('records only this client’s edits: remote changes and the server’s snapshot are not undone', async () => {
    const { url } = await server()
    const seed = storeOf<Person>({ _id: 'p1', name: 'Stored', age: 1 })
    await track(syncWith(seed, testSocket(url), PersonResource)).flush()

    // A's store starts with a default that the server's value replaces: not an edit.
    const a = personClient(url)
    await a.sync.flush()
    expect(a.store.current.name).toBe('Stored')
    expect(a.undo.canUndo.value).toBe(false)

    seed.update({ ...seed.current, age: 2 })
    await until(a.store.data, p => p.age === 2, 'A to see the remote change')
    expect(a.undo.canUndo.value).toBe(false)
    expect(a.undo.undo()).toBe(false)
    expect(a.store.current).toEqual({ _id: 'p1', name: 'Stored', age: 2 })
  })

  it('edits within captureTimeout form one step; a later edit starts another', async () => {
    const { url } = await server()
    let now = 1000
    const a = personClient(url, { captureTimeout: 500, now: () => now })
    await a.sync.flush()
    a.edit({ name: 'G' })
    now += 200
    a.edit({ name: 'Gr' })
    now += 400 // 400 ms after the previous edit: still the same step
    a.edit({ age: 37 })
    now += 500 // not less than captureTimeout: a new step
    a.edit({ name: 'Grace' })

    expect(a.undo.undo()).toBe(true)
    expect(a.store.current).toEqual({ ...ada(), name: 'Gr', age: 37 })
    expect(a.undo.undo()).toBe(true)
    expect(a.store.current).toEqual(ada())
    expect(a.undo.canUndo.value).toBe(false)
  })

  it('leaves alone the fields another client changed since; a step with nothing left is dropped', async () => {
    const { url } = await server()
    let now = 0
    const a = personClient(url, { captureTimeout: 100, now: () => now })
    const b = personClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])

    a.edit({ city: 'Paris' }) // step 1
    now += 1000
    a.edit({ name: 'Grace', age: 40 }) // step 2
    now += 1000
    a.edit({ city: 'Rome' }) // step 3
    await a.sync.flush()
    await until(b.store.data, p => p.city === 'Rome', 'B to see A’s edits')

    b.edit({ name: 'Bea', city: 'Oslo' })
    await until(a.store.data, p => p.name === 'Bea' && p.city === 'Oslo', 'A to see B’s edit')
    // Step 3 (city) is gone: B changed city. Step 2 writes back age only.
    expect(a.undo.undo()).toBe(true)
    expect(a.store.current).toEqual({ _id: 'p1', name: 'Bea', age: 36, city: 'Oslo' })
    // Step 1 set city, which B changed: nothing is left to undo.
    expect(a.undo.canUndo.value).toBe(false)
    expect(a.undo.undo()).toBe(false)
    await a.sync.flush()
    await until(b.store.data, p => p.age === 36, 'B to see the undo')
    expect(b.store.current).toEqual({ _id: 'p1', name: 'Bea', age: 36, city: 'Oslo' })
  })

  it('a field another client changed and changed back is theirs: it is left alone', async () => {
    const { url } = await server()
    const a = personClient(url)
    const b = personClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    a.edit({ name: 'Grace' })
    await a.sync.flush()
    await until(b.store.data, p => p.name === 'Grace', 'B to see A’s edit')
    b.edit({ name: 'X' })
    await until(a.store.data, p => p.name === 'X', 'A to see X')
    b.edit({ name: 'Grace' })
    await until(a.store.data, p => p.name === 'Grace', 'A to see Grace again')
    expect(a.undo.canUndo.value).toBe(false)
    expect(a.undo.undo()).toBe(false)
    expect(a.store.current.name).toBe('Grace')
  })

  it('redo re-applies an undone step, except fields another client changed since the undo', async () => {
    const { url } = await server()
    const a = personClient(url, { captureTimeout: 1000, now: () => 0 })
    const b = personClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    a.edit({ name: 'Grace', age: 40 })
    expect(a.undo.undo()).toBe(true)
    await a.sync.flush()
    await until(b.store.data, p => p.name === 'Ada' && p.age === 36, 'B to see the undo')
    b.edit({ age: 50 })
    await until(a.store.data, p => p.age === 50, 'A to see B’s edit')
    expect(a.undo.canRedo.value).toBe(true)
    expect(a.undo.redo()).toBe(true)
    expect(a.store.current).toEqual({ ...ada(), name: 'Grace', age: 50 })
    expect(a.undo.redo()).toBe(false)
  })

  it('a new edit clears the redo stack', async () => {
    const { url } = await server()
    const a = personClient(url)
    await a.sync.flush()
    a.edit({ name: 'Grace' })
    a.undo.undo()
    expect(a.undo.canRedo.value).toBe(true)
    a.edit({ age: 1 })
    expect(a.undo.canRedo.value).toBe(false)
    expect(a.undo.redo()).toBe(false)
    expect(a.store.current).toEqual({ ...ada(), age: 1 })
  })

  it('keeps at most capacity steps, dropping the oldest', async () => {
    const { url } = await server()
    const a = personClient(url, { captureTimeout: 0, capacity: 2 })
    await a.sync.flush()
    a.edit({ age: 1 })
    a.edit({ age: 2 })
    a.edit({ age: 3 })
    expect(a.undo.undo()).toBe(true)
    expect(a.undo.undo()).toBe(true)
    expect(a.store.current.age).toBe(1)
    expect(a.undo.canUndo.value).toBe(false)
    expect(a.undo.undo()).toBe(false)
    expect(a.store.current.age).toBe(1)
  })

  it('undoes offline; the undo is sent on reconnect', async () => {
    const { url } = await server()
    const a = personClient(url)
    const b = personClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    a.edit({ name: 'Online' })
    await a.sync.flush()
    await until(b.store.data, p => p.name === 'Online', 'B to see A’s edit')

    a.cut.offline()
    await until(a.sync.status, s => s === 'offline', 'A offline')
    a.edit({ age: 99 })
    expect(a.undo.undo()).toBe(true) // the offline edit
    expect(a.undo.undo()).toBe(true) // the online edit, undone offline
    expect(a.store.current).toEqual(ada())

    a.cut.online()
    await a.sync.flush()
    await until(b.store.data, p => p.name === 'Ada', 'B to see the offline undo')
    expect(b.store.current).toEqual(ada())
  })

  it('stop() ends recording; stopping the sync ends the manager', async () => {
    const { url } = await server()
    const a = personClient(url)
    await a.sync.flush()
    a.edit({ name: 'Grace' })
    a.undo.stop()
    expect(a.undo.canUndo.value).toBe(false)
    a.edit({ name: 'Again' })
    expect(a.undo.canUndo.value).toBe(false)
    expect(a.undo.undo()).toBe(false)
    expect(a.store.current.name).toBe('Again')

    const second = undoManager(a.sync, { captureTimeout: 0 })
    a.edit({ age: 1 })
    expect(second.canUndo.value).toBe(true)
    a.sync.stop()
    expect(second.canUndo.value).toBe(false)
    expect(second.undo()).toBe(false)
    expect(a.store.current.age).toBe(1)
    // A manager made for a stopped sync records nothing.
    const late = undoManager(a.sync)
    a.edit({ age: 2 })
    expect(late.canUndo.value).toBe(false)
  })

  it('an id change forgets the steps of the old entity', async () => {
    const { url } = await server()
    const a = personClient(url)
    await a.sync.flush()
    a.edit({ name: 'Grace' })
    a.store.update({ _id: 'p2', name: 'Other', age: 1 })
    expect(a.undo.canUndo.value).toBe(false)
    expect(a.undo.undo()).toBe(false)
    expect(a.store.current._id).toBe('p2')
  })

  it('works for a syncWith of a sub-store, and edits through lenses', async () => {
    const { url } = await server()
    type Page = { title: string; person: Person }
    const L = lenses<Page>()
    const page = storeOf<Page>({ title: 'p', person: ada() })
    const sync = track(syncWith(page.map(L.person), testSocket(url), PersonResource))
    const undo = undoManager(sync, { captureTimeout: 0 })
    cleanups.push(() => undo.stop())
    await sync.flush()
    page.map(L.person.name).update('Grace')
    page.map(L.title).update('not synced')
    expect(undo.undo()).toBe(true)
    expect(page.current).toEqual({ title: 'not synced', person: ada() })
    // The undo was not recorded as an edit: it can be redone.
    expect(undo.canRedo.value).toBe(true)
    expect(undo.redo()).toBe(true)
    expect(page.current.person.name).toBe('Grace')
  })

  it('an undo inside batch() is still known as the undo, not a new edit', async () => {
    const { url } = await server()
    const a = personClient(url)
    await a.sync.flush()
    a.edit({ name: 'Grace' })
    batch(() => {
      expect(a.undo.undo()).toBe(true)
    })
    expect(a.store.current).toEqual(ada())
    expect(a.undo.canRedo.value).toBe(true)
    expect(a.undo.redo()).toBe(true)
    expect(a.store.current.name).toBe('Grace')
  })

  it('refuses a bad sync or option with BAD_ARGUMENT', async () => {
    const { url } = await server()
    const a = personClient(url)
    const code = (f: () => unknown) => {
      try {
        f()
      } catch (error) {
        return error instanceof SyncError ? error.code : 'other'
      }
      return 'none'
    }
    expect(code(() => undoManager({} as never))).toBe('BAD_ARGUMENT')
    expect(code(() => undoManager(a.sync, { captureTimeout: -1 }))).toBe('BAD_ARGUMENT')
    expect(code(() => undoManager(a.sync, { capacity: 0 }))).toBe('BAD_ARGUMENT')
    expect(code(() => undoManager(a.sync, { capacity: 1.5 }))).toBe('BAD_ARGUMENT')
    expect(code(() => undoManager(a.sync, { now: 5 as never }))).toBe('BAD_ARGUMENT')
    expect(code(() => undoManager(a.sync, { capacity: Infinity }).stop())).toBe('none')
  })
})

describe('undoManager with a cache', () => {
  it('does not record values loaded from the cache, nor another tab’s edits; its undo is cached', async () => {
    const { url } = await server()
    const browser = testBrowser('memory')
    const tabA = browser.tab(url)
    const tabB = browser.tab(url)
    const inTab = (tab: typeof tabA) => {
      const store = storeOf<Person>(ada())
      const sync = syncWith(store, tab.socket, PersonResource)
      afterTest(() => sync.stop())
      const undo = undoManager(sync, { captureTimeout: 0 })
      afterTest(() => undo.stop())
      return { store, sync, undo }
    }
    const a = inTab(tabA)
    await a.sync.flush()
    a.store.update({ ...a.store.current, name: 'Cached' })
    await a.sync.flush()

    tabA.net.offline()
    tabB.net.offline()
    // B starts offline: it shows the cached value, which is no edit of its own.
    const b = inTab(tabB)
    await b.sync.ready
    await until(b.store.data, p => p.name === 'Cached', 'B to show the cached value')
    expect(b.sync.source.value).toBe('cache')
    expect(b.undo.canUndo.value).toBe(false)

    // A's offline edit reaches B through the cache: not B's to undo.
    a.store.update({ ...a.store.current, age: 50 })
    await until(b.store.data, p => p.age === 50, 'B to show A’s offline edit')
    expect(b.undo.canUndo.value).toBe(false)
    expect(b.undo.undo()).toBe(false)

    // A's offline undo is an ordinary edit: it reaches B through the cache, then the server.
    expect(a.undo.undo()).toBe(true)
    await until(b.store.data, p => p.age === 36, 'B to show A’s undo')
    tabA.net.online()
    tabB.net.online()
    await Promise.all([a.sync.flush(), b.sync.flush()])
    const observer = storeOf<Person>({ _id: 'p1', name: '?', age: 0 })
    await track(syncWith(observer, testSocket(url), PersonResource)).flush()
    expect(observer.current).toEqual({ ...ada(), name: 'Cached' })
  })
})

describe('undoManager with syncList', () => {
  it('undo of an add removes the item; redo adds it back, at its place', async () => {
    const { url } = await server()
    const a = todoClient(url, [todo('t1'), todo('t3')])
    const b = todoClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    await until(b.store.data, list => list.length === 2, 'B to see the todos')
    expect(a.undo.canUndo.value).toBe(false)

    a.store.update([todo('t1'), todo('t2'), todo('t3')])
    await a.sync.flush()
    await until(b.store.data, list => list.length === 3, 'B to see the add')
    expect(a.undo.undo()).toBe(true)
    expect(titles(a.store.current)).toEqual(['t1:t1', 't3:t3'])
    await until(b.store.data, list => list.length === 2, 'B to see the undone add')

    expect(a.undo.redo()).toBe(true)
    expect(titles(a.store.current)).toEqual(['t1:t1', 't2:t2', 't3:t3'])
    await until(b.store.data, list => list.length === 3, 'B to see the redone add')
  })

  it('undo of a remove puts the item back as it was, at its place, on every client', async () => {
    const { url } = await server()
    const a = todoClient(url, [todo('t1'), todo('t2', 'second'), todo('t3')])
    const b = todoClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    await until(b.store.data, list => list.length === 3, 'B to see the todos')

    a.store.update(a.store.current.filter(t => t.id !== 't2'))
    await a.sync.flush()
    await until(b.store.data, list => list.length === 2, 'B to see the remove')
    expect(a.undo.undo()).toBe(true)
    expect(titles(a.store.current)).toEqual(['t1:t1', 't2:second', 't3:t3'])
    await a.sync.flush()
    await until(b.store.data, list => list.length === 3, 'B to see the item back')
    expect(b.store.current.find(t => t.id === 't2')).toEqual(todo('t2', 'second'))
  })

  it('undoes field edits per item and field, leaving what others changed', async () => {
    const { url } = await server()
    const a = todoClient(url, [todo('t1'), todo('t2')])
    const b = todoClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    await until(b.store.data, list => list.length === 2, 'B to see the todos')

    a.store.update(a.store.current.map(t => ({ ...t, title: `${t.id}!`, done: true })))
    await a.sync.flush()
    await until(b.store.data, list => list.every(t => t.done), 'B to see A’s edit')
    b.store.update(b.store.current.map(t => (t.id === 't1' ? { ...t, title: 'theirs' } : t)))
    await until(a.store.data, list => list[0]?.title === 'theirs', 'A to see B’s edit')

    expect(a.undo.undo()).toBe(true)
    expect(a.store.current).toEqual([{ id: 't1', title: 'theirs', done: false }, todo('t2')])
    await a.sync.flush()
    await until(b.store.data, list => list.every(t => !t.done), 'B to see the undo')
    expect(b.store.current).toEqual([{ id: 't1', title: 'theirs', done: false }, todo('t2')])
  })

  it('undo of an add leaves an item another client edited since', async () => {
    const { url } = await server()
    const a = todoClient(url)
    const b = todoClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    a.store.update([todo('t1')])
    await until(b.store.data, list => list.length === 1, 'B to see the add')
    b.store.update([{ ...todo('t1'), done: true }])
    await until(a.store.data, list => list[0]?.done === true, 'A to see B’s edit')
    expect(a.undo.canUndo.value).toBe(false)
    expect(a.undo.undo()).toBe(false)
    expect(a.store.current).toEqual([{ ...todo('t1'), done: true }])
  })

  it('does not record items the server’s snapshot or other clients add or remove', async () => {
    const { url } = await server()
    const b = todoClient(url, [todo('t1'), todo('t2')])
    await b.sync.flush()
    const a = todoClient(url)
    await a.sync.flush()
    expect(a.store.current).toHaveLength(2)
    b.store.update([todo('t2'), todo('t3')])
    await until(a.store.data, list => list.some(t => t.id === 't3') && list.length === 2, 'A to follow B')
    expect(a.undo.canUndo.value).toBe(false)
    expect(a.undo.undo()).toBe(false)
  })
})
