/** A figure measured several times: its median and range over the repeats. */
export interface Figure {
  /** The median of `samples`. */
  readonly median: number
  readonly min: number
  readonly max: number
  /** Every repeat's value, in the order measured. */
  readonly samples: readonly number[]
}

/**
 * The value below which `p` percent of `sorted` lie (nearest rank, as
 * latency percentiles are usually reported).
 *
 * @param sorted - Values in ascending order; not empty.
 * @param p - 0 to 100.
 * @returns The percentile.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile() of no values')
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number
}

/**
 * The median of some values (the mean of the two middle ones for an even count).
 *
 * @param values - Not empty.
 * @returns The median.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median() of no values')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/**
 * Summarizes repeats of one measurement.
 *
 * @param samples - One value per repeat; not empty.
 * @returns Median and range.
 */
export function figure(samples: readonly number[]): Figure {
  return {
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples: [...samples],
  }
}

/**
 * Pairs two series repeat by repeat (the i-th of `a` with the i-th of `b`).
 *
 * @param a - Subject values.
 * @param b - Baseline values, as many as `a`.
 * @param combine - E.g. `(x, y) => x / y` for a ratio.
 * @returns The combined series.
 */
export function pairwise(
  a: readonly number[],
  b: readonly number[],
  combine: (a: number, b: number) => number,
): number[] {
  if (a.length !== b.length) throw new RangeError(`pairwise(): ${a.length} values against ${b.length}`)
  return a.map((x, i) => combine(x, b[i] as number))
}
