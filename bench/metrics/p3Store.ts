import { pick } from '../lib/interleave.ts'
import { makeRow } from '../lib/row.ts'
import { isolatedPair } from './isolatedPair.ts'
import type { Metric } from './types.ts'

/**
 * P3: the store's own cost, each side of each row in a fresh pinned process. A depth-3 field update
 * through a sub-store until an effect on that field has run, against a raw
 * preact `signal` write → `computed` → `effect` (and, for context, against
 * the same immutable update written by hand on raw signals); and an update with the value
 * already there (root store, and the depth-3 sub-store), against writing a
 * signal its own value.
 */
export const p3Store: Metric = {
  id: 'P3',
  title: 'store: depth-3 field update → effect, and no-op updates, vs raw preact signals',
  async run(context) {
    const scale = context.quick ? 0.1 : 1
    const updates = Math.round(300_000 * scale)
    const noops = Math.round(3_000_000 * scale)
    const field = await isolatedPair(
      context,
      'storeMicro',
      w => w.call('fieldUpdate', 'lensync', updates),
      w => w.call('fieldUpdate', 'raw', updates),
    )
    const byHand = await isolatedPair(
      context,
      'storeMicro',
      w => w.call('fieldUpdate', 'lensync', updates),
      w => w.call('fieldUpdateByHand', updates),
    )
    const noopRoot = await isolatedPair(
      context,
      'storeMicro',
      w => w.call('noopRoot', 'lensync', noops),
      w => w.call('noopRoot', 'raw', noops),
    )
    const noopSub = await isolatedPair(
      context,
      'storeMicro',
      w => w.call('noopSub', 'lensync', noops),
      w => w.call('noopSub', 'raw', noops),
    )
    const common = { unit: 'ns/op', better: 'lower', showAdded: true } as const
    const noopGoal = { op: '<=', value: 2, on: 'ratio' } as const
    return [
      makeRow({
        ...common,
        id: 'P3 field',
        label: 'depth-3 field update via sub-store → effect',
        baselineLabel: 'signal write → computed → effect',
        ...pick(field, ns => ns),
        goal: { op: '<=', value: 1.5, on: 'ratio' },
      }),
      makeRow({
        ...common,
        id: 'P3 field/hand',
        label: 'the same update, vs written by hand on raw signals',
        baselineLabel: 'object signal + computed + effect, immutable spreads by hand',
        ...pick(byHand, ns => ns),
        note: 'context for P3 field (no goal): the cost of immutable object updates without a store',
      }),
      makeRow({
        ...common,
        id: 'P3 noop root',
        label: 'no-op update, root store',
        baselineLabel: 'same-value signal write',
        ...pick(noopRoot, ns => ns),
        goal: noopGoal,
      }),
      makeRow({
        ...common,
        id: 'P3 noop sub',
        label: 'no-op update, depth-3 sub-store',
        baselineLabel: 'same-value signal write',
        ...pick(noopSub, ns => ns),
        goal: noopGoal,
      }),
    ]
  },
}
