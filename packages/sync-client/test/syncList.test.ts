import { storeOf } from '@lensync/store'
import { resource, syncList, syncWith } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { syncFixtures, testSocket, until } from './helpers.ts'
import { startServer } from './sessionHelpers.ts'

type Message = { id: string; from: string; text: string }
const MessageResource = resource<Message>({ name: 'message', id: m => m.id })

const { track, server } = syncFixtures()
function listClient(url: string, initial: Message[] = []) {
  const store = storeOf<Message[]>(initial)
  const sync = track(syncList(store, testSocket(url), MessageResource))
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
