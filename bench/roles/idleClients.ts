// Role: P6's idle connections. lensync: real `syncWith` clients, each on its own socket,
// subscribed to one shared entity and synced, then left alone. Raw: plain `ws` connections.
import { storeOf } from '@lensync/store'
import { resource, type Sync, syncWith, websocket } from '@lensync/sync-client'
import { WebSocket } from 'ws'
import { type Task, task } from '../lib/fixtures.ts'
import { openMany } from '../lib/openMany.ts'

const TaskResource = resource<Task>({ name: 'task', id: t => t._id })

let syncs: Sync[] = []
let sockets: WebSocket[] = []

function openRaw(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url)
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })
}

export const methods = {
  /** Opens `count` connections and waits until every one is open (lensync: synced). */
  async open(side: 'lensync' | 'raw', url: string, count: number): Promise<void> {
    if (side === 'raw') {
      sockets.push(...(await openMany(count, () => openRaw(url))))
      return
    }
    const opened = await openMany(count, async () => {
      const sync = syncWith(storeOf(task('p6-shared')), websocket(url, { WebSocket }), TaskResource)
      await sync.flush()
      return sync
    })
    syncs.push(...opened)
  },

  /** Closes every connection. */
  closeAll(): void {
    for (const sync of syncs) sync.stop()
    for (const socket of sockets) socket.terminate()
    syncs = []
    sockets = []
  },
}
