import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

/**
 * Where processes run. `same`: every process of a metric on the primary CPU
 * (waking a process on the other vCPU costs 40–100 µs here, which would
 * swamp loopback latencies); `split`: servers on the secondary CPU, clients
 * on the primary; `off`: no pinning (the scheduler decides).
 */
export type PinMode = 'same' | 'split' | 'off'

/** What a process does, which decides its CPU. */
export type ProcessKind = 'server' | 'client'

/** How this run pins processes. */
export interface Pinning {
  /** The mode asked for. */
  readonly mode: PinMode
  /** Whether `taskset` was found; without it nothing is pinned, whatever the mode. */
  readonly taskset: boolean
  /** CPUs Node sees. */
  readonly cpus: number
  /** The CPU a process of this kind runs on, or `undefined` when unpinned. */
  cpuFor(kind: ProcessKind): number | undefined
  /** The command prefix that pins to `cpu` (`['taskset', '-c', '0']`), or `[]`. */
  prefix(cpu: number | undefined): string[]
  /** One line for the report, e.g. `taskset, same CPU (0)`. */
  describe(): string
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Works out the pinning of this run. Falls back to no pinning when `taskset`
 * is missing (e.g. macOS), and says so in {@link Pinning.describe}.
 *
 * @param mode - The mode asked for.
 * @returns The pinning.
 */
export function resolvePinning(mode: PinMode): Pinning {
  const taskset = mode !== 'off' && hasTaskset()
  const cpus = availableParallelism()
  const primary = 0
  const secondary = cpus > 1 ? 1 : 0
  const cpuFor = (kind: ProcessKind): number | undefined => {
    if (!taskset) return undefined
    return mode === 'split' && kind === 'server' ? secondary : primary
  }
  return {
    mode,
    taskset,
    cpus,
    cpuFor,
    prefix: cpu => (cpu === undefined ? [] : ['taskset', '-c', String(cpu)]),
    describe() {
      if (mode === 'off') return 'not pinned (--pin off)'
      if (!taskset) return 'not pinned (taskset not found)'
      return mode === 'same'
        ? `taskset, every process on CPU ${primary}`
        : `taskset, servers on CPU ${secondary}, clients on CPU ${primary}`
    },
  }
}
