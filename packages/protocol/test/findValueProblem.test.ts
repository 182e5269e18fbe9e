import { findValueProblem, MAX_PATH_DEPTH, MAX_VALUE_DEPTH } from '@lensync/protocol'
import superjson from 'superjson'
import { describe, expect, it } from 'vitest'

function nested(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = { v: value }
  return value
}

describe('findValueProblem', () => {
  it('documents its limits', () => {
    expect(MAX_VALUE_DEPTH).toBe(100)
    expect(MAX_PATH_DEPTH).toBe(64)
  })

  it('accepts ordinary values, rich ones included', () => {
    for (const value of [
      null,
      1,
      'x',
      [],
      {},
      { a: [1, { b: new Date(0) }], m: new Map([['k', { v: 1 }]]), s: new Set([[1]]) },
      new Uint8Array(4),
    ]) {
      expect(findValueProblem(value)).toBeUndefined()
    }
  })

  it('finds a cycle that superjson referentialEqualities build', () => {
    const self: Record<string, unknown> = { name: 'loop' }
    self.me = self
    const encoded = superjson.serialize(self)
    expect(encoded.meta?.referentialEqualities).toBeDefined()
    const decoded = superjson.deserialize(encoded)
    expect(findValueProblem(decoded)).toBe('cycle')
  })

  it('finds a cycle from hand-made meta, through arrays, Maps and Sets', () => {
    const handMade = superjson.deserialize({
      json: { a: { b: [null] } },
      meta: { referentialEqualities: { a: ['a.b.0'] } },
    })
    expect(findValueProblem(handMade)).toBe('cycle')

    const map = new Map<unknown, unknown>()
    map.set('self', [map])
    expect(findValueProblem({ map })).toBe('cycle')
    const set = new Set<unknown>()
    set.add({ set })
    expect(findValueProblem([set])).toBe('cycle')
    const key: Record<string, unknown> = {}
    key.inner = new Map([[key, 1]])
    expect(findValueProblem(key)).toBe('cycle')
  })

  it('accepts shared references that make no cycle', () => {
    const shared = { x: 1 }
    const decoded = superjson.deserialize(superjson.serialize({ a: shared, b: shared, c: [shared] }))
    expect(findValueProblem(decoded)).toBeUndefined()
  })

  it('measures depth: exactly maxDepth levels pass, one more does not', () => {
    expect(findValueProblem(nested(MAX_VALUE_DEPTH))).toBeUndefined()
    expect(findValueProblem(nested(MAX_VALUE_DEPTH + 1))).toBe('depth')
    expect(findValueProblem(nested(3), 3)).toBeUndefined()
    expect(findValueProblem(nested(4), 3)).toBe('depth')
    expect(findValueProblem([[new Map([['k', new Set([{}])]])]], 4)).toBe('depth')
    expect(findValueProblem([[new Map([['k', new Set([{}])]])]], 5)).toBeUndefined()
  })

  it('returns at once for a 100,000-deep value (no stack overflow)', () => {
    let deep: unknown = []
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(findValueProblem(deep)).toBe('depth')
  })

  it('walks each shared node once: 2^40 paths through 40 nodes finish at once', () => {
    let node: unknown = { leaf: true }
    for (let i = 0; i < 40; i++) node = { left: node, right: node, list: [node, node] }
    const started = performance.now()
    expect(findValueProblem(node)).toBeUndefined()
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('finds depth reached only through a shared node met first at a shallow level', () => {
    // `shared` is 60 deep; first met at level 2, later at level 50.
    const shared = nested(60)
    const value = { early: shared, late: nested(48) as Record<string, unknown> }
    let tail = value.late as Record<string, unknown>
    while (typeof tail.v === 'object') tail = tail.v as Record<string, unknown>
    tail.v = shared
    expect(findValueProblem(value)).toBe('depth')
    expect(findValueProblem(value, 200)).toBeUndefined()
  })
})
