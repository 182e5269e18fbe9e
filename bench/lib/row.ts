import { type Figure, figure, pairwise } from './stats.ts'

/** A goal from the issue: on the ratio to the baseline, or on lensync's own figure. */
export interface Goal {
  readonly op: '<=' | '>='
  readonly value: number
  /** `ratio`: lensync ÷ baseline; `lensync`: lensync's figure itself (e.g. round trips). */
  readonly on: 'ratio' | 'lensync'
}

/** One line of the report: lensync against its baseline, measured in the same run. */
export interface Row {
  /** Short id, e.g. `P1 p50`. */
  readonly id: string
  /** What is measured. */
  readonly label: string
  /** Unit of the lensync and baseline figures (`µs`, `ns/op`, `B`, …). */
  readonly unit: string
  /** Whether a lower or a higher figure is better. */
  readonly better: 'lower' | 'higher'
  /** What the subject is compared with. */
  readonly baselineLabel: string
  readonly lensync: Figure
  readonly baseline: Figure
  /** lensync ÷ baseline, repeat by repeat (subject and baseline ran interleaved). */
  readonly ratio: Figure
  /** lensync − baseline, repeat by repeat, in `unit` (shown for latencies). */
  readonly added: Figure | undefined
  readonly goal: Goal | undefined
  /** Whether the median meets the goal; `undefined` without a goal. */
  readonly met: boolean | undefined
  /** Anything a reader needs to read the figure right. */
  readonly note: string | undefined
}

/** What a metric measured for one row. */
export interface RowSpec {
  readonly id: string
  readonly label: string
  readonly unit: string
  readonly better: 'lower' | 'higher'
  readonly baselineLabel: string
  /** One value per repeat. */
  readonly lensync: readonly number[]
  /** One value per repeat, measured interleaved with `lensync` (same count). */
  readonly baseline: readonly number[]
  readonly goal?: Goal
  /** Show lensync − baseline beside the ratio (every latency does). */
  readonly showAdded?: boolean
  readonly note?: string
}

/**
 * Builds a report row: medians and ranges, the ratio repeat by repeat, the
 * added amount, and whether the goal is met.
 *
 * @param spec - The measured values.
 * @returns The row.
 */
export function makeRow(spec: RowSpec): Row {
  const lensync = figure(spec.lensync)
  const baseline = figure(spec.baseline)
  const ratio = figure(pairwise(spec.lensync, spec.baseline, (a, b) => (b === 0 ? Number.NaN : a / b)))
  const added = spec.showAdded ? figure(pairwise(spec.lensync, spec.baseline, (a, b) => a - b)) : undefined
  const goal = spec.goal
  let met: boolean | undefined
  if (goal) {
    const value = goal.on === 'ratio' ? ratio.median : lensync.median
    met = goal.op === '<=' ? value <= goal.value : value >= goal.value
  }
  return {
    id: spec.id,
    label: spec.label,
    unit: spec.unit,
    better: spec.better,
    baselineLabel: spec.baselineLabel,
    lensync,
    baseline,
    ratio,
    added,
    goal,
    met,
    note: spec.note,
  }
}
