import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

// Vitest's forked workers do not run with --expose-gc; V8 lets a running
// process turn the flag on, and a fresh context then sees `gc`.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as (options?: { type: 'major'; execution: 'sync' }) => void

/**
 * The heap in use after full garbage collections (a few rounds, so
 * finalizers and weak references settle).
 *
 * @returns `process.memoryUsage().heapUsed` in bytes.
 */
export async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc()
    // Let sockets' close callbacks and timers' finalizers run between rounds.
    await new Promise(resolve => setImmediate(resolve))
  }
  gc()
  return process.memoryUsage().heapUsed
}

/** Bytes as MiB with one decimal, for reports. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
