import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Machine } from './machine.ts'
import type { Row } from './row.ts'

/** What `bench/results.json` holds. */
export interface Results {
  /** When the run started (ISO 8601). */
  readonly date: string
  readonly machine: Machine
  /** How processes were pinned. */
  readonly pinning: string
  /** Measured repeats of each side. */
  readonly repeats: number
  readonly quick: boolean
  /** `dist`: the compiled packages (what npm users run); `source`: TypeScript sources through tsx. */
  readonly code: 'dist' | 'source'
  /** 1-minute load average before and after the run (other work on the machine). */
  readonly load: { readonly before: number; readonly after: number }
  readonly seconds: number
  /** Every row: lensync, baseline and ratio as median, range and per-repeat samples; goal and whether met. */
  readonly rows: readonly Row[]
  /** Metrics that failed to run, with the error. */
  readonly failures: readonly { readonly metric: string; readonly error: string }[]
}

/**
 * Writes the results as JSON (creating the directory).
 *
 * @param path - Where to write.
 * @param results - The run's results.
 */
export function writeResults(path: string, results: Results): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`)
}
