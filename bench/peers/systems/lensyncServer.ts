// lensync: `createSyncServer` with entities in memory (the peers keep theirs in memory too) and
// no rate limits (the load generators exceed the defaults on purpose, and no peer has any).
import { createSyncServer, type SyncServer } from '@lensync/sync-server'
import type { SystemServer } from '../lib/system.ts'

let running: SyncServer | undefined

/** The lensync sync server. */
export const server: SystemServer = {
  async start() {
    running = await createSyncServer({
      port: 0,
      host: '127.0.0.1',
      memory: true,
      rateLimit: false,
      presenceRate: false,
      logger: { error: (...args: unknown[]) => console.error('[lensync server]', ...args) },
    })
    return { url: running.url }
  },
  async close() {
    await running?.close()
    running = undefined
  },
}
