import { storeOf } from '@lensync/store'
import { resource, type Sync, syncWith, websocket } from '@lensync/sync-client'
import { afterEach } from 'vitest'
import { WebSocket } from 'ws'
import { processFixtures } from '../../../sync-server/test/support/processFixtures.ts'

/** The entity the kill -9 tests' store clients edit: two fields, one per client. */
export type Note = { _id: string; a: number; b: number }
const NoteResource = resource<Note>({ name: 'note', id: n => n._id })

/**
 * Per-test fixtures for tests that kill server processes: child processes
 * and raw protocol clients (see `processFixtures`) and `syncWith` clients,
 * all stopped after each test (children with SIGKILL).
 */
export function killFixtures() {
  const syncs: Sync[] = []
  // Registered first, so it runs last: the syncs stop before their server is killed.
  const processes = processFixtures()
  afterEach(() => {
    for (const sync of syncs.splice(0)) sync.stop()
  })
  return {
    ...processes,
    /** A `syncWith` client of the shared note over `urls`, with fast reconnects. */
    noteClient(urls: string | string[]) {
      const socket = websocket(urls, {
        WebSocket: WebSocket as never,
        reconnect: { minDelay: 10, maxDelay: 100 },
      })
      const store = storeOf<Note>({ _id: 'shared', a: 0, b: 0 })
      const sync = syncWith(store, socket, NoteResource)
      syncs.push(sync)
      return { store, sync }
    },
    /** Stops every `syncWith` client now. */
    stopSyncs: () => {
      for (const sync of syncs.splice(0)) sync.stop()
    },
  }
}
