// Role: one system's server, alone in its process, with the CPU and memory probes of the main
// bench (measured inside the process, so the clients' load does not count).
import { processProbe } from '../../lib/processProbe.ts'
import { loadServer, type SystemId } from '../systems/index.ts'

/**
 * The server role's methods for one system.
 *
 * @param system - Which system.
 * @returns `start`, `close`, `cpuMicros`, `memory`.
 */
export async function serverMethods(system: SystemId) {
  const server = await loadServer(system)
  return {
    ...processProbe,
    /** Listens on a free loopback port. */
    start: () => server.start(),
    /** Closes the server. */
    close: () => server.close(),
  }
}
