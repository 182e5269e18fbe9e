import type { Pinning, ProcessKind } from '../lib/pinning.ts'
import type { Row } from '../lib/row.ts'
import type { Worker } from '../lib/worker.ts'
import type { RoleMethods, RoleName } from '../roles/index.ts'

/** What a metric gets from the runner. */
export interface BenchContext {
  /** Measured repeats of each side (at least 3). */
  readonly repeats: number
  /** Smaller workloads, for a quick check that everything runs (figures are not for publishing). */
  readonly quick: boolean
  /** How processes are pinned. */
  readonly pinning: Pinning
  /** Whether lensync runs from its TypeScript sources (tsx) rather than the compiled build. */
  readonly source: boolean
  /**
   * Starts a worker process running `role`; the runner stops it after the metric.
   *
   * @param role - The role (bench/roles/index.ts).
   * @param kind - `server` (what the metric is about) or `client`: decides its CPU.
   * @param nodeFlags - Extra node flags, e.g. `['--expose-gc']`.
   */
  start<R extends RoleName>(role: R, kind: ProcessKind, nodeFlags?: string[]): Promise<Worker<RoleMethods<R>>>
  /** Progress for the console (not the report). */
  log(message: string): void
}

/**
 * One metric of the issue (P1 … P7): measures lensync and its baseline in
 * the same run and returns the report rows. Adding a metric is one file
 * exporting a `Metric` and one line in `bench/metrics/index.ts`.
 */
export interface Metric {
  /** E.g. `P1`. */
  readonly id: string
  /** One line, e.g. `edit latency A → server → B`. */
  readonly title: string
  /** Runs it. */
  run(context: BenchContext): Promise<Row[]>
}
