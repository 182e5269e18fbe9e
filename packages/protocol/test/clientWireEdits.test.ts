import { createClientWire, ProtocolError } from '@lensync/protocol'
import { describe, expect, it } from 'vitest'

// The client reads the two messages of every edit (an ack, a field change of
// an entity it has a handle for) without reshaping them into version 1
// first: the result, and every refusal, must be what the version 1 reading
// gives.

/** A version 2 client wire that knows entity `r`/`a` as handle 1. */
function wireWithHandle() {
  const wire = createClientWire()
  wire.agreed(2)
  const [snap] = wire.parse('{"e":[1,"r","a"],"r":1,"v":{"n":0}}') as { ok: boolean }[]
  expect(snap?.ok).toBe(true)
  return wire
}

function nested(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}

describe('ClientWire: acks and field changes', () => {
  it('reads them as the version 1 messages', () => {
    const wire = wireWithHandle()
    expect(wire.parse('{"a":7,"r":3}')).toEqual([{ ok: true, message: { t: 'ack', op: 7, rev: 3 } }])
    expect(wire.parse('{"c":1,"r":2,"s":["title","x","n",5]}')).toEqual([
      {
        ok: true,
        message: {
          t: 'change',
          r: 'r',
          id: 'a',
          rev: 2,
          set: [
            [['title'], { json: 'x' }],
            [['n'], { json: 5 }],
          ],
        },
      },
    ])
    // A deeper path, a meta, an unset or a named entity take the general reading, with the same result shape.
    expect(wire.parse('{"c":1,"r":3,"s":[["a","b"],null],"x":["c"]}')).toEqual([
      {
        ok: true,
        message: {
          t: 'change',
          r: 'r',
          id: 'a',
          rev: 3,
          set: [[['a', 'b'], { json: null }]],
          unset: [['c']],
        },
      },
    ])
    expect(wire.parse('[{"a":8,"r":4},{"c":["r","b"],"r":4,"s":["n",1]}]')).toEqual([
      { ok: true, message: { t: 'ack', op: 8, rev: 4 } },
      { ok: true, message: { t: 'change', r: 'r', id: 'b', rev: 4, set: [[['n'], { json: 1 }]] } },
    ])
    for (const [text, op, rev] of [
      ['{"a":0,"r":0}', 0, 0],
      ['{"a":123456789012345,"r":9}', 123456789012345, 9],
      ['{"a":1234567890123456,"r":9}', 1234567890123456, 9],
      [' {"a":1,"r":2}', 1, 2],
      ['{"a":1,"r":2} ', 1, 2],
      ['{"r":2,"a":1}', 1, 2],
      ['{"a":1.0,"r":2}', 1, 2],
      ['{"a":-3,"r":2}', -3, 2],
    ] as const)
      expect([text, wire.parse(text)]).toEqual([text, [{ ok: true, message: { t: 'ack', op, rev } }]])
    expect(wire.parse('{"a":"op-1","r":5,"f":1}')).toEqual([
      { ok: true, message: { t: 'ack', op: 'op-1', rev: 5, applied: false } },
    ])
  })

  it('skips the hostile ones with BAD_MESSAGE, as version 1 does', () => {
    const wire = wireWithHandle()
    const bad = [
      { c: 1, r: 2, s: ['__proto__', 1] },
      { c: 1, r: 2, s: ['constructor', 1] },
      { c: 1, r: 2, s: ['a', JSON.parse('{"__proto__":1}')] },
      { c: 1, r: 2, s: ['a', nested(150)] },
      { c: 1, r: 2, s: ['a'] },
      { c: 1, r: 2, s: [1, 1] },
      { c: 1, r: 2, s: 'a' },
      { c: 1, r: -1, s: ['a', 1] },
      { c: 1, r: 1.5, s: ['a', 1] },
      { c: 1, r: '2', s: ['a', 1] },
      { c: 1, r: 2, s: ['a', 1], a: 1 },
      { c: 1, r: 2, s: ['a', 1], g: 1 },
      { c: 1, r: 2, s: ['a', 1], v: 1 },
      { c: 2, r: 2, s: ['a', 1] },
      { c: 1, r: 2 },
      { a: 1.5, r: 1 },
      { a: null, r: 1 },
      { a: 1, r: -1 },
      { a: 1, r: 1, k: null },
      { a: 1, r: 1, f: 2 },
      { a: 1, r: 1, e: 1 },
      { a: 1, r: 1, t: 'ack' },
    ]
    for (const text of [
      '{"a":1,"r":-1}',
      '{"a":1,"r":1.5}',
      '{"a":12345678901234567890,"r":1}',
      '{"a":1,"r":"1"}',
    ]) {
      const [result] = wire.parse(text) as { ok: boolean; error?: ProtocolError }[]
      expect([text, result?.ok, result?.error?.code]).toEqual([text, false, 'BAD_MESSAGE'])
    }
    for (const text of ['{"a":01,"r":1}', '{"a":1,"r":1', '{"a":1,"r":1}}', '{"a":,"r":1}'])
      expect([text, wire.parse(text)]).toEqual([text, expect.any(ProtocolError)])
    for (const raw of bad) {
      const [result] = wire.parse(JSON.stringify(raw)) as { ok: boolean; error?: ProtocolError }[]
      expect([raw, result?.ok, result?.error?.code]).toEqual([raw, false, 'BAD_MESSAGE'])
    }
  })
})
