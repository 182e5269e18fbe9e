// Yjs + Hocuspocus: each client a Y.Doc with a `HocuspocusProvider` on its own
// `HocuspocusProviderWebsocket`. Quiet readers have no awareness (`awareness: null`) and, as
// they then receive nothing while idle, a long `messageReconnectTimeout`.
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import { WebSocket } from 'ws'
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

interface Connected {
  readonly doc: Y.Doc
  readonly provider: HocuspocusProvider
  destroy(): void
}

async function connect(url: string, name: string, quiet: boolean): Promise<Connected> {
  const doc = new Y.Doc()
  const socket = new HocuspocusProviderWebsocket({
    url,
    WebSocketPolyfill: WebSocket,
    ...(quiet ? { messageReconnectTimeout: 3_600_000 } : {}),
  })
  const provider = new HocuspocusProvider({
    websocketProvider: socket,
    name,
    document: doc,
    ...(quiet ? { awareness: null } : {}),
  })
  const synced = new Promise<void>(resolve => provider.on('synced', () => resolve()))
  provider.attach()
  await synced
  return {
    doc,
    provider,
    destroy() {
      provider.destroy()
      socket.destroy()
    },
  }
}

/** Resolves once the server acknowledged every update sent so far. */
function settled(provider: HocuspocusProvider): Promise<void> {
  if (!provider.hasUnsyncedChanges) return Promise.resolve()
  return new Promise(resolve => {
    const check = () => {
      if (provider.hasUnsyncedChanges) return
      provider.off('unsyncedChanges', check)
      resolve()
    }
    provider.on('unsyncedChanges', check)
  })
}

/** Hocuspocus's client. */
export const client: SystemClient = {
  async createRecord(url, name) {
    const c = await connect(url, name, false)
    fillRecord(c.doc, name)
    return { ref: name, client: yRecordClient(c.doc, () => settled(c.provider), c.destroy) }
  },
  async openRecord(url, ref, { quiet }) {
    const c = await connect(url, ref, quiet)
    await whenDoc(c.doc, () => recordOf(c.doc).size === 20, 'the record')
    return yRecordClient(c.doc, () => settled(c.provider), c.destroy)
  },
  async seedRecords(url, name, count) {
    const c = await connect(url, name, true)
    fillCollection(c.doc, name, count)
    await settled(c.provider)
    return {
      ref: name,
      async close() {
        c.destroy()
        c.doc.destroy()
      },
    }
  },
  async joinRecords(url, ref, count) {
    const c = await connect(url, ref, true)
    await whenDoc(c.doc, () => collectionOf(c.doc).size === count, 'the collection')
    return async () => {
      c.destroy()
      c.doc.destroy()
    }
  },
  presence: {
    createRoom: async (_url, name) => name,
    async join(url, ref, index) {
      const c = await connect(url, ref, false)
      const awareness = c.provider.awareness
      if (!awareness) throw new Error('hocuspocus: no awareness')
      return awarenessMember(awareness, index, c.destroy)
    },
  },
}
