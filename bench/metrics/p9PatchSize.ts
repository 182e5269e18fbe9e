import { pick } from '../lib/interleave.ts'
import { makeRow } from '../lib/row.ts'
import { isolatedPair } from './isolatedPair.ts'
import type { Metric } from './types.ts'

/**
 * P9: what a one-field patch costs the hub (`decideWrite`: merge, the new
 * state's text, field revisions, the broadcast change) on a record with
 * ~48 KiB of notes, against the same patch of the same record without them
 * (~300 B). A patch of a plain record serializes only the fields it touches
 * and copies the rest of the text, so what the large record adds is that one
 * copy of 48 KiB (every storage copies the text too): ≤ 2.5×. Serializing
 * the whole record, as the hub did before, made it ~20×.
 */
export const p9PatchSize: Metric = {
  id: 'P9',
  title: "hub: a one-field patch of a 48 KiB record, vs the same record's 300 B version",
  async run(context) {
    // About 0.2 s per round on each side here.
    const iterations = Math.round(30_000 * (context.quick ? 0.1 : 1))
    const rounds = await isolatedPair(
      context,
      'hubMicro',
      w => w.call('patch', 'large', iterations),
      w => w.call('patch', 'small', iterations),
    )
    return [
      makeRow({
        id: 'P9 large',
        label: 'one-field patch of a record with 48 KiB of notes',
        unit: 'ns/op',
        better: 'lower',
        baselineLabel: 'the same patch of the record without them (300 B)',
        showAdded: true,
        ...pick(rounds, ns => ns),
        goal: { op: '<=', value: 2.5, on: 'ratio' },
      }),
    ]
  },
}
