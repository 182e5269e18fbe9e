import { type Interleaved, interleave } from '../lib/interleave.ts'
import type { Worker } from '../lib/worker.ts'
import type { RoleMethods } from '../roles/index.ts'
import type { BenchContext } from './types.ts'

/** Measured repeats of each side of a micro-benchmark row, at least. */
const MIN_REPEATS = 9

/** The micro-benchmark roles. */
type MicroRole = 'storeMicro' | 'codecMicro' | 'hubMicro'

/**
 * Runs one micro-benchmark row with each side in a fresh process of its
 * own, interleaved A B A B (at least 9 repeats each). Sharing a process would let one side's values
 * shape the other's JIT feedback (e.g. signals-core's setter seeing numbers
 * and objects becomes polymorphic for both), which moved P3 by ±40 %.
 * GC runs on the main thread, so the CPU-time clock of the roles measures
 * the loop and its garbage and nothing in parallel.
 *
 * @param context - The metric's context (the processes are stopped with it).
 * @param role - The role both processes run.
 * @param lensync - One measured round on the lensync process.
 * @param baseline - One measured round on the baseline process.
 * @returns The rounds of both sides.
 */
export async function isolatedPair<R extends MicroRole>(
  context: BenchContext,
  role: R,
  lensync: (worker: Worker<RoleMethods<R>>) => Promise<number>,
  baseline: (worker: Worker<RoleMethods<R>>) => Promise<number>,
): Promise<Interleaved<number>> {
  const flags = ['--single-threaded-gc']
  const [a, b] = await Promise.all([
    context.start(role, 'client', flags),
    context.start(role, 'client', flags),
  ])
  try {
    return await interleave(
      // Rounds are short (~0.2 s) and single figures swing with other load on the machine: more pairs.
      { repeats: Math.max(context.repeats, MIN_REPEATS) },
      () => lensync(a),
      () => baseline(b),
    )
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
}
