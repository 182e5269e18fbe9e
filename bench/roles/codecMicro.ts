// Role: P4's codec micro-benchmark: an entity's value → wire text → value, with lensync's
// default serializer and with JSON plus a hand-written codec for the entity's Date and Set.
// Timed in CPU time (cpuNanos).

import { deepEqual, type Encoded } from '@lensync/protocol'
import { defaultSerializer } from '@lensync/sync-client'
import { cpuNanos } from '../lib/cpuClock.ts'
import { type RichTask, richTask, task } from '../lib/fixtures.ts'

/** The hand codec a developer would write for {@link RichTask}: Date as ISO text, Set as an array. */
const handCodec = {
  encode(value: RichTask): string {
    return JSON.stringify({ ...value, due: value.due.toISOString(), tags: [...value.tags] })
  },
  decode(text: string): RichTask {
    const parsed = JSON.parse(text)
    parsed.due = new Date(parsed.due)
    parsed.tags = new Set(parsed.tags)
    return parsed as RichTask
  },
}

/** Where results go, so that no loop can be optimized away. */
export let kept: unknown

function lensyncRoundTrip(value: unknown): unknown {
  return defaultSerializer.deserialize(
    JSON.parse(JSON.stringify(defaultSerializer.serialize(value))) as Encoded,
  )
}

export const methods = {
  /**
   * Serialize + parse of one entity, `iterations` times. `plain`: a task of
   * plain JSON data (baseline: `JSON.stringify` / `JSON.parse`); `rich`: the
   * task with a Date and a Set (baseline: the hand codec). Checks first that
   * both sides give back an equal value. ns per round trip.
   */
  roundTrip(side: 'lensync' | 'baseline', entity: 'plain' | 'rich', iterations: number): number {
    const value = entity === 'plain' ? task('c-1') : richTask('c-1')
    if (side === 'lensync') {
      if (!deepEqual(lensyncRoundTrip(value), value)) throw new Error('codec: lensync changed the value')
      const start = cpuNanos()
      for (let i = 0; i < iterations; i++) kept = lensyncRoundTrip(value)
      return (cpuNanos() - start) / iterations
    }
    if (entity === 'plain') {
      if (!deepEqual(JSON.parse(JSON.stringify(value)), value))
        throw new Error('codec: JSON changed the value')
      const start = cpuNanos()
      for (let i = 0; i < iterations; i++) kept = JSON.parse(JSON.stringify(value))
      return (cpuNanos() - start) / iterations
    }
    const rich = value as RichTask
    if (!deepEqual(handCodec.decode(handCodec.encode(rich)), rich))
      throw new Error('codec: the hand codec changed the value')
    const start = cpuNanos()
    for (let i = 0; i < iterations; i++) kept = handCodec.decode(handCodec.encode(rich))
    return (cpuNanos() - start) / iterations
  },
}
