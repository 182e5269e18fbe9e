import { storeOf } from '@lensync/store'
import { resource, syncList } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { syncFixtures, testSocket, until } from './helpers.ts'
import { startServer } from './sessionHelpers.ts'

// A server that compacted its tombstones cannot answer an old `since` with
// what changed: it sends the whole collection, marked `full`. The client must
// then treat an item it holds that is in no page as deleted — an incremental
// snapshot would have listed it in `gone`, this one cannot.

type Todo = { id: string; text: string }
const TodoResource = resource<Todo>({ name: 'todo', id: t => t.id })
type Envelope = { t: string } & Record<string, unknown>

const { cleanups, track } = syncFixtures()

function envelopesOf(data: unknown): Envelope[] {
  const parsed = JSON.parse(String(data)) as Envelope | Envelope[]
  return Array.isArray(parsed) ? parsed : [parsed]
}

const item = (id: string, rev: number) => ({ id, rev, value: { json: { id, text: id } } })

describe('syncList and a full snapshot', () => {
  it('drops an item the full answer to an old since no longer has', async () => {
    const subs: Envelope[] = []
    let first: WebSocket | undefined
    const script = await startServer(ws => {
      ws.on('message', data => {
        for (const msg of envelopesOf(data)) {
          if (msg.t === 'hello') ws.send(JSON.stringify({ t: 'welcome', v: 1, client: 'c', node: 'n' }))
          if (msg.t !== 'sub') continue
          subs.push(msg)
          if (msg.since === undefined) {
            first = ws
            ws.send(
              JSON.stringify({ t: 'snap', r: 'todo', rev: 5, items: [item('a', 1), item('b', 2)], gone: [] }),
            )
          } else {
            // b was deleted and its tombstone compacted: it is simply not there.
            ws.send(
              JSON.stringify({ t: 'snap', r: 'todo', rev: 9, items: [item('a', 1)], gone: [], full: true }),
            )
          }
        }
      })
    })
    cleanups.push(() => script.close())
    const todos = storeOf<Todo[]>([])
    const sync = track(syncList(todos, testSocket(script.url), TodoResource))
    await until(todos.data, list => list.length === 2, 'the first snapshot')
    first?.close(1012, 'Service restart')
    await until(todos.data, list => list.length === 1, 'the full snapshot after the reconnect')
    expect(subs.map(sub => sub.since)).toEqual([undefined, 5])
    expect(todos.current).toEqual([{ id: 'a', text: 'a' }])
    await sync.flush()
  })
})
