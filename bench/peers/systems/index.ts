// The systems of the peers bench, in the order of the table's columns. Each has a server module
// (run in a process of its own) and a client module (run in the clients' process).
import type { SystemClient, SystemServer } from '../lib/system.ts'

/** Every system, by id, with its column title. */
export const systems = {
  raw: 'raw ws',
  lensync: 'lensync',
  tinybase: 'TinyBase 10',
  yWebsocket: 'Yjs + y-websocket 3',
  hocuspocus: 'Yjs + Hocuspocus 4',
  automerge: 'automerge-repo 2.5',
} as const

/** A system's id. */
export type SystemId = keyof typeof systems

/** Every id, in column order. */
export const systemIds = Object.keys(systems) as SystemId[]

/**
 * Whether `id` names a system.
 *
 * @param id - From the command line.
 * @returns `true` for a known system.
 */
export function isSystemId(id: unknown): id is SystemId {
  return typeof id === 'string' && Object.hasOwn(systems, id)
}

const servers: Record<SystemId, () => Promise<{ server: SystemServer }>> = {
  raw: () => import('./rawServer.ts'),
  lensync: () => import('./lensyncServer.ts'),
  tinybase: () => import('./tinybaseServer.ts'),
  yWebsocket: () => import('./yWebsocketServer.ts'),
  hocuspocus: () => import('./hocuspocusServer.ts'),
  automerge: () => import('./automergeServer.ts'),
}

const clients: Record<SystemId, () => Promise<{ client: SystemClient }>> = {
  raw: () => import('./rawClient.ts'),
  lensync: () => import('./lensyncClient.ts'),
  tinybase: () => import('./tinybaseClient.ts'),
  yWebsocket: () => import('./yWebsocketClient.ts'),
  hocuspocus: () => import('./hocuspocusClient.ts'),
  automerge: () => import('./automergeClient.ts'),
}

/**
 * Loads a system's server side (only in the process that runs it).
 *
 * @param id - The system.
 * @returns Its server.
 */
export async function loadServer(id: SystemId): Promise<SystemServer> {
  return (await servers[id]()).server
}

/**
 * Loads a system's client side.
 *
 * @param id - The system.
 * @returns Its client.
 */
export async function loadClient(id: SystemId): Promise<SystemClient> {
  return (await clients[id]()).client
}
