import { diffFields, findForbiddenKeyInEncoded, setIn } from '@lensync/protocol'
import { defaultSerializer } from '@lensync/sync-client'
import superjson from 'superjson'
import { describe, expect, it } from 'vitest'

const samples: Record<string, unknown> = {
  'plain object': { a: 1, b: 'two', c: [true, null, { d: 4.5 }], e: {} },
  'nested arrays': [[1, 2], [], [[3]]],
  string: 'hello',
  number: 42,
  null: null,
  Date: { at: new Date('2026-01-02T03:04:05.000Z') },
  Set: { tags: new Set(['a', 'b']) },
  Map: new Map<string, unknown>([['k', { v: 1 }]]),
  BigInt: { n: 10n ** 20n },
  undefined: { missing: undefined },
  '-0, NaN, Infinity': [-0, Number.NaN, Number.POSITIVE_INFINITY],
  'class instance': { url: new URL('https://example.com/') },
  'null prototype': Object.assign(Object.create(null), { x: 1 }),
}

describe('defaultSerializer', () => {
  for (const [name, value] of Object.entries(samples)) {
    it(`encodes ${name} exactly as superjson does and round-trips it`, () => {
      const encoded = defaultSerializer.serialize(value)
      expect(JSON.parse(JSON.stringify(encoded))).toEqual(
        JSON.parse(JSON.stringify(superjson.serialize(value))),
      )
      const back = defaultSerializer.deserialize(JSON.parse(JSON.stringify(encoded)))
      expect(back).toEqual(superjson.deserialize(superjson.serialize(value)))
    })
  }

  it('skips superjson for plain JSON data (no meta)', () => {
    expect(defaultSerializer.serialize({ a: [1, 'x'] })).toEqual({ json: { a: [1, 'x'] } })
  })
})

describe('forbidden keys', () => {
  it('finds __proto__, constructor and prototype in values and in superjson meta paths', () => {
    expect(findForbiddenKeyInEncoded(JSON.parse('{"json":{"__proto__":{"x":1}}}'))).toBe('__proto__')
    expect(findForbiddenKeyInEncoded({ json: { a: { constructor: {} } } })).toBe('constructor')
    expect(findForbiddenKeyInEncoded({ json: {}, meta: { values: { 'a.prototype.b': ['Date'] } } })).toBe(
      'prototype',
    )
  })

  it('accepts harmless names that merely contain those words', () => {
    expect(
      findForbiddenKeyInEncoded({
        json: { constructorId: 1 },
        meta: { values: { constructorId: ['Date'] } },
      }),
    ).toBe(undefined)
  })
})

describe('field diffs', () => {
  it('reports only the changed paths and keeps untouched identity', () => {
    const before = { name: 'a', address: { street: 's', zip: 1 }, tags: ['x'] }
    const after = setIn(before, ['address', 'street'], 't') as typeof before
    expect(after.tags).toBe(before.tags)
    expect(diffFields(before, after)).toEqual({ set: [[['address', 'street'], 't']], unset: [] })
  })

  it('treats arrays, Dates and Sets as whole values compared by content', () => {
    const at = new Date(0)
    expect(
      diffFields({ tags: ['a'], at, s: new Set([1]) }, { tags: ['a'], at: new Date(0), s: new Set([1]) }),
    ).toEqual({
      set: [],
      unset: [],
    })
    expect(diffFields({ tags: ['a'] }, { tags: ['a', 'b'] }).set).toEqual([[['tags'], ['a', 'b']]])
  })

  it('reports removed fields as unset', () => {
    expect(diffFields({ a: 1, b: 2 }, { a: 1 })).toEqual({ set: [], unset: [['b']] })
  })
})
