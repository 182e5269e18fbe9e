import { join } from 'node:path'
import { storeOf } from '@lensync/store'
import { resource, syncList, syncWith } from '@lensync/sync-client'
import { createSyncServer } from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { quietLogger, switchableWebSocket, syncFixtures, tempDir, testSocket, until } from './helpers.ts'
import { startServer } from './sessionHelpers.ts'

type Message = { id: string; from: string; text: string }
const MessageResource = resource<Message>({ name: 'message', id: m => m.id })

const { cleanups, track, server } = syncFixtures()
function listClient(url: string, initial: Message[] = [], WebSocketImpl?: Parameters<typeof testSocket>[1]) {
  const store = storeOf<Message[]>(initial)
  const sync = track(syncList(store, testSocket(url, WebSocketImpl), MessageResource))
  return { store, sync }
}
const texts = (list: Message[]) => list.map(m => m.text)

describe('syncList', () => {
  it('add, edit and remove reach every client and a late joiner', async () => {
    const { url } = await server()
    const a = listClient(url)
    const b = listClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])

    a.store.update([...a.store.current, { id: 'm1', from: 'a', text: 'hello' }])
    await until(b.store.data, l => l.length === 1, 'B to get m1')
    b.store.update([...b.store.current, { id: 'm2', from: 'b', text: 'hi' }])
    await until(a.store.data, l => l.length === 2, 'A to get m2')
    expect(texts(a.store.current)).toEqual(['hello', 'hi'])

    a.store.update(a.store.current.map(m => (m.id === 'm2' ? { ...m, text: 'hi!' } : m)))
    await until(b.store.data, l => l.some(m => m.text === 'hi!'), 'B to get the edit')
    b.store.update(b.store.current.filter(m => m.id !== 'm1'))
    await until(a.store.data, l => l.length === 1, 'A to see m1 removed')
    expect(texts(a.store.current)).toEqual(['hi!'])
    await Promise.all([a.sync.flush(), b.sync.flush()])

    const late = listClient(url)
    await late.sync.flush()
    expect(late.store.current).toEqual([{ id: 'm2', from: 'b', text: 'hi!' }])
  })

  it('keeps the history in creation order for a client that joins later', async () => {
    const { url } = await server()
    const a = listClient(url)
    await a.sync.flush()
    for (let i = 0; i < 30; i++)
      a.store.update([...a.store.current, { id: `m${i}`, from: 'a', text: `#${i}` }])
    await a.sync.flush()
    const late = listClient(url)
    await late.sync.flush()
    expect(texts(late.store.current)).toEqual(Array.from({ length: 30 }, (_, i) => `#${i}`))
  })

  it('sends an item added while the server was down, after it restarts on the same data file', async () => {
    const tmp = tempDir()
    cleanups.push(tmp.remove)
    const dataFile = join(tmp.dir, 'lensync.db')
    const start = (port: number) =>
      createSyncServer({ port, host: '127.0.0.1', dataFile, pingPeriod: 0, logger: quietLogger })
    let srv = await start(0)
    cleanups.push(() => srv.close())
    const a = listClient(srv.url)
    const b = listClient(srv.url)
    await Promise.all([a.sync.flush(), b.sync.flush()])
    a.store.update([{ id: 'm1', from: 'a', text: 'online' }])
    await until(b.store.data, l => l.length === 1, 'B to get m1')

    await srv.close()
    await until(a.sync.status, s => s === 'offline', 'A offline')
    a.store.update([...a.store.current, { id: 'm2', from: 'a', text: 'added offline' }])
    expect(a.sync.pending.value).toBe(1)

    srv = await start(srv.port)
    await until(b.store.data, l => l.length === 2, 'B to get the item added offline')
    expect(texts(b.store.current)).toEqual(['online', 'added offline'])
    await until(a.sync.status, s => s === 'synced', 'A synced')
    await a.sync.flush()
    expect(texts(a.store.current)).toEqual(['online', 'added offline'])
    const late = listClient(srv.url)
    await late.sync.flush()
    expect(texts(late.store.current)).toEqual(['online', 'added offline'])
  })

  it('creates an item added offline only if its id is still free: an entity made meanwhile wins', async () => {
    const { url } = await server()
    const cut = switchableWebSocket()
    const a = listClient(url, [], cut.WebSocket)
    const b = listClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])

    cut.offline()
    await until(a.sync.status, s => s === 'offline', 'A offline')
    b.store.update([{ id: 'taken', from: 'b', text: 'made by B' }])
    await b.sync.flush()
    a.store.update([
      { id: 'taken', from: 'a', text: 'made by A offline' },
      { id: 'free', from: 'a', text: 'new from A' },
    ])
    expect(a.sync.pending.value).toBe(2)

    cut.online()
    console.log('DBG', JSON.stringify(b.store.current), b.store.current)
    await until(b.store.data, l => l.length === 2, 'B to get the free item')
    await a.sync.flush()
    expect(a.store.current).toEqual([
      { id: 'taken', from: 'b', text: 'made by B' },
      { id: 'free', from: 'a', text: 'new from A' },
    ])
    await b.sync.flush()
    expect(b.store.current).toEqual(a.store.current)
    const late = listClient(url)
    await late.sync.flush()
    expect(late.store.current).toEqual(a.store.current)
  })

  it('creates an item added offline whose id was made and deleted elsewhere meanwhile', async () => {
    const { url } = await server()
    const cut = switchableWebSocket()
    const a = listClient(url, [], cut.WebSocket)
    const b = listClient(url)
    await Promise.all([a.sync.flush(), b.sync.flush()])

    cut.offline()
    await until(a.sync.status, s => s === 'offline', 'A offline')
    b.store.update([{ id: 'x', from: 'b', text: 'short-lived' }])
    await b.sync.flush()
    b.store.update([])
    await b.sync.flush()
    a.store.update([{ id: 'x', from: 'a', text: 'added offline' }])

    cut.online()
    await until(b.store.data, l => l.length === 1, "B to get A's item")
    await a.sync.flush()
    expect(a.store.current).toEqual([{ id: 'x', from: 'a', text: 'added offline' }])
    expect(b.store.current).toEqual(a.store.current)
  })

  it('sends nothing for an item added and removed again while offline', async () => {
    const { url } = await server()
    const cut = switchableWebSocket()
    const a = listClient(url, [], cut.WebSocket)
    await a.sync.flush()

    cut.offline()
    await until(a.sync.status, s => s === 'offline', 'A offline')
    a.store.update([{ id: 'brief', from: 'a', text: 'gone soon' }])
    a.store.update([])
    expect(a.sync.pending.value).toBe(0)

    cut.online()
    await a.sync.flush()
    const late = listClient(url)
    await late.sync.flush()
    expect(late.store.current).toEqual([])
    expect(a.store.current).toEqual([])
  })

  it('sends an item removed and added again offline as its new value, even when it changed remotely meanwhile', async () => {
    const { url } = await server()
    const cut = switchableWebSocket()
    const a = listClient(url, [{ id: 'x', from: 'a', text: 'first' }], cut.WebSocket)
    await a.sync.flush()
    const b = listClient(url)
    await b.sync.flush()

    cut.offline()
    await until(a.sync.status, s => s === 'offline', 'A offline')
    b.store.update([{ id: 'x', from: 'a', text: 'edited by B' }])
    await b.sync.flush()
    a.store.update([])
    a.store.update([{ id: 'x', from: 'a', text: 'replaced by A' }])

    cut.online()
    await until(b.store.data, l => l[0]?.text === 'replaced by A', "B to get A's replacement")
    await a.sync.flush()
    expect(a.store.current).toEqual([{ id: 'x', from: 'a', text: 'replaced by A' }])
    expect(b.store.current).toEqual(a.store.current)
  })

  it('shares one WebSocket between every sync made over one socket', async () => {
    const { url } = await server()
    let opened = 0
    class CountingOpen extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args)
        opened++
      }
    }
    const socket = testSocket(url, CountingOpen as unknown as typeof WebSocket)
    const list = storeOf<Message[]>([])
    const one = storeOf<Message>({ id: 'x', from: 'a', text: 'x' })
    const s1 = track(syncList(list, socket, MessageResource))
    const s2 = track(syncWith(one, socket, MessageResource))
    await Promise.all([s1.flush(), s2.flush()])
    expect(opened).toBe(1)
    await until(
      list.data,
      l => l.some(m => m.id === 'x'),
      'the list to contain the entity synced by syncWith',
    )
  })

  it('applies a change that arrives between snapshot pages on top of the snapshot', async () => {
    // A server whose snapshot is read while a write commits (async storage,
    // several pages) sends the change before the page that holds the older value.
    const encoded = (value: unknown) => ({ json: value })
    const script = await startServer(ws => {
      ws.on('message', data => {
        const parsed = JSON.parse(String(data)) as { t: string } | { t: string }[]
        for (const msg of Array.isArray(parsed) ? parsed : [parsed]) {
          if (msg.t === 'hello') ws.send(JSON.stringify({ t: 'welcome', v: 1, client: 'c', node: 'n' }))
          if (msg.t !== 'sub') continue
          const m1 = { id: 'm1', from: 'a', text: 'one' }
          const m2 = { id: 'm2', from: 'b', text: 'two' }
          ws.send(
            JSON.stringify([
              {
                t: 'snap',
                r: 'message',
                rev: 2,
                items: [{ id: 'm1', rev: 1, value: encoded(m1) }],
                gone: [],
                more: true,
              },
              { t: 'change', r: 'message', id: 'm1', rev: 3, set: [[['text'], encoded('ONE')]] },
              {
                t: 'snap',
                r: 'message',
                rev: 2,
                items: [{ id: 'm2', rev: 2, value: encoded(m2) }],
                gone: [],
              },
            ]),
          )
        }
      })
    })
    try {
      const c = listClient(script.url)
      await until(c.store.data, l => l.length === 2, 'both items')
      expect(c.store.current).toEqual([
        { id: 'm1', from: 'a', text: 'ONE' },
        { id: 'm2', from: 'b', text: 'two' },
      ])
      expect(c.sync.status.peek()).toBe('synced')
    } finally {
      await script.close()
    }
  })
})
