import { MAX_PATH_DEPTH, ProtocolError, parseServerMessage, type ServerMessage } from '@lensync/protocol'
import superjson from 'superjson'
import { describe, expect, it } from 'vitest'

const value = { json: { name: 'Ada' } }

// One valid message of every type, with every optional field.
const valid: Record<string, ServerMessage> = {
  welcome: { t: 'welcome', v: 1, client: 'c', node: 'n' },
  entitySnap: { t: 'snap', r: 'person', id: 'p1', rev: 3, value },
  entitySnapAbsent: { t: 'snap', r: 'person', id: 'p1', rev: 0, value: null },
  collectionSnap: {
    t: 'snap',
    r: 'person',
    rev: 4,
    items: [{ id: 'p1', rev: 3, value: superjson.serialize({ at: new Date(0) }) as never }],
    gone: ['p2'],
    more: true,
  },
  ack: { t: 'ack', op: 7, rev: 2, applied: false },
  ackStringOp: { t: 'ack', op: 'op-1', rev: 2 },
  ackConflicts: {
    t: 'ack',
    op: 8,
    rev: 9,
    conflicts: [
      { path: ['name'], rev: 8, by: 'Ada', theirs: value, applied: true },
      { path: [], rev: 7, theirs: null, applied: false },
    ],
  },
  changeValue: { t: 'change', r: 'person', id: 'p1', rev: 5, value },
  changeFields: {
    t: 'change',
    r: 'person',
    id: 'p1',
    rev: 5,
    set: [[['name'], { json: 'Grace' }]],
    unset: [['age']],
  },
  gone: { t: 'gone', r: 'person', id: 'p1', rev: 6 },
  reject: {
    t: 'reject',
    op: 3,
    r: 'person',
    id: 'p1',
    code: 'VALIDATION_FAILED',
    message: 'no',
    issues: [{ message: 'age', path: ['age', 0, { key: 'x' }] }],
  },
  error: { t: 'error', code: 'BAD_FRAME', message: 'bad' },
}

// For every type: fields with a wrong type (each must be refused on its own).
const broken: Record<string, Array<Record<string, unknown>>> = {
  welcome: [{ v: '1' }, { v: -1 }, { client: 3 }, { node: null }],
  entitySnap: [{ r: 1 }, { r: '' }, { id: 5 }, { rev: 1.5 }, { rev: '3' }, { value: 'x' }, { value: {} }],
  collectionSnap: [
    { rev: -2 },
    { rev: 2 ** 60 },
    { items: {} },
    { items: [null] },
    { items: [{ id: 'p1', rev: 3 }] },
    { items: [{ id: 1, rev: 3, value }] },
    { gone: 'p2' },
    { gone: [7] },
    { more: 'yes' },
  ],
  ack: [{ op: null }, { op: 1.5 }, { op: {} }, { rev: undefined }, { applied: 1 }],
  ackConflicts: [
    { conflicts: {} },
    { conflicts: [null] },
    { conflicts: [{ path: ['a'], rev: 1, theirs: null }] },
    { conflicts: [{ path: 'a', rev: 1, theirs: null, applied: true }] },
    { conflicts: [{ path: ['__proto__'], rev: 1, theirs: null, applied: true }] },
    { conflicts: [{ path: ['a'], rev: -1, theirs: null, applied: true }] },
    { conflicts: [{ path: ['a'], rev: 1, by: 5, theirs: null, applied: true }] },
    { conflicts: [{ path: ['a'], rev: 1, theirs: 'x', applied: true }] },
    { conflicts: [{ path: ['a'], rev: 1, applied: true }] },
  ],
  changeValue: [{ id: undefined }, { rev: Number.NaN }, { value: [1] }, { set: [] }],
  changeFields: [
    { set: {} },
    { set: [[['a']]] },
    { set: [[[], value]] },
    { set: [[[1], value]] },
    { set: [['a', value]] },
    { set: [[['a'], 'x']] },
    { unset: [[]] },
    { unset: ['a'] },
    { unset: [[null]] },
    { set: undefined, unset: undefined },
  ],
  gone: [{ r: [] }, { id: {} }, { rev: Infinity }],
  reject: [
    { code: 'NOPE' },
    { code: 1 },
    { message: undefined },
    { op: true },
    { r: 5 },
    { id: '' },
    { issues: 'x' },
    { issues: [{}] },
    { issues: [{ message: 'm', path: [null] }] },
    { issues: [{ message: 'm', path: [{ key: {} }] }] },
  ],
  error: [{ code: 'WHATEVER' }, { message: 42 }],
}

describe('parseServerMessage', () => {
  it('accepts every valid message type and rebuilds it from its known fields only', () => {
    for (const [name, message] of Object.entries(valid)) {
      const parsed = parseServerMessage({ ...message, extra: 'dropped', __proto__: { t: 'x' } })
      expect(parsed, name).toEqual({ ok: true, message })
      if (parsed.ok) expect(Object.hasOwn(parsed.message, 'extra')).toBe(false)
    }
  })

  it('refuses a wrong type in any field of any message, naming the field', () => {
    for (const [name, changes] of Object.entries(broken)) {
      for (const change of changes) {
        const parsed = parseServerMessage({ ...valid[name], ...change })
        expect(parsed.ok, `${name} with ${JSON.stringify(change)}`).toBe(false)
        if (parsed.ok) continue
        expect(parsed.error).toBeInstanceOf(ProtocolError)
        expect(parsed.error.code).toBe('BAD_MESSAGE')
        expect(parsed.error.message).toMatch(/\S/)
      }
    }
  })

  it('refuses what is not a message: non-objects, arrays, missing or unknown types', () => {
    for (const raw of [null, 1, 'snap', [], [{ t: 'ack', op: 1, rev: 1 }], {}, { t: 5 }, { t: 'hello' }]) {
      expect(parseServerMessage(raw).ok, JSON.stringify(raw)).toBe(false)
    }
  })

  it('refuses forbidden keys in paths, values and superjson meta', () => {
    const base = { t: 'change', r: 'person', id: 'p1', rev: 2 }
    const bad = [
      { set: [[['__proto__', 'polluted'], { json: true }]] },
      { set: [[['constructor', 'prototype', 'x'], { json: 1 }]] },
      { unset: [['a', 'prototype']] },
      { value: JSON.parse('{"json":{"__proto__":{"polluted":true}}}') },
      { value: { json: { a: { constructor: 1 } } } },
      { value: { json: { a: 1 }, meta: { values: { 'a.__proto__': ['Date'] } } } },
      { value: { json: { a: 1 }, meta: { referentialEqualities: { a: ['b.constructor.prototype'] } } } },
    ]
    for (const change of bad) {
      const parsed = parseServerMessage({ ...base, ...change })
      expect(parsed.ok, JSON.stringify(change)).toBe(false)
      if (!parsed.ok) expect(parsed.error.message).toMatch(/__proto__|constructor|prototype/)
    }
    // A harmless name that merely contains a forbidden word is fine.
    expect(parseServerMessage({ ...base, set: [[['constructorId'], { json: 1 }]] }).ok).toBe(true)
  })

  it('bounds path length and value nesting', () => {
    const base = { t: 'change', r: 'person', id: 'p1', rev: 2 }
    const longest = Array.from({ length: MAX_PATH_DEPTH }, (_, i) => `k${i}`)
    expect(parseServerMessage({ ...base, set: [[longest, { json: 1 }]] }).ok).toBe(true)
    expect(parseServerMessage({ ...base, set: [[[...longest, 'one more'], { json: 1 }]] }).ok).toBe(false)
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = [deep]
    const parsed = parseServerMessage({ ...base, value: { json: deep } })
    expect(parsed).toMatchObject({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: expect.stringMatching(/nesting/), r: 'person', id: 'p1' },
    })
  })
})
