import { storeOf } from '@lensync/store'
import {
  type Conflict,
  type EntitySyncHandle,
  type OnConflict,
  resource,
  syncWith,
  websocket,
} from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { fastReconnect, switchableWebSocket, syncFixtures, testSocket, until } from './helpers.ts'

type Person = { _id: string; name: string; age: number }
const person = (name = 'Ada', age = 36): Person => ({ _id: 'p1', name, age })

const { cleanups, track, server } = syncFixtures()

/**
 * A (cut off) edits `edit` of p1 offline while B, online, sets the name to
 * 'Grace'; then A comes back. Returns both stores and A's conflicts once A
 * is synced again.
 */
async function offlineEdit(
  onConflict: OnConflict | undefined,
  edit: Partial<Person>,
  watch: (sync: EntitySyncHandle) => void = () => {},
) {
  const { url } = await server()
  const Resource = resource<Person>({
    name: 'person',
    id: p => p._id,
    ...(onConflict ? { onConflict } : {}),
  })
  const cut = switchableWebSocket()
  const a = storeOf(person())
  const aSync = track(syncWith(a, testSocket(url, cut.WebSocket), Resource))
  const conflicts: Conflict[] = []
  cleanups.push(aSync.conflicts.subscribe(conflict => conflicts.push(conflict)))
  watch(aSync)
  await aSync.flush()
  const b = storeOf(person('x', 0))
  const bSync = track(syncWith(b, testSocket(url), Resource))
  await bSync.flush()

  cut.offline()
  await until(aSync.status, s => s === 'offline', 'A offline')
  a.update({ ...a.current, ...edit })
  b.update({ ...b.current, name: 'Grace' })
  await bSync.flush()

  cut.online()
  await aSync.flush()
  await bSync.flush()
  // Everything A or B wrote has reached the other.
  await until(b.data, value => value.name === a.current.name && value.age === a.current.age, 'B to equal A')
  return { a, b, aSync, conflicts }
}

describe('conflicts', () => {
  it("'overwrite' (default): an offline edit replaces the newer value and is reported", async () => {
    const { a, b, conflicts } = await offlineEdit(undefined, { name: 'Offline' })
    expect(a.current.name).toBe('Offline')
    expect(b.current.name).toBe('Offline')
    expect(conflicts).toEqual([
      {
        id: 'p1',
        path: '.name',
        mine: 'Offline',
        theirs: 'Grace',
        rev: expect.any(Number),
        resolution: 'mine',
      },
    ])
  })

  it("'keep-theirs': the offline edit is dropped and the store shows theirs", async () => {
    const { a, b, aSync, conflicts } = await offlineEdit('keep-theirs', { name: 'Offline' })
    expect(a.current.name).toBe('Grace')
    expect(b.current.name).toBe('Grace')
    expect(aSync.pending.value).toBe(0)
    expect(aSync.fieldStatus('.name').value).toBe('synced')
    expect(conflicts).toEqual([
      {
        id: 'p1',
        path: '.name',
        mine: 'Offline',
        theirs: 'Grace',
        rev: expect.any(Number),
        resolution: 'theirs',
      },
    ])
  })

  it("'keep-theirs' keeps the other fields of the same write", async () => {
    const { a, b, conflicts } = await offlineEdit('keep-theirs', { name: 'Offline', age: 40 })
    expect(a.current).toEqual(person('Grace', 40))
    expect(b.current).toEqual(person('Grace', 40))
    expect(conflicts.map(c => [c.path, c.resolution])).toEqual([['.name', 'theirs']])
  })

  it('a merge function writes its value on top of theirs', async () => {
    const seen: Conflict[] = []
    const merge = (conflict: Conflict) => {
      seen.push(conflict)
      return `${String(conflict.theirs)} & ${String(conflict.mine)}`
    }
    const { a, b, conflicts } = await offlineEdit(merge, { name: 'Offline' })
    await until(b.data, value => value.name === 'Grace & Offline', 'B to see the merged name')
    expect(a.current.name).toBe('Grace & Offline')
    expect(seen).toHaveLength(1)
    expect(conflicts).toEqual([
      {
        id: 'p1',
        path: '.name',
        mine: 'Offline',
        theirs: 'Grace',
        rev: expect.any(Number),
        resolution: 'merged',
      },
    ])
  })

  it('a merge function that throws keeps theirs and is reported', async () => {
    const errors: string[] = []
    const { a, aSync, conflicts } = await offlineEdit(
      () => {
        throw new Error('no merge')
      },
      { name: 'Offline' },
      sync => cleanups.push(sync.errors.subscribe(error => errors.push(error.code))),
    )
    expect(a.current.name).toBe('Grace')
    expect(aSync.pending.value).toBe(0)
    expect(conflicts.map(c => c.resolution)).toEqual(['theirs'])
    expect(errors).toEqual(['BAD_ARGUMENT'])
  })

  it('an offline edit of another field meets no conflict', async () => {
    const { a, b, conflicts } = await offlineEdit('keep-theirs', { age: 40 })
    expect(a.current).toEqual(person('Grace', 40))
    expect(b.current).toEqual(person('Grace', 40))
    expect(conflicts).toEqual([])
  })

  it('online edits one after the other meet no conflict', async () => {
    const { url } = await server()
    const Resource = resource<Person>({ name: 'person', id: p => p._id, onConflict: 'keep-theirs' })
    const a = storeOf(person())
    const aSync = track(syncWith(a, testSocket(url), Resource))
    const conflicts: Conflict[] = []
    cleanups.push(aSync.conflicts.subscribe(conflict => conflicts.push(conflict)))
    await aSync.flush()
    const b = storeOf(person('x', 0))
    const bSync = track(syncWith(b, testSocket(url), Resource))
    await bSync.flush()
    b.update({ ...b.current, name: 'Grace' })
    await until(a.data, value => value.name === 'Grace', 'A to see Grace')
    a.update({ ...a.current, name: 'Ada again' })
    await aSync.flush()
    await until(b.data, value => value.name === 'Ada again', 'B to see A')
    expect(conflicts).toEqual([])
  })

  it("carries by: the server's attribution of the other client's principal", async () => {
    const { url } = await server({
      authenticate: (_request, hello) => (hello.token ? { name: hello.token } : null),
      attribution: principal => (principal as { name: string }).name,
    })
    const Resource = resource<Person>({ name: 'person', id: p => p._id })
    const as = (token: string, WebSocketImpl: typeof WebSocket = WebSocket) =>
      websocket(url, { WebSocket: WebSocketImpl as never, reconnect: fastReconnect, token })
    const cut = switchableWebSocket()
    const a = storeOf(person())
    const aSync = track(syncWith(a, as('Ada', cut.WebSocket), Resource))
    const conflicts: Conflict[] = []
    cleanups.push(aSync.conflicts.subscribe(conflict => conflicts.push(conflict)))
    await aSync.flush()
    const b = storeOf(person('x', 0))
    const bSync = track(syncWith(b, as('Grace'), Resource))
    await bSync.flush()

    cut.offline()
    await until(aSync.status, s => s === 'offline', 'A offline')
    a.update({ ...a.current, name: 'Offline' })
    b.update({ ...b.current, name: 'Grace' })
    await bSync.flush()
    cut.online()
    await aSync.flush()
    expect(conflicts).toEqual([
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
  })

  it('rejects an unknown onConflict', () => {
    expect(() =>
      resource<Person>({ name: 'person', id: p => p._id, onConflict: 'mine' as never }),
    ).toThrowError(expect.objectContaining({ code: 'BAD_ARGUMENT' }))
  })
})
