import { pick } from '../lib/interleave.ts'
import { makeRow } from '../lib/row.ts'
import { isolatedPair } from './isolatedPair.ts'
import type { Metric } from './types.ts'

/**
 * P4: the client codec — value → wire text → value with lensync's default
 * serializer (superjson's format with a plain-JSON fast path) — for a
 * typical entity of plain JSON data against `JSON.stringify`/`JSON.parse`,
 * and for the same entity with a Date and a Set against JSON plus a
 * hand-written codec for those two fields.
 */
export const p4Codec: Metric = {
  id: 'P4',
  title: 'codec: serialize + parse of a typical entity, vs JSON with a hand codec',
  async run(context) {
    const rows = []
    for (const entity of ['plain', 'rich'] as const) {
      // About 0.2 s per round on each side here.
      const iterations = Math.round((entity === 'plain' ? 50_000 : 30_000) * (context.quick ? 0.1 : 1))
      const rounds = await isolatedPair(
        context,
        'codecMicro',
        w => w.call('roundTrip', 'lensync', entity, iterations),
        w => w.call('roundTrip', 'baseline', entity, iterations),
      )
      rows.push(
        makeRow({
          id: `P4 ${entity}`,
          label:
            entity === 'plain' ? 'typical entity, plain JSON data' : 'the same entity with a Date and a Set',
          unit: 'ns/op',
          better: 'lower',
          baselineLabel:
            entity === 'plain' ? 'JSON.stringify + JSON.parse' : 'JSON + hand codec for Date/Set',
          showAdded: true,
          ...pick(rounds, ns => ns),
          goal: { op: '<=', value: 1.5, on: 'ratio' },
        }),
      )
    }
    return rows
  },
}
