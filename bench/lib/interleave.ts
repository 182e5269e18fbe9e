/** The repeats of a subject and its baseline, in the order they ran. */
export interface Interleaved<T> {
  readonly lensync: T[]
  readonly baseline: T[]
}

/** How {@link interleave} runs the two sides. */
export interface InterleaveOptions {
  /** Measured repeats of each side (at least 3 for a median and a range). */
  readonly repeats: number
  /** Unmeasured rounds of each side first (JIT, caches, connections). Default 1. */
  readonly warmup?: number
}

/**
 * Runs a subject and its baseline alternately — A B A B … — so that drift of
 * the machine (other load, CPU frequency, a GC of a neighbour) hits both
 * alike, after `warmup` unmeasured rounds of each.
 *
 * @param options - Repeats and warm-up rounds.
 * @param lensync - One measured round of the subject.
 * @param baseline - One measured round of the baseline.
 * @returns Every measured round's result, per side.
 */
export async function interleave<T>(
  options: InterleaveOptions,
  lensync: () => Promise<T> | T,
  baseline: () => Promise<T> | T,
): Promise<Interleaved<T>> {
  const { repeats, warmup = 1 } = options
  if (!Number.isInteger(repeats) || repeats < 1)
    throw new RangeError(`interleave(): repeats must be ≥ 1, got ${repeats}`)
  for (let i = 0; i < warmup; i++) {
    await lensync()
    await baseline()
  }
  const result: Interleaved<T> = { lensync: [], baseline: [] }
  for (let i = 0; i < repeats; i++) {
    result.lensync.push(await lensync())
    result.baseline.push(await baseline())
  }
  return result
}

/**
 * Picks one number out of every round on both sides.
 *
 * @param rounds - What {@link interleave} returned.
 * @param pick - E.g. `r => r.p50`.
 * @returns The two series, ready for a report row.
 */
export function pick<T>(
  rounds: Interleaved<T>,
  pick: (round: T) => number,
): { lensync: number[]; baseline: number[] } {
  return { lensync: rounds.lensync.map(pick), baseline: rounds.baseline.map(pick) }
}
