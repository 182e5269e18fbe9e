// Role: the lensync sync server (createSyncServer), the subject of P1, P2, P6, P7.
import { createSyncServer, type SyncServer, type SyncServerOptions } from '@lensync/sync-server'
import { processProbe } from '../lib/processProbe.ts'

/** Options the orchestrator may set (plain data: they cross the IPC channel). */
export type SyncServerRoleOptions = Omit<
  SyncServerOptions,
  'logger' | 'storage' | 'timers' | 'createId' | 'now'
>

let server: SyncServer | undefined

export const methods = {
  ...processProbe,

  /**
   * Starts the server on a free loopback port. Defaults for benchmarks:
   * entities in memory (the raw baselines persist nothing either) and no
   * rate limit (the load generators exceed the default on purpose).
   */
  async start(options: SyncServerRoleOptions = {}): Promise<{ url: string }> {
    if (server) throw new Error('syncServer: already started')
    server = await createSyncServer({
      port: 0,
      host: '127.0.0.1',
      memory: true,
      rateLimit: false,
      logger: { error: (...args: unknown[]) => console.error('[syncServer]', ...args) },
      ...options,
    })
    return { url: server.url }
  },

  /** Closes the server (sessions get 1001). */
  async close(): Promise<void> {
    await server?.close()
    server = undefined
  },
}
