import { storeOf } from '@lensync/store'
import { resource, syncList, syncWith } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { syncFixtures, testSocket, until } from './helpers.ts'
import { startServer } from './sessionHelpers.ts'

// A patch refused with NOT_FOUND changes what is pending: after a remote
// delete the patch is dropped (the delete wins), otherwise its edits become
// a create-only put. Either way `pending` and `flush()` must follow. The
// soak test found a sync whose `pending` stayed at 1 forever (and whose
// `flush()` never settled) when the `gone` overtook the patch's answer.

type Doc = { id: string; title: string; n: number }
const DocResource = resource<Doc>({ name: 'doc', id: d => d.id })
type Envelope = { t: string } & Record<string, unknown>

const { cleanups, track } = syncFixtures()

function envelopesOf(data: unknown): Envelope[] {
  const parsed = JSON.parse(String(data)) as Envelope | Envelope[]
  return Array.isArray(parsed) ? parsed : [parsed]
}

/**
 * A v1 server holding doc d1 at rev 1. It answers a patch with `onPatch`
 * (the test decides), and a put with an ack; the envelopes received are kept.
 */
async function scriptedServer(onPatch: (ws: WebSocket, patch: Envelope) => void) {
  const received: Envelope[] = []
  let rev = 10
  const script = await startServer(ws => {
    ws.on('message', data => {
      for (const msg of envelopesOf(data)) {
        received.push(msg)
        if (msg.t === 'hello') ws.send(JSON.stringify({ t: 'welcome', v: 1, client: 'c', node: 'n' }))
        if (msg.t === 'sub') {
          const value = { json: { id: 'd1', title: 'server', n: 1 } }
          ws.send(
            JSON.stringify(
              msg.id === undefined
                ? { t: 'snap', r: 'doc', rev: 1, items: [{ id: 'd1', rev: 1, value }], gone: [] }
                : { t: 'snap', r: 'doc', id: 'd1', rev: 1, value },
            ),
          )
        }
        if (msg.t === 'patch') onPatch(ws, msg)
        if (msg.t === 'put') ws.send(JSON.stringify({ t: 'ack', op: msg.op, rev: ++rev }))
      }
    })
  })
  cleanups.push(() => script.close())
  return { url: script.url, received }
}

/** The remote delete first, then the patch's refusal: the order the soak test caught. */
function goneThenNotFound(ws: WebSocket, patch: Envelope): void {
  ws.send(JSON.stringify({ t: 'gone', r: 'doc', id: 'd1', rev: 5 }))
  ws.send(JSON.stringify({ t: 'reject', op: patch.op, code: 'NOT_FOUND', message: 'doc/d1 does not exist' }))
}

describe('a patch refused with NOT_FOUND', () => {
  it('syncWith: after a remote delete overtook it, nothing is pending and flush() settles', async () => {
    const srv = await scriptedServer(goneThenNotFound)
    const store = storeOf<Doc>({ id: 'd1', title: 'local', n: 0 })
    const sync = track(syncWith(store, testSocket(srv.url), DocResource))
    await sync.flush()
    store.update({ ...store.current, n: 2 })
    await until(sync.pending, n => n === 0, 'pending back to 0')
    await sync.flush()
    expect(sync.status.value).toBe('synced')
    // The delete won: the patch is not sent again as a create, the store keeps what it showed.
    expect(srv.received.filter(m => m.t === 'put')).toEqual([])
    expect(store.current).toEqual({ id: 'd1', title: 'server', n: 2 })
  })

  it('syncWith: without a delete seen, the edits go again as a create, and pending follows', async () => {
    const srv = await scriptedServer((ws, patch) =>
      ws.send(JSON.stringify({ t: 'reject', op: patch.op, code: 'NOT_FOUND', message: 'gone' })),
    )
    const store = storeOf<Doc>({ id: 'd1', title: 'local', n: 0 })
    const sync = track(syncWith(store, testSocket(srv.url), DocResource))
    await sync.flush()
    store.update({ ...store.current, n: 3 })
    await sync.flush()
    expect(sync.pending.value).toBe(0)
    const puts = srv.received.filter(m => m.t === 'put')
    expect(puts).toHaveLength(1)
    expect(puts[0]).toMatchObject({ create: true, value: { json: { id: 'd1', title: 'server', n: 3 } } })
  })

  it('syncList: after a remote delete overtook it, nothing is pending and flush() settles', async () => {
    const srv = await scriptedServer(goneThenNotFound)
    const store = storeOf<Doc[]>([])
    const sync = track(syncList(store, testSocket(srv.url), DocResource))
    await sync.flush()
    expect(store.current).toEqual([{ id: 'd1', title: 'server', n: 1 }])
    store.update([{ id: 'd1', title: 'server', n: 4 }])
    await until(sync.pending, n => n === 0, 'pending back to 0')
    await sync.flush()
    expect(sync.status.value).toBe('synced')
    expect(srv.received.filter(m => m.t === 'put')).toEqual([])
  })
})
