/**
 * A small seeded PRNG (mulberry32) and helpers on top of it, so a random test
 * replays exactly from its seed.
 */

/** A random source: floats in [0, 1) plus the helpers the fuzz and soak tests use. */
export interface Random {
  /** The seed this source started from (print it on failure). */
  readonly seed: number
  /** A float in [0, 1). */
  (): number
  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T
  /** `true` with probability `p`. */
  chance(p: number): boolean
}

/**
 * mulberry32: 32 bits of state, good enough statistical quality for tests,
 * and the same sequence on every platform.
 *
 * @param seed - Any integer; only its low 32 bits are used.
 * @returns A {@link Random} starting at `seed`.
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0
  const next = (() => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }) as Random
  return Object.assign(next, {
    seed: seed >>> 0,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
  })
}

/**
 * Reads a seed from the environment (decimal or 0x-hex), else `fallback`.
 *
 * @throws Error when the variable is set but is not an integer.
 */
export function seedFromEnv(name: string, fallback: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const seed = Number(text)
  if (!Number.isInteger(seed)) throw new Error(`${name} must be an integer seed, got ${JSON.stringify(text)}`)
  return seed >>> 0
}

/**
 * Reads a positive integer setting from the environment, else `fallback`.
 *
 * @throws Error when the variable is set but is not a positive integer.
 */
export function intFromEnv(name: string, fallback: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(text)}`)
  return value
}
