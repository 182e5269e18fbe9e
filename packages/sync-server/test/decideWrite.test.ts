import type { DelMessage, PatchMessage, PutMessage } from '@lensync/protocol'
import { decideWrite, defaultSyncLimits, type EntityState, type WriteDecision } from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'

// decideWrite is the pure part of the hub's write path: no storage, no
// connections, no schema. These tests call it directly with states and
// parsed envelopes, and read the change envelope a broadcast would carry.

const limits = { maxEntityBytes: defaultSyncLimits.maxEntityBytes, maxPatchEntries: 4 }
const ABSENT: EntityState = { text: null }
const stored = (json: unknown): EntityState => ({ text: JSON.stringify({ json }) })

function put(value: unknown, extra: Partial<PutMessage> = {}): PutMessage {
  return { t: 'put', op: 1, r: 'doc', id: 'x', value: { json: value }, ...extra } as PutMessage
}
function patch(set: PatchMessage['set'], unset?: PatchMessage['unset']): PatchMessage {
  return { t: 'patch', op: 2, r: 'doc', id: 'x', set, ...(unset ? { unset } : {}) } as PatchMessage
}
const del: DelMessage = { t: 'del', op: 3, r: 'doc', id: 'x' } as DelMessage

/** The new state's value and the broadcast envelope at revision 7, or the decision itself. */
function written(decision: WriteDecision) {
  if (decision.kind !== 'write') throw new Error(`expected a write, got ${JSON.stringify(decision)}`)
  const [head, tail] = decision.change
  return {
    value: decision.state.text === null ? null : JSON.parse(decision.state.text),
    change: JSON.parse(`${head}7${tail}`),
  }
}

function nested(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}

describe('decideWrite: put', () => {
  it('stores the value as sent, absent or present, and broadcasts it', () => {
    expect(written(decideWrite(ABSENT, put({ name: 'Ada' }), limits))).toEqual({
      value: { json: { name: 'Ada' } },
      change: { t: 'change', r: 'doc', id: 'x', rev: 7, value: { json: { name: 'Ada' } } },
    })
    expect(written(decideWrite(stored({ name: 'Ada' }), put({ age: 36 }), limits)).value).toEqual({
      json: { age: 36 },
    })
  })

  it('a create-only put (an offer) writes an absent entity and finds an existing one', () => {
    expect(written(decideWrite(ABSENT, put({ n: 1 }, { create: true }), limits)).value).toEqual({
      json: { n: 1 },
    })
    expect(decideWrite(stored({ n: 0 }), put({ n: 1 }, { create: true }), limits)).toEqual({ kind: 'exists' })
  })

  it('refuses TOO_LARGE past maxEntityBytes, saying how large', () => {
    const decision = decideWrite(ABSENT, put('x'.repeat(200)), { ...limits, maxEntityBytes: 100 })
    expect(decision).toEqual({
      kind: 'reject',
      code: 'TOO_LARGE',
      message: 'doc x would be 211 bytes; the limit is 100',
    })
  })

  it('refuses BAD_FIELD a value the serializer cannot decode, and one whose meta makes a cycle', () => {
    const undecodable = put({ a: 1 })
    ;(undecodable.value as { meta?: unknown }).meta = { values: { a: ['nonsense'] } }
    expect(decideWrite(ABSENT, undecodable, limits)).toMatchObject({ kind: 'reject', code: 'BAD_FIELD' })

    const cycle = put({ a: { self: null } })
    ;(cycle.value as { meta?: unknown }).meta = { referentialEqualities: { a: ['a.self'] } }
    expect(decideWrite(ABSENT, cycle, limits)).toEqual({
      kind: 'reject',
      code: 'BAD_FIELD',
      message: 'doc x: the value refers to itself (a cycle)',
    })
  })
})

describe('decideWrite: patch', () => {
  it('merges set then unset into the stored value and broadcasts only the fields', () => {
    const decision = decideWrite(
      stored({ name: 'Ada', age: 36, city: 'London' }),
      patch([[['age'], { json: 37 }]], [['city']]),
      limits,
    )
    expect(written(decision)).toEqual({
      value: { json: { name: 'Ada', age: 37 } },
      change: { t: 'change', r: 'doc', id: 'x', rev: 7, set: [[['age'], { json: 37 }]], unset: [['city']] },
    })
  })

  it("keeps the stored value's meta (a Date stays a Date)", () => {
    const base: EntityState = {
      text: '{"json":{"d":"2020-01-01T00:00:00.000Z"},"meta":{"values":{"d":["Date"]}}}',
    }
    const { value } = written(decideWrite(base, patch([[['n'], { json: 1 }]]), limits))
    expect(value.json).toEqual({ d: '2020-01-01T00:00:00.000Z', n: 1 })
    expect(value.meta.values).toEqual({ d: ['Date'] })
  })

  it('refuses NOT_FOUND on an absent entity', () => {
    expect(decideWrite(ABSENT, patch([[['a'], { json: 1 }]]), limits)).toEqual({
      kind: 'reject',
      code: 'NOT_FOUND',
      message: 'doc x does not exist; send a put',
    })
  })

  it('refuses TOO_LARGE past maxPatchEntries (set and unset count) and past maxEntityBytes', () => {
    const five = patch(
      [
        [['a'], { json: 1 }],
        [['b'], { json: 2 }],
        [['c'], { json: 3 }],
      ],
      [['d'], ['e']],
    )
    expect(decideWrite(stored({}), five, limits)).toEqual({
      kind: 'reject',
      code: 'TOO_LARGE',
      message: 'a patch of 5 fields; the limit is 4 (send a put)',
    })
    const big = decideWrite(stored({}), patch([[['a'], { json: 'x'.repeat(200) }]]), {
      ...limits,
      maxEntityBytes: 100,
    })
    expect(big).toMatchObject({ kind: 'reject', code: 'TOO_LARGE' })
  })

  it('refuses BAD_FIELD a value nested deeper than MAX_VALUE_DEPTH, counting the path', () => {
    expect(decideWrite(stored({}), patch([[['a', 'b'], { json: nested(97) }]]), limits)).toMatchObject({
      kind: 'write',
    })
    expect(decideWrite(stored({}), patch([[['a', 'b'], { json: nested(99) }]]), limits)).toEqual({
      kind: 'reject',
      code: 'BAD_FIELD',
      message: 'doc x: the value is nested too deeply',
    })
  })

  it('decides on the base it is given, leaving it unchanged', () => {
    const base = stored({ a: 1 })
    const first = written(decideWrite(base, patch([[['b'], { json: 2 }]]), limits))
    const second = written(decideWrite(base, patch([[['c'], { json: 3 }]]), limits))
    expect(first.value).toEqual({ json: { a: 1, b: 2 } })
    expect(second.value).toEqual({ json: { a: 1, c: 3 } })
    expect(base.text).toBe('{"json":{"a":1}}')
  })
})

describe('decideWrite: del', () => {
  it('deletes a present entity and broadcasts gone', () => {
    expect(written(decideWrite(stored({ a: 1 }), del, limits))).toEqual({
      value: null,
      change: { t: 'gone', r: 'doc', id: 'x', rev: 7 },
    })
  })

  it('a delete of an absent entity writes nothing', () => {
    expect(decideWrite(ABSENT, del, limits)).toEqual({ kind: 'absent' })
  })
})
