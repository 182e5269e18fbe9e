import { execFileSync } from 'node:child_process'
import os from 'node:os'

/** What the figures were measured on. */
export interface Machine {
  readonly cpu: string
  readonly cpus: number
  readonly memoryGiB: number
  readonly os: string
  readonly node: string
  readonly v8: string
  /** The commit measured, with `+dirty` when the tree had uncommitted changes. */
  readonly commit: string
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return ''
  }
}

/**
 * Describes this machine and the code under test.
 *
 * @returns The description.
 */
export function describeMachine(): Machine {
  const cpus = os.cpus()
  const commit = git(['rev-parse', '--short', 'HEAD']) || 'unknown'
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== ''
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpus: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    commit: dirty ? `${commit}+dirty` : commit,
  }
}

/**
 * The 1-minute load average (what else was running shares the 2 cores).
 *
 * @returns The load average, rounded to two decimals.
 */
export function loadAverage(): number {
  return Math.round((os.loadavg()[0] ?? 0) * 100) / 100
}
