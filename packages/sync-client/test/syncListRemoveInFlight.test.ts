import { storeOf } from '@lensync/store'
import { resource, syncList } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { syncFixtures, testSocket, until } from './helpers.ts'

type Message = { id: string; text: string }
const MessageResource = resource<Message>({ name: 'message', id: m => m.id })
const { track, server } = syncFixtures()

/** A `ws` WebSocket that calls `afterSend(frame)` right after each frame it sends. */
function hookedWebSocket(afterSend: (frame: string) => void) {
  class HookedWebSocket extends WebSocket {
    override send(data: unknown, ...rest: unknown[]): void {
      // biome-ignore lint/suspicious/noExplicitAny: forwarding ws's overloads
      ;(super.send as any)(data, ...rest)
      afterSend(String(data))
    }
  }
  return HookedWebSocket as unknown as typeof WebSocket
}

describe('syncList: removing an item whose creation is on its way', () => {
  it('reaches the server and every client, not only the local list', async () => {
    const { url } = await server()
    let removeNow = false
    const aStore = storeOf<Message[]>([])
    const a = track(
      syncList(
        aStore,
        testSocket(
          url,
          hookedWebSocket(frame => {
            // The put of m1 just left: remove it before any answer can arrive.
            if (removeNow && frame.includes('m1')) {
              removeNow = false
              aStore.update(aStore.current.filter(m => m.id !== 'm1'))
            }
          }),
        ),
        MessageResource,
      ),
    )
    const bStore = storeOf<Message[]>([])
    const b = track(syncList(bStore, testSocket(url), MessageResource))
    await Promise.all([a.flush(), b.flush()])

    removeNow = true
    aStore.update([
      { id: 'm1', text: 'short-lived' },
      { id: 'm2', text: 'stays' },
    ])
    expect(removeNow).toBe(true)
    await until(a.pending, n => n === 0, 'A to have everything acknowledged')
    await a.flush()
    expect(removeNow).toBe(false)
    expect(aStore.current).toEqual([{ id: 'm2', text: 'stays' }])

    await until(bStore.data, list => list.length === 1 && list[0]?.id === 'm2', 'B to show only m2')
    const lateStore = storeOf<Message[]>([])
    const late = track(syncList(lateStore, testSocket(url), MessageResource))
    await late.flush()
    expect(lateStore.current).toEqual([{ id: 'm2', text: 'stays' }])
  })
})
