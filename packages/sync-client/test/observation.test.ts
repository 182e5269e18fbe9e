import { createFrameDecoder, ProtocolError } from '@lensync/protocol'
import { lenses, storeOf } from '@lensync/store'
import {
  type Frame,
  inspectRoom,
  inspectSync,
  presence,
  resource,
  syncList,
  syncWith,
} from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import { switchableWebSocket, syncFixtures, testSocket, until } from './helpers.ts'

type Person = { _id: string; name: string; address: { city: string } }
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
const L = lenses<Person>()
const { track, server, cleanups } = syncFixtures()

/** The messages of the observed text frames of one direction, read with the protocol's frame decoder. */
function envelopes(frames: readonly Frame[], direction: 'in' | 'out'): Array<Record<string, unknown>> {
  const decoder = createFrameDecoder()
  const out: Array<Record<string, unknown>> = []
  for (const frame of frames) {
    if (frame.text === undefined) continue
    if (frame.direction === 'out') {
      const messages = decoder.client(frame.text)
      if (frame.direction === direction && Array.isArray(messages))
        for (const m of messages)
          if (!(m instanceof ProtocolError)) out.push(m as unknown as Record<string, unknown>)
    } else {
      const messages = decoder.server(frame.text)
      if (frame.direction === direction && Array.isArray(messages))
        for (const m of messages) if (m.ok) out.push(m.message as unknown as Record<string, unknown>)
    }
  }
  return out
}

describe('socket.frames', () => {
  it('delivers every frame of the shared connection, both directions, until disposed', async () => {
    const { url } = await server()
    const socket = testSocket(url)
    const frames: Frame[] = []
    const stop = socket.frames(frame => frames.push(frame))
    const store = storeOf<Person>({ _id: 'o1', name: 'Ada', address: { city: 'Bern' } })
    const sync = track(syncWith(store, socket, PersonResource))
    await sync.flush()

    store.map(L.name).update('Grace')
    await sync.flush()
    const out = envelopes(frames, 'out')
    const incoming = envelopes(frames, 'in')
    expect(out.map(m => m.t)).toEqual(expect.arrayContaining(['hello', 'sub', 'patch']))
    const patch = out.find(m => m.t === 'patch')
    expect(incoming.some(m => m.t === 'ack' && m.op === patch?.op)).toBe(true)
    for (const frame of frames) {
      expect(frame.size).toBe(new TextEncoder().encode(frame.text).byteLength)
      expect(frame.time).toBeGreaterThan(0)
    }

    stop()
    const seen = frames.length
    store.map(L.name).update('Linus')
    await sync.flush()
    expect(frames.length).toBe(seen)
  })

  it('counts a frame in UTF-8 bytes', async () => {
    const { url } = await server()
    const socket = testSocket(url)
    const frames: Frame[] = []
    cleanups.push(socket.frames(frame => frames.push(frame)))
    const store = storeOf<Person>({ _id: 'o2', name: 'Zoë 🙂', address: { city: 'Zürich' } })
    await track(syncWith(store, socket, PersonResource)).flush()
    const put = frames.find(frame => frame.direction === 'out' && frame.text?.includes('Zürich'))
    expect(put?.size).toBe(new TextEncoder().encode(put?.text).byteLength)
    expect(put?.size).toBeGreaterThan(put?.text?.length ?? 0)
  })

  it('an observer that throws does not stop the sync', async () => {
    const { url } = await server()
    const socket = testSocket(url)
    const errors: unknown[] = []
    const onError = (error: unknown) => errors.push(error)
    process.on('uncaughtException', onError)
    cleanups.push(() => process.off('uncaughtException', onError))
    cleanups.push(
      socket.frames(() => {
        throw new Error('observer bug')
      }),
    )
    const store = storeOf<Person>({ _id: 'o3', name: 'Ada', address: { city: 'Bern' } })
    const sync = track(syncWith(store, socket, PersonResource))
    await sync.flush()
    store.map(L.name).update('Grace')
    await sync.flush()
    expect(sync.status.value).toBe('synced')
    expect(errors.length).toBeGreaterThan(0)
  })
})

describe('socket.connectionInfo', () => {
  it('goes idle → ready → offline (counting attempts) → ready → idle', async () => {
    const { url } = await server()
    const net = switchableWebSocket()
    const socket = testSocket(url, net.WebSocket)
    expect(socket.connectionInfo.value).toMatchObject({ state: 'idle', attempts: 0, opens: 0 })
    const store = storeOf<Person>({ _id: 'o4', name: 'Ada', address: { city: 'Bern' } })
    const sync = syncWith(store, socket, PersonResource)
    await sync.flush()
    expect(socket.connectionInfo.value).toMatchObject({ state: 'ready', url, attempts: 0, opens: 1 })

    net.offline()
    await until(socket.connectionInfo, info => info.state === 'offline' && info.attempts >= 2, 'two attempts')
    net.online()
    await until(socket.connectionInfo, info => info.state === 'ready', 'ready again')
    expect(socket.connectionInfo.value).toMatchObject({ attempts: 0, opens: 2 })

    sync.stop()
    await until(socket.connectionInfo, info => info.state === 'idle', 'idle')
  })
})

describe('inspectSync', () => {
  it('shows resource, id, revision, outbox and per-field status of a syncWith', async () => {
    const { url } = await server()
    const store = storeOf<Person>({ _id: 'o5', name: 'Ada', address: { city: 'Bern' } })
    const sync = track(syncWith(store, testSocket(url), PersonResource))
    await sync.flush()
    const before = inspectSync(sync)
    expect(before).toMatchObject({
      kind: 'entity',
      resource: 'person',
      id: 'o5',
      status: 'synced',
      source: 'server',
      pending: 0,
    })
    expect(before?.revision).toBeGreaterThan(0)

    store.map(L.address.city).update('Basel')
    const editing = inspectSync(sync)
    expect(editing?.pending).toBe(1)
    const entity = editing?.entities[0]
    expect(entity?.value).toEqual({ _id: 'o5', name: 'Ada', address: { city: 'Basel' } })
    expect(entity?.fieldStatus(['address', 'city'])).toBe('pending')
    expect(entity?.fieldStatus(['name'])).toBe('synced')

    await sync.flush()
    const after = inspectSync(sync)
    expect(after?.entities[0]?.fieldStatus(['address', 'city'])).toBe('synced')
    expect(after?.revision).toBeGreaterThan(before?.revision ?? 0)
  })

  it('lists every item of a syncList', async () => {
    const { url } = await server()
    const list = storeOf<Person[]>([
      { _id: 'l1', name: 'Ada', address: { city: 'Bern' } },
      { _id: 'l2', name: 'Grace', address: { city: 'Basel' } },
    ])
    const sync = track(syncList(list, testSocket(url), PersonResource))
    await sync.flush()
    const look = inspectSync(sync)
    expect(look).toMatchObject({ kind: 'list', resource: 'person', id: undefined })
    expect(look?.entities.map(e => e.id)).toEqual(['l1', 'l2'])
  })

  it('returns undefined for something that is not a sync of this package', () => {
    expect(inspectSync({} as never)).toBeUndefined()
    expect(inspectRoom({} as never)).toBeUndefined()
  })
})

describe('inspectRoom', () => {
  it('shows the room, its phase, my state and the others', async () => {
    const { url } = await server()
    const a = presence(testSocket(url), 'room-1', { name: 'Ada' })
    const b = presence(testSocket(url), 'room-1', { name: 'Grace' })
    cleanups.push(
      () => a.stop(),
      () => b.stop(),
    )
    await until(a.others, others => others.length === 1, 'a sees b')
    expect(inspectRoom(a)).toMatchObject({
      room: 'room-1',
      phase: 'joined',
      self: { name: 'Ada' },
      others: [{ state: { name: 'Grace' } }],
    })
  })
})
