// lensync: every client is a store kept in sync with `syncWith` (one entity) or `syncList` (a
// collection) over its own `websocket()`; presence with `presence()`. Public APIs only.
import { storeOf } from '@lensync/store'
import { presence, resource, syncList, syncWith, websocket } from '@lensync/sync-client'
import { WebSocket } from 'ws'
import { type WideEntity, wideEntity } from '../../lib/fixtures.ts'
import { presenceState, type RecordClient, type SystemClient } from '../lib/system.ts'

const Record = resource<WideEntity>({ name: 'record', id: record => record._id })
const Collection = resource<WideEntity>({ name: 'collection', id: record => record._id })
const socket = (url: string) => websocket(url, { WebSocket })

async function recordClient(url: string, id: string): Promise<RecordClient> {
  const store = storeOf(wideEntity(id))
  const sync = syncWith(store, socket(url), Record)
  await sync.flush()
  return {
    edit(field, value) {
      store.update({ ...store.current, [field]: value })
    },
    read: field => store.current[field as keyof WideEntity],
    onChange(listener) {
      let first = true
      return store.data.subscribe(() => {
        // `subscribe` calls at once with the current value: not a change.
        if (first) first = false
        else listener()
      })
    },
    settled: () => sync.flush(),
    async close() {
      sync.stop()
    },
  }
}

/** lensync's client. */
export const client: SystemClient = {
  async createRecord(url, name) {
    return { ref: name, client: await recordClient(url, name) }
  },
  openRecord: (url, ref) => recordClient(url, ref),
  async seedRecords(url, name, count) {
    const items = Array.from({ length: count }, (_, i) => wideEntity(`${name}-${i}`))
    const sync = syncList(storeOf(items), socket(url), Collection)
    await sync.flush()
    return {
      ref: name,
      close: async () => sync.stop(),
    }
  },
  async joinRecords(url, _ref, count) {
    const store = storeOf<WideEntity[]>([])
    const sync = syncList(store, socket(url), Collection)
    await sync.flush()
    if (store.current.length !== count)
      throw new Error(`lensync: late joiner got ${store.current.length} of ${count} records`)
    return async () => sync.stop()
  },
  presence: {
    createRoom: async (_url, name) => name,
    async join(url, ref, index) {
      // throttle 0: every update is sent (the default 50 ms would merge a member's updates).
      const room = presence(socket(url), ref, presenceState(index, -1), { throttle: 0 })
      return {
        move: cursor => room.self.update(presenceState(index, cursor)),
        onPeer(listener) {
          const seen = new Map<string, number>()
          return room.others.subscribe(others => {
            for (const peer of others) {
              if (seen.get(peer.client) === peer.state.cursor) continue
              seen.set(peer.client, peer.state.cursor)
              listener(peer.client, peer.state.cursor)
            }
          })
        },
        close: async () => room.stop(),
      }
    },
  },
}
