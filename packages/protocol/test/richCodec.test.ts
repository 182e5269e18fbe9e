import type { Encoded } from '@lensync/protocol'
import { defaultSerializer } from '@lensync/sync-client'
import superjson from 'superjson'
import { describe, expect, it } from 'vitest'

// The default serializer's fast path for Date/Set/Map/BigInt/undefined/NaN/±Infinity/-0
// must be indistinguishable from superjson: the same bytes out, the same values back.

const wire = (value: unknown) => JSON.stringify(defaultSerializer.serialize(value))
const superjsonWire = (value: unknown) => JSON.stringify(superjson.serialize(value))
const decode = (text: string) => defaultSerializer.deserialize(JSON.parse(text) as Encoded)

function expectLikeSuperjson(value: unknown): void {
  const text = wire(value)
  expect(text).toBe(superjsonWire(value))
  expect(decode(text)).toStrictEqual(superjson.deserialize(JSON.parse(text)))
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const shared = { a: 1 }
const cyclic: Record<string, unknown> = { d: new Date(0) }
cyclic.self = cyclic

const rich: Record<string, unknown> = {
  'a Date field': { at: new Date('2026-01-02T03:04:05.000Z'), n: 1 },
  'a Set of strings': { tags: new Set(['a', 'b']) },
  'a Map with object keys and values': new Map<unknown, unknown>([
    ['k', { at: new Date(1) }],
    [{ key: new Date(2) }, new Set([undefined, 3])],
  ]),
  'nested plain objects': { a: { b: { c: new Date(3), d: 'x' }, e: [1, { f: new Date(4) }] } },
  'undefined, -0, NaN and ±Infinity in arrays and objects': {
    list: [undefined, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0],
    missing: undefined,
  },
  BigInt: { n: 10n ** 20n, m: -5n },
  'keys with dots, backslashes and integer-like keys': {
    'a.b': new Date(0),
    'c\\d': { 'e.f\\': new Set([1]) },
    2: new Date(5),
    1: 'one',
  },
  'a Date at the root': new Date(7),
  'undefined at the root': undefined,
  '-0 at the root': -0,
  'an empty Set and Map': { s: new Set(), m: new Map() },
  'a Set of objects with rich fields': new Set([{ at: new Date(8) }, { at: new Date(9), s: new Set([1n]) }]),
  'a null-prototype object': Object.assign(Object.create(null), { at: new Date(10) }),
}

// Values the fast path leaves to superjson: the result must still be superjson's.
const fallback: Record<string, unknown> = {
  'an object reachable twice': { x: shared, y: shared, at: new Date(0) },
  'a Date reachable twice': { a: cyclic.d, b: cyclic.d },
  'equal BigInts (superjson records them as one)': { a: 1n, b: 1n },
  'two NaNs (superjson records them as one)': { a: Number.NaN, b: [Number.NaN] },
  'a cycle': cyclic,
  // biome-ignore lint/suspicious/noSparseArray: the hole is the point of this case
  'a sparse array': { list: [1, , 3], at: new Date(0) },
  'an invalid Date': { at: new Date(Number.NaN) },
  'a class instance': { p: new Point(1, 2), at: new Date(0) },
  'a RegExp and a URL': { r: /x/g, u: new URL('https://example.com/'), at: new Date(0) },
}

describe('defaultSerializer with rich values', () => {
  for (const [name, value] of Object.entries(rich)) {
    it(`encodes ${name} byte for byte as superjson and decodes it the same`, () => expectLikeSuperjson(value))
  }

  for (const [name, value] of Object.entries(fallback)) {
    it(`gives superjson's result for ${name}`, () => {
      const text = wire(value)
      expect(text).toBe(superjsonWire(value))
      expect(decode(text)).toEqual(superjson.deserialize(JSON.parse(text)))
    })
  }

  it('restores the types', () => {
    const back = decode(
      wire({ at: new Date(0), s: new Set([1]), m: new Map([[1, 2]]), n: 1n, u: undefined }),
    ) as {
      at: unknown
      s: unknown
      m: unknown
      n: unknown
      u: unknown
    }
    expect(back.at).toBeInstanceOf(Date)
    expect(back.s).toBeInstanceOf(Set)
    expect(back.m).toBeInstanceOf(Map)
    expect(typeof back.n).toBe('bigint')
    expect(Object.hasOwn(back, 'u') && back.u === undefined).toBe(true)
  })

  it('never changes the envelope it decodes (a caller may hand it to several readers)', () => {
    const encoded = JSON.parse(wire({ at: new Date(0), nested: { s: new Set([new Date(1)]) } })) as Encoded
    const before = JSON.stringify(encoded)
    const first = defaultSerializer.deserialize(encoded)
    expect(JSON.stringify(encoded)).toBe(before)
    expect(defaultSerializer.deserialize(encoded)).toStrictEqual(first)
  })

  it('refuses forbidden keys in meta paths as superjson does', () => {
    const encoded = { json: { a: 'x' }, meta: { values: { '__proto__.polluted': ['Date'] }, v: 1 } }
    expect(() => defaultSerializer.deserialize(encoded)).toThrow()
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
  })

  it('matches superjson on 2000 random values (seeded)', () => {
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
    const leaf = (): unknown =>
      pick([
        () => new Date(Math.floor(random() * 2e12)),
        () => Math.floor(random() * 1000) - 500,
        () => random(),
        () => pick(['', 'a', 'b.c', 'd\\e', 'ünï']),
        () => pick([true, false, null, undefined, -0, Number.NaN, Number.POSITIVE_INFINITY]),
        () => BigInt(Math.floor(random() * 1e6)),
      ])()
    const make = (depth: number): unknown => {
      if (depth > 3 || random() < 0.3) return leaf()
      const size = Math.floor(random() * 4)
      const children = Array.from({ length: size }, () => make(depth + 1))
      switch (pick(['object', 'array', 'set', 'map'])) {
        case 'object':
          return Object.fromEntries(
            children.map((child, i) => [pick(['k', 'a.b', '0', 'x\\y', `f${i}`]) + i, child]),
          )
        case 'array':
          return children
        case 'set':
          return new Set(children)
        default:
          return new Map(children.map((child, i) => [pick([`k${i}`, i, { i }]), child]))
      }
    }
    for (let i = 0; i < 2000; i++) {
      const value = make(0)
      const text = wire(value)
      expect(text).toBe(superjsonWire(value))
      expect(decode(text)).toEqual(superjson.deserialize(JSON.parse(text)))
    }
  })
})
