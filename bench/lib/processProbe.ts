import { setImmediate as nextTurn } from 'node:timers/promises'

/** Memory of a process after garbage collection, in bytes. */
export interface MemorySample {
  /** V8 heap in use plus memory outside it held by JS objects (buffers, sockets' JS side). */
  readonly heapAndExternal: number
  /** Resident set size: what the OS gives the process. */
  readonly rss: number
}

/**
 * What every benchmark server role reports about itself: CPU time and
 * memory, measured inside the process so client load on the same machine
 * does not count.
 */
export const processProbe = {
  /**
   * CPU time this process has used so far (user + system), in microseconds.
   * A server's throughput is deliveries per CPU-second of this, not per wall second:
   * the clients share the cores.
   */
  cpuMicros(): number {
    const { user, system } = process.cpuUsage()
    return user + system
  },

  /**
   * Memory after a full collection (needs `--expose-gc`; without it the
   * figures include garbage).
   */
  async memory(): Promise<MemorySample> {
    const gc = (globalThis as { gc?: () => void }).gc
    for (let i = 0; i < 4; i++) {
      gc?.()
      await nextTurn()
    }
    const usage = process.memoryUsage()
    return { heapAndExternal: usage.heapUsed + usage.external, rss: usage.rss }
  },
}
