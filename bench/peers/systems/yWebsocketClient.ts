// Yjs + y-websocket: each client a Y.Doc with a `WebsocketProvider` (its own connection;
// BroadcastChannel off, else clients in one process would sync past the server).

import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import type { SystemClient } from '../lib/system.ts'
import {
  awarenessMember,
  collectionOf,
  fillCollection,
  fillRecord,
  recordOf,
  whenDoc,
  yRecordClient,
} from './yjsShared.ts'

async function connect(
  url: string,
  room: string,
  quiet: boolean,
): Promise<{ doc: Y.Doc; provider: WebsocketProvider }> {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket as never,
    connect: false,
    disableBc: true,
  })
  if (quiet) provider.awareness.setLocalState(null)
  const synced = new Promise<void>(resolve => {
    const onSync = (state: boolean) => {
      if (!state) return
      provider.off('sync', onSync)
      resolve()
    }
    provider.on('sync', onSync)
  })
  provider.connect()
  await synced
  return { doc, provider }
}

/** y-websocket's client. */
export const client: SystemClient = {
  async createRecord(url, name) {
    const { doc, provider } = await connect(url, name, false)
    fillRecord(doc, name)
    return {
      ref: name,
      client: yRecordClient(
        doc,
        () => Promise.resolve(),
        () => provider.destroy(),
      ),
    }
  },
  async openRecord(url, ref, { quiet }) {
    const { doc, provider } = await connect(url, ref, quiet)
    await whenDoc(doc, () => recordOf(doc).size === 20, 'the record')
    return yRecordClient(
      doc,
      () => Promise.resolve(),
      () => provider.destroy(),
    )
  },
  async seedRecords(url, name, count) {
    const { doc, provider } = await connect(url, name, true)
    fillCollection(doc, name, count)
    return {
      ref: name,
      async close() {
        provider.destroy()
        doc.destroy()
      },
    }
  },
  async joinRecords(url, ref, count) {
    const { doc, provider } = await connect(url, ref, true)
    await whenDoc(doc, () => collectionOf(doc).size === count, 'the collection')
    return async () => {
      provider.destroy()
      doc.destroy()
    }
  },
  presence: {
    createRoom: async (_url, name) => name,
    async join(url, ref, index) {
      const { doc, provider } = await connect(url, ref, false)
      return awarenessMember(provider.awareness, index, () => {
        provider.destroy()
        doc.destroy()
      })
    },
  },
}
