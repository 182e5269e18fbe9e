import { storeOf } from '@lensync/store'
import { type Conflict, type OnConflict, resource, syncList } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import { switchableWebSocket, syncFixtures, testSocket, until } from './helpers.ts'

// API.md §6 for syncList: `sync.conflicts` of a list names the item (`id`),
// and the resource's onConflict decides for each item's fields.

type Todo = { id: string; title: string; done: boolean }
const todo = (id: string, title: string, done = false): Todo => ({ id, title, done })
const titleOf = (list: Todo[], id: string) => list.find(t => t.id === id)?.title

const { cleanups, track, server } = syncFixtures()

/**
 * Two lists hold t1 and t2. A (cut off) edits `edit` of t2 offline while B,
 * online, retitles t2 'Theirs'; then A comes back. Returns both stores and
 * A's conflicts once both are synced and agree on t2.
 */
async function offlineItemEdit(onConflict: OnConflict | undefined, edit: Partial<Todo>) {
  const { url } = await server()
  const Todos = resource<Todo>({ name: 'todo', id: t => t.id, ...(onConflict ? { onConflict } : {}) })
  const cut = switchableWebSocket()
  const a = storeOf<Todo[]>([])
  const aSync = track(syncList(a, testSocket(url, cut.WebSocket), Todos))
  const conflicts: Conflict[] = []
  cleanups.push(aSync.conflicts.subscribe(conflict => conflicts.push(conflict)))
  await aSync.flush()
  a.update([todo('t1', 'one'), todo('t2', 'two')])
  await aSync.flush()
  const b = storeOf<Todo[]>([])
  const bSync = track(syncList(b, testSocket(url), Todos))
  await until(b.data, list => list.length === 2, 'B to hold both items')

  cut.offline()
  await until(aSync.status, s => s === 'offline', 'A offline')
  a.update(a.current.map(t => (t.id === 't2' ? { ...t, ...edit } : t)))
  b.update(b.current.map(t => (t.id === 't2' ? { ...t, title: 'Theirs' } : t)))
  await bSync.flush()

  cut.online()
  await aSync.flush()
  await bSync.flush()
  const t2 = (list: Todo[]) => list.find(t => t.id === 't2')
  await until(
    b.data,
    list => JSON.stringify(t2(list)) === JSON.stringify(t2(a.current)),
    'B to agree with A on t2',
  )
  return { a, b, aSync, conflicts }
}

describe('syncList conflicts', () => {
  it("'overwrite' (default): the offline edit of an item wins and the conflict names the item", async () => {
    const { a, b, conflicts } = await offlineItemEdit(undefined, { title: 'Mine' })
    expect(titleOf(a.current, 't2')).toBe('Mine')
    expect(titleOf(b.current, 't2')).toBe('Mine')
    expect(conflicts).toEqual([
      {
        id: 't2',
        path: '.title',
        mine: 'Mine',
        theirs: 'Theirs',
        rev: expect.any(Number),
        resolution: 'mine',
      },
    ])
  })

  it("'keep-theirs': the item shows theirs, its other edited fields are kept", async () => {
    const { a, b, aSync, conflicts } = await offlineItemEdit('keep-theirs', { title: 'Mine', done: true })
    expect(a.current).toEqual([todo('t1', 'one'), todo('t2', 'Theirs', true)])
    expect(b.current).toEqual([todo('t1', 'one'), todo('t2', 'Theirs', true)])
    expect(aSync.pending.value).toBe(0)
    expect(aSync.fieldStatus('t2', '.title').value).toBe('synced')
    expect(conflicts).toEqual([
      {
        id: 't2',
        path: '.title',
        mine: 'Mine',
        theirs: 'Theirs',
        rev: expect.any(Number),
        resolution: 'theirs',
      },
    ])
  })

  it('a merge function writes its value on top of theirs, for that item only', async () => {
    const seen: Conflict[] = []
    const merge = (conflict: Conflict) => {
      seen.push(conflict)
      return `${String(conflict.theirs)} + ${String(conflict.mine)}`
    }
    const { a, b, conflicts } = await offlineItemEdit(merge, { title: 'Mine' })
    await until(b.data, list => titleOf(list, 't2') === 'Theirs + Mine', 'B to see the merged title')
    expect(a.current).toEqual([todo('t1', 'one'), todo('t2', 'Theirs + Mine')])
    expect(seen).toEqual([expect.objectContaining({ id: 't2', resolution: 'merged' })])
    expect(conflicts).toEqual([
      {
        id: 't2',
        path: '.title',
        mine: 'Mine',
        theirs: 'Theirs',
        rev: expect.any(Number),
        resolution: 'merged',
      },
    ])
  })

  it('an offline edit of another item meets no conflict', async () => {
    const { url } = await server()
    const Todos = resource<Todo>({ name: 'todo', id: t => t.id, onConflict: 'keep-theirs' })
    const cut = switchableWebSocket()
    const a = storeOf<Todo[]>([todo('t1', 'one'), todo('t2', 'two')])
    const aSync = track(syncList(a, testSocket(url, cut.WebSocket), Todos))
    const conflicts: Conflict[] = []
    cleanups.push(aSync.conflicts.subscribe(conflict => conflicts.push(conflict)))
    await aSync.flush()
    const b = storeOf<Todo[]>([])
    const bSync = track(syncList(b, testSocket(url), Todos))
    await until(b.data, list => list.length === 2, 'B to hold both items')
    cut.offline()
    await until(aSync.status, s => s === 'offline', 'A offline')
    a.update(a.current.map(t => (t.id === 't1' ? { ...t, title: 'Mine' } : t)))
    b.update(b.current.map(t => (t.id === 't2' ? { ...t, title: 'Theirs' } : t)))
    await bSync.flush()
    cut.online()
    await aSync.flush()
    await until(b.data, list => titleOf(list, 't1') === 'Mine', 'B to see the edit of t1')
    expect(a.current).toEqual([todo('t1', 'Mine'), todo('t2', 'Theirs')])
    expect(conflicts).toEqual([])
  })
})
