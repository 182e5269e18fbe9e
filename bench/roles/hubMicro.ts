// Role: P9's hub micro-benchmark: the hub's decision on a one-field patch (merge, text of the
// new state, field revisions, the broadcast change) of a small and of a large record, chained
// as the hub chains an entity's writes. Timed in CPU time (cpuNanos).

import { defaultSerializer, type PatchMessage } from '@lensync/protocol'
import { decideWrite, defaultSyncLimits, type EntityState, type WriteContext } from '@lensync/sync-server'
import { cpuNanos } from '../lib/cpuClock.ts'
import { task } from '../lib/fixtures.ts'

/** The large record's `notes`: about 48 KiB of text. */
const LARGE_NOTES = 'Measure against the raw layers in the same run; report ratios with ranges. '.repeat(650)

/** Where results go, so that no loop can be optimized away. */
export let kept: unknown

const context: WriteContext = {
  maxEntityBytes: defaultSyncLimits.maxEntityBytes,
  maxPatchEntries: defaultSyncLimits.maxPatchEntries,
  writer: { client: 'c-1' },
}

function titlePatch(op: number): PatchMessage {
  return { t: 'patch', op, r: 'task', id: 't-1', set: [[['title'], { json: `Title ${op}` }]] } as PatchMessage
}

function patched(state: EntityState, op: number): EntityState {
  const decision = decideWrite(state, titlePatch(op), context)
  if (decision.kind !== 'write') throw new Error(`hub: a patch was decided as ${decision.kind}`)
  return decision.state
}

export const methods = {
  /**
   * `iterations` one-field patches (the title) of one task, each decided on
   * the state the one before made. `small`: the task (~300 B); `large`: the
   * same task with ~48 KiB of notes. `rich`: the task has a Date too (its
   * envelope has a `meta`). Checks first that the patched text is the whole
   * new value's. ns per patch.
   */
  patch(record: 'small' | 'large', iterations: number, rich = false): number {
    const value: Record<string, unknown> = { ...task('t-1') }
    if (record === 'large') value.notes = LARGE_NOTES
    if (rich) value.due = new Date(Date.UTC(2026, 11, 4))
    const text = (v: unknown) => JSON.stringify(defaultSerializer.serialize(v))
    let state: EntityState = { text: text(value) }
    for (let op = 1; op <= 3; op++) state = patched(state, op)
    if (state.text !== text({ ...value, title: 'Title 3' }))
      throw new Error('hub: the patched text is not the new value')
    const start = cpuNanos()
    for (let op = 4; op < iterations + 4; op++) state = patched(state, op)
    kept = state
    return (cpuNanos() - start) / iterations
  },
}
