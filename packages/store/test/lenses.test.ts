import {
  asString,
  formatLens,
  LensError,
  lenses,
  lensForElement,
  lensForIndex,
  lensForKey,
  lensOf,
  lensOrDefault,
  mapNull,
} from '@lensync/store'
import { describe, expect, it } from 'vitest'
import { alice, type Person } from './fixtures.ts'

type Msg = { id: string; get: number; set: boolean; path: string; andThen: { id: string } }

describe('lenses<T>()', () => {
  const L = lenses<Person>()

  it('reads and writes nested fields, keeping untouched branches', () => {
    const street = lensOf(L.address.street)
    expect(street.id).toBe('address.street')
    expect(street.get(alice)).toBe('Elm St 1')
    const moved = street.set(alice, 'Main St 1')
    expect(moved.address.street).toBe('Main St 1')
    expect(moved).not.toBe(alice)
    expect(moved.address).not.toBe(alice.address)
    expect(moved.tags).toBe(alice.tags)
    expect(alice.address.street).toBe('Elm St 1')
  })

  it('returns the parent itself when the value is already there', () => {
    expect(lensOf(L.address.street).set(alice, 'Elm St 1')).toBe(alice)
  })

  it('copies with plain-object semantics and keeps arrays arrays', () => {
    const source = Object.defineProperty({ a: 1, b: 2 }, 'hidden', { value: 3, enumerable: false })
    const copy = lensOf(lenses<{ a: number; b: number }>().a).set(source, 5)
    expect(copy).toEqual({ a: 5, b: 2 })
    expect(Object.keys(copy)).toEqual(['a', 'b'])
    const list = lensOf(lenses<{ xs: number[] }>().xs).set({ xs: [1] }, [2])
    expect(list.xs).toEqual([2])
    const nested = lensOf(lenses<{ pair: [number, number] }>().pair).get({ pair: [1, 2] })
    expect(Array.isArray(nested)).toBe(true)
  })

  it('writes a field named __proto__ as a field, not as the prototype', () => {
    const parent = JSON.parse('{"__proto__": 1, "x": 2}') as { x: number }
    const copy = lensOf<{ x: number }, number>(lenses<{ x: number }>().x).set(parent, 3)
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
    expect(Object.hasOwn(copy, '__proto__')).toBe(true)
  })

  it('treats id, get, set, path and andThen as fields', () => {
    const M = lenses<Msg>()
    const msg: Msg = { id: 'm1', get: 1, set: true, path: '/x', andThen: { id: 'inner' } }
    expect(lensOf(M.id).get(msg)).toBe('m1')
    expect(lensOf(M.get).set(msg, 2).get).toBe(2)
    expect(lensOf(M.set).get(msg)).toBe(true)
    expect(lensOf(M.path).id).toBe('path')
    expect(lensOf(M.andThen.id).get(msg)).toBe('inner')
    expect(lensOf(M.andThen.id).id).toBe('andThen.id')
  })

  it('is never a thenable: await and Promise.resolve give the path or lens back', async () => {
    const path = L.address
    expect((path as unknown as { then?: unknown }).then).toBeUndefined()
    expect(await path).toBe(path)
    expect(await Promise.resolve(L.name)).toBe(L.name)
    const lens = lensOf(L.address.street)
    expect(await lens).toBe(lens)
    const fromAsync = async () => lens
    expect(await fromAsync()).toBe(lens)
  })

  it('caches paths, so the same field gives the same path and lens', () => {
    expect(L.address.street).toBe(L.address.street)
    expect(lensOf(L.name)).toBe(lensOf(L.name))
    expect(lenses<Person>().address).toBe(L.address)
  })

  it('the root path is the identity lens with id ""', () => {
    const root = lensOf(L)
    expect(root.id).toBe('')
    expect(root.get(alice)).toBe(alice)
    const bob = { ...alice, name: 'Bob' }
    expect(root.set(alice, bob)).toBe(bob)
  })

  it('refuses writes to a path and shows its id when printed', () => {
    expect(() => {
      ;(L as unknown as Record<string, unknown>).name = 1
    }).toThrow(TypeError)
    expect(`${L.address.street as unknown as string}`).toBe('Path(address.street)')
  })
})

describe('lensOf, andThen and ids', () => {
  it('makes a hand-written lens and validates its arguments', () => {
    const age = lensOf<Person, number>(
      'age',
      p => p.age,
      (p, age) => ({ ...p, age }),
    )
    expect(age.id).toBe('age')
    expect(age.set(alice, 31).age).toBe(31)
    expect(() => lensOf('x', undefined as never, undefined as never)).toThrow(
      /needs a get and a set function/,
    )
    expect(() => lensOf({} as never)).toThrow(/must be a Lens/)
  })

  it('composes with andThen, joining ids with "." and skipping empty ones', () => {
    const L = lenses<Person>()
    const address = lensOf(L.address)
    const street = address.andThen(lenses<Person['address']>().street)
    expect(street.id).toBe('address.street')
    expect(street.get(alice)).toBe('Elm St 1')
    expect(street.set(alice, 'x').address.street).toBe('x')

    const zipText = lensOf(L.address.zip).andThen(asString.number)
    expect(zipText.id).toBe('address.zip')
    expect(zipText.get(alice)).toBe('12345')
    expect(zipText.set(alice, '54321').address.zip).toBe(54321)

    const firstTag = lensOf(L.tags).andThen(lensForIndex<string>(0))
    expect(firstTag.id).toBe('tags.0')
    expect(firstTag.set(alice, 'root').tags).toEqual(['root'])
    expect(firstTag.set(alice, 'admin')).toBe(alice)
  })

  it('has no then method, so composition cannot be swallowed by await', () => {
    const lens = lensOf<Person, string>(
      'name',
      p => p.name,
      (p, name) => ({ ...p, name }),
    )
    expect('then' in lens).toBe(false)
  })
})

describe('formatLens and asString', () => {
  it('formats and parses with id ""', () => {
    const percent = formatLens<number>(
      n => `${n * 100}%`,
      s => Number.parseFloat(s) / 100,
    )
    expect(percent.id).toBe('')
    expect(percent.get(0.5)).toBe('50%')
    expect(percent.set(0, '25%')).toBe(0.25)
    expect(() => formatLens(undefined as never, undefined as never)).toThrow(/two functions/)
  })

  it('asString.number parses numbers and gives NaN for text or blanks', () => {
    expect(asString.number.get(42)).toBe('42')
    expect(asString.number.set(0, '3.5')).toBe(3.5)
    expect(asString.number.set(0, 'abc')).toBeNaN()
    expect(asString.number.set(0, '  ')).toBeNaN()
  })

  it('asString.boolean', () => {
    expect(asString.boolean.get(true)).toBe('true')
    expect(asString.boolean.set(false, 'true')).toBe(true)
    expect(asString.boolean.set(true, 'no')).toBe(false)
  })
})

describe('collection lenses and LensError on [a, b, c, a]', () => {
  type Item = { id: string; n: number }
  const a: Item = { id: 'a', n: 1 }
  const b: Item = { id: 'b', n: 2 }
  const c: Item = { id: 'c', n: 3 }
  const list = [a, b, c, { id: 'a', n: 4 }]
  const idOf = (item: Item) => item.id

  function errorOf(fn: () => unknown): LensError {
    try {
      fn()
    } catch (error) {
      if (error instanceof LensError) return error
      throw error
    }
    throw new Error('expected a LensError')
  }

  it('lensForElement finds by id and writes in place', () => {
    const lens = lensForElement(b, idOf)
    expect(lens.id).toBe('b')
    expect(lens.get(list)).toBe(b)
    const next = lens.set(list, { id: 'b', n: 20 })
    expect(next).toEqual([a, { id: 'b', n: 20 }, c, { id: 'a', n: 4 }])
    expect(next[0]).toBe(a)
    expect(Array.isArray(next)).toBe(true)
  })

  it('missing element: ELEMENT_NOT_FOUND on get and set', () => {
    const lens = lensForElement({ id: 'z', n: 0 }, idOf)
    const error = errorOf(() => lens.get(list))
    expect(error).toMatchObject({ name: 'LensError', code: 'ELEMENT_NOT_FOUND', lensId: 'z' })
    expect(error.message).toMatch(/id 'z'/)
    expect(errorOf(() => lens.set(list, a)).code).toBe('ELEMENT_NOT_FOUND')
  })

  it('two elements with the same id: AMBIGUOUS_ELEMENT', () => {
    expect(errorOf(() => lensForElement(a, idOf).get(list)).code).toBe('AMBIGUOUS_ELEMENT')
    expect(errorOf(() => lensForElement(a, idOf).set(list, a)).code).toBe('AMBIGUOUS_ELEMENT')
  })

  it('index -1 and 4: INDEX_OUT_OF_RANGE; valid indexes read and write', () => {
    expect(errorOf(() => lensForIndex<Item>(-1).get(list)).code).toBe('INDEX_OUT_OF_RANGE')
    expect(errorOf(() => lensForIndex<Item>(4).get(list)).code).toBe('INDEX_OUT_OF_RANGE')
    expect(errorOf(() => lensForIndex<Item>(4).set(list, a)).code).toBe('INDEX_OUT_OF_RANGE')
    expect(errorOf(() => lensForIndex<Item>(1.5).get(list)).code).toBe('INDEX_OUT_OF_RANGE')
    expect(lensForIndex<Item>(3).get(list)).toEqual({ id: 'a', n: 4 })
    expect(lensForIndex<Item>(2).id).toBe('2')
    expect(lensForIndex<Item>(2).set(list, b)[2]).toBe(b)
  })

  it('missing key in a record or a Map: KEY_NOT_FOUND', () => {
    const record: Record<string, number> = { apples: 3 }
    const apples = lensForKey<Record<string, number>>('apples')
    expect(apples.id).toBe('apples')
    expect(apples.get(record)).toBe(3)
    expect(apples.set(record, 4)).toEqual({ apples: 4 })
    expect(errorOf(() => lensForKey<Record<string, number>>('pears').get(record)).code).toBe('KEY_NOT_FOUND')
    expect(errorOf(() => lensForKey<Record<string, number>>('pears').set(record, 1)).code).toBe(
      'KEY_NOT_FOUND',
    )
    expect(errorOf(() => lensForKey<Record<string, number>>('toString').get(record)).code).toBe(
      'KEY_NOT_FOUND',
    )

    const map = new Map([['a', a]])
    const lens = lensForKey<Map<string, Item>>('a')
    expect(lens.get(map)).toBe(a)
    const next = lens.set(map, b)
    expect(next).not.toBe(map)
    expect(next.get('a')).toBe(b)
    expect(map.get('a')).toBe(a)
    expect(lens.set(map, a)).toBe(map)
    expect(errorOf(() => lensForKey<Map<string, Item>>('z').get(map)).code).toBe('KEY_NOT_FOUND')
  })
})

describe('lensOrDefault / mapNull', () => {
  it('reads null and undefined as the default and writes null for the default', () => {
    const lens = lensOrDefault('')
    expect(lens.id).toBe('')
    expect(lens.get(null)).toBe('')
    expect(lens.get(undefined as unknown as null)).toBe('')
    expect(lens.get('x')).toBe('x')
    expect(lens.set('x', '')).toBeNull()
    expect(lens.set(null, 'y')).toBe('y')
    expect(mapNull(0).set(5, 0)).toBeNull()
  })
})
