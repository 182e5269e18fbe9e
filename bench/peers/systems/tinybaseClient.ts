// TinyBase: each client a MergeableStore with a `createWsSynchronizer` on its own socket
// (`ws://…/<path>`). The record is one row of 20 cells; the collection a table of rows.
// TinyBase has no presence.
import { createMergeableStore, type MergeableStore } from 'tinybase'
import { createWsSynchronizer } from 'tinybase/synchronizers/synchronizer-ws-client'
import { WebSocket } from 'ws'
import { wideEntity } from '../../lib/fixtures.ts'
import type { RecordClient, SystemClient } from '../lib/system.ts'
import { REQUEST_TIMEOUT_S } from './tinybaseShared.ts'

const TABLE = 'record'
const ROW = 'r'
const COLLECTION = 'collection'

function when(store: MergeableStore, test: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  if (test()) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      store.delListener(id)
      reject(new Error(`timed out waiting for ${what}`))
    }, timeoutMs)
    const id = store.addDidFinishTransactionListener(() => {
      if (!test()) return
      clearTimeout(timer)
      store.delListener(id)
      resolve()
    })
  })
}

async function connect(url: string, path: string, store: MergeableStore) {
  const synchronizer = await createWsSynchronizer(store, new WebSocket(`${url}/${path}`), REQUEST_TIMEOUT_S)
  await synchronizer.startSync()
  return synchronizer
}

async function recordClient(url: string, path: string, create: boolean): Promise<RecordClient> {
  const store = createMergeableStore()
  if (create) store.setRow(TABLE, ROW, wideEntity(path))
  const synchronizer = await connect(url, path, store)
  await when(store, () => store.getCellIds(TABLE, ROW).length === 20, 'the record')
  return {
    edit: (field, value) => store.setCell(TABLE, ROW, field, value),
    read: field => store.getCell(TABLE, ROW, field),
    onChange(listener) {
      const id = store.addCellListener(TABLE, ROW, null, () => listener())
      return () => store.delListener(id)
    },
    settled: () => Promise.resolve(),
    async close() {
      synchronizer.destroy()
    },
  }
}

/** TinyBase's client. */
export const client: SystemClient = {
  async createRecord(url, name) {
    return { ref: name, client: await recordClient(url, name, true) }
  },
  openRecord: (url, ref) => recordClient(url, ref, false),
  async seedRecords(url, name, count) {
    const store = createMergeableStore()
    store.transaction(() => {
      for (let i = 0; i < count; i++) store.setRow(COLLECTION, `${name}-${i}`, wideEntity(`${name}-${i}`))
    })
    const synchronizer = await connect(url, name, store)
    return {
      ref: name,
      async close() {
        synchronizer.destroy()
      },
    }
  },
  async joinRecords(url, ref, count) {
    const store = createMergeableStore()
    const synchronizer = await connect(url, ref, store)
    await when(store, () => store.getRowCount(COLLECTION) === count, 'the collection')
    return async () => {
      synchronizer.destroy()
    }
  },
}
