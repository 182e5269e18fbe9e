import { parseArgs } from 'node:util'
import type { PinMode } from './pinning.ts'

/** The options of `npm run bench -- …`. */
export interface BenchArgs {
  /** Metric ids to run (all when empty), e.g. `['P1', 'P3']`. */
  readonly only: readonly string[]
  /** Measured repeats of each side. */
  readonly repeats: number
  /** Smaller workloads, for checking that everything runs. */
  readonly quick: boolean
  readonly pin: PinMode
  /** Run lensync from its TypeScript sources through tsx instead of the compiled build (quicker to iterate, slower figures). */
  readonly source: boolean
  /** Where to write the results. */
  readonly out: string
}

const USAGE = `usage: npm run bench -- [--only P1,P3] [--repeats 5] [--quick] [--pin same|split|off] [--source] [--out bench/results.json]`

/**
 * Reads the command line.
 *
 * @param argv - The arguments after the script name.
 * @returns The options, defaults filled in.
 * @throws Error with the usage line for anything it cannot use.
 */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      only: { type: 'string', default: '' },
      repeats: { type: 'string', default: '5' },
      quick: { type: 'boolean', default: false },
      source: { type: 'boolean', default: false },
      pin: { type: 'string', default: 'same' },
      out: { type: 'string', default: 'bench/results.json' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (values.help) throw new Error(USAGE)
  const repeats = Number(values.repeats)
  if (!Number.isInteger(repeats) || repeats < 3)
    throw new Error(
      `--repeats must be an integer ≥ 3 (a median and a range need three), got ${values.repeats}\n${USAGE}`,
    )
  const pin = values.pin
  if (pin !== 'same' && pin !== 'split' && pin !== 'off')
    throw new Error(`--pin must be same, split or off\n${USAGE}`)
  const only = values.only
    .split(',')
    .map(id => id.trim())
    .filter(id => id !== '')
  return { only, repeats, quick: values.quick, pin, source: values.source, out: values.out }
}
