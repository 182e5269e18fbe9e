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
 * the whole record, as the hub did before, made it ~20×. The second row has
 * a Date in the record (its envelope has a `meta`, which is serialized
 * whole: it is small), with the same goal.
 */
export const p9PatchSize: Metric = {
  id: 'P9',
  title: "hub: a one-field patch of a 48 KiB record, vs the same record's 300 B version",
  async run(context) {
    const rows = []
    for (const rich of [false, true]) {
      // About 0.2 s per round on each side here.
      const iterations = Math.round(30_000 * (context.quick ? 0.1 : 1))
      const rounds = await isolatedPair(
        context,
        'hubMicro',
        w => w.call('patch', 'large', iterations, rich),
        w => w.call('patch', 'small', iterations, rich),
      )
      rows.push(
        makeRow({
          id: rich ? 'P9 large rich' : 'P9 large',
          label: rich
            ? 'the same, the record with a Date (a meta)'
            : 'one-field patch of a record with 48 KiB of notes',
          unit: 'ns/op',
          better: 'lower',
          baselineLabel: rich
            ? 'the same patch of the record with a Date, without the notes'
            : 'the same patch of the record without them (300 B)',
          showAdded: true,
          ...pick(rounds, ns => ns),
          goal: { op: '<=', value: 2.5, on: 'ratio' },
        }),
      )
    }
    return rows
  },
}
