import type { ChildProcess } from 'node:child_process'
import { storeOf } from '@lensync/store'
import { resource, type Sync, syncWith, websocket } from '@lensync/sync-client'
import { afterEach } from 'vitest'
import { WebSocket } from 'ws'
import { ProtocolClient } from './protocolClient.ts'

/** The entity the kill -9 tests' store clients edit: two fields, one per client. */
export type Note = { _id: string; a: number; b: number }
const NoteResource = resource<Note>({ name: 'note', id: n => n._id })

/**
 * Per-test fixtures for tests that kill server processes: child processes,
 * raw protocol clients and `syncWith` clients, all stopped after each test
 * (children with SIGKILL).
 */
export function killFixtures() {
  const children: ChildProcess[] = []
  const raws: ProtocolClient[] = []
  const syncs: Sync[] = []
  afterEach(async () => {
    for (const sync of syncs.splice(0)) sync.stop()
    await Promise.all(raws.splice(0).map(c => c.terminate()))
    await Promise.all(
      children.splice(0).map(child => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined
        const exited = new Promise(resolve => child.once('exit', resolve))
        child.kill('SIGKILL')
        return exited
      }),
    )
  })
  return {
    /** Hand to `startChildServer` so the child is killed after the test. */
    track: (child: ChildProcess) => void children.push(child),
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
    /** A raw protocol client, terminated after the test. */
    async openRaw(url: string, name: string): Promise<ProtocolClient> {
      const client = await ProtocolClient.open(url, name)
      raws.push(client)
      return client
    },
    /** Stops every `syncWith` client now. */
    stopSyncs: () => {
      for (const sync of syncs.splice(0)) sync.stop()
    },
  }
}
