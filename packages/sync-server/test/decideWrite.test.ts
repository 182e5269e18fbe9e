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

describe('decideWrite: field revisions and conflicts', () => {
  // Field revisions as storage keeps them: `.name` written by client 'b' (Ada) at 5, `.age` by 'a' at 3.
  const FIELDS = '{"w":[[5,"b","Ada"],[3,"a"]],"f":{".name":0,".age":1}}'
  const person = (json: unknown = { name: 'Ada', age: 36 }, fields: string | null = FIELDS): EntityState => ({
    text: JSON.stringify({ json }),
    fields,
  })
  const mine = { ...limits, writer: { client: 'a', by: 'Grace' } }
  const edit = (set: PatchMessage['set'], extra: Partial<PatchMessage> = {}, unset?: PatchMessage['unset']) =>
    ({ ...patch(set, unset), ...extra }) as PatchMessage

  /** The conflicts of a decision, as the ack will carry them. */
  function conflictsOf(decision: WriteDecision) {
    if (decision.kind !== 'write' && decision.kind !== 'theirs')
      throw new Error(`expected a write, got ${JSON.stringify(decision)}`)
    return decision.conflicts.map(({ path, stamp, theirs, applied }) => ({
      path,
      rev: stamp.rev,
      client: stamp.client,
      by: stamp.by,
      theirs: theirs === null ? null : JSON.parse(theirs),
      applied,
    }))
  }

  /** The state a decision writes, with its stamps committed at `rev`. */
  function committedAt(decision: WriteDecision, rev: number): EntityState {
    if (decision.kind !== 'write') throw new Error(`expected a write, got ${JSON.stringify(decision)}`)
    decision.stamp.rev = rev
    return decision.state
  }

  it('reports a field another client wrote after the base, and applies mine (overwrite)', () => {
    const decision = decideWrite(person(), edit([[['name'], { json: 'Grace' }]], { base: 4 }), mine)
    expect(written(decision).value).toEqual({ json: { name: 'Grace', age: 36 } })
    expect(conflictsOf(decision)).toEqual([
      { path: ['name'], rev: 5, client: 'b', by: 'Ada', theirs: { json: 'Ada' }, applied: true },
    ])
  })

  it('no conflict: without a base, at or after the field revision, another field, my own write, or the same value', () => {
    const name = (value: string, extra: Partial<PatchMessage> = {}) =>
      conflictsOf(decideWrite(person(), edit([[['name'], { json: value }]], extra), mine))
    expect(name('Grace')).toEqual([])
    expect(name('Grace', { base: 5 })).toEqual([])
    expect(name('Grace', { base: 9 })).toEqual([])
    expect(name('Ada', { base: 4 })).toEqual([])
    expect(conflictsOf(decideWrite(person(), edit([[['age'], { json: 37 }]], { base: 0 }), mine))).toEqual([])
    expect(conflictsOf(decideWrite(person(), edit([[['email'], { json: 'x' }]], { base: 0 }), mine))).toEqual(
      [],
    )
    // Client 'b' wrote the name: for 'b' it is its own earlier write.
    const b = { ...limits, writer: { client: 'b' } }
    expect(conflictsOf(decideWrite(person(), edit([[['name'], { json: 'Grace' }]], { base: 0 }), b))).toEqual(
      [],
    )
  })

  it('data without field revisions never conflicts; a write gives its fields revisions', () => {
    const old = person({ name: 'Ada' }, null)
    expect(conflictsOf(decideWrite(old, edit([[['name'], { json: 'Grace' }]], { base: 0 }), mine))).toEqual(
      [],
    )
    const byB = committedAt(
      decideWrite(old, edit([[['name'], { json: 'Bea' }]]), { ...limits, writer: { client: 'b' } }),
      8,
    )
    expect(conflictsOf(decideWrite(byB, edit([[['name'], { json: 'Grace' }]], { base: 7 }), mine))).toEqual([
      { path: ['name'], rev: 8, client: 'b', by: undefined, theirs: { json: 'Bea' }, applied: true },
    ])
  })

  it('a write not committed yet conflicts whatever the base; a write without a client id is nobody’s own', () => {
    const staged = decideWrite(person(), edit([[['age'], { json: 40 }]]), {
      ...limits,
      writer: { client: 'b' },
    })
    if (staged.kind !== 'write') throw new Error('expected a write')
    const onTop = decideWrite(staged.state, edit([[['age'], { json: 41 }]], { base: 99 }), mine)
    expect(conflictsOf(onTop)).toEqual([
      { path: ['age'], rev: 0, client: 'b', by: undefined, theirs: { json: 40 }, applied: true },
    ])
    expect(conflictsOf(onTop)[0]).toMatchObject({ rev: 0 })
    staged.stamp.rev = 6
    expect(conflictsOf(onTop)[0]).toMatchObject({ rev: 6 })
    const anonymous = committedAt(decideWrite(person(), edit([[['age'], { json: 1 }]]), limits), 7)
    expect(conflictsOf(decideWrite(anonymous, edit([[['age'], { json: 2 }]], { base: 6 }), limits))).toEqual([
      { path: ['age'], rev: 7, client: null, by: undefined, theirs: { json: 1 }, applied: true },
    ])
  })

  it('a field above or below the written one counts; a sibling does not', () => {
    const home = person({ address: { street: 'Main', city: 'Oslo' } }, null)
    const streetByB = committedAt(
      decideWrite(home, edit([[['address', 'street'], { json: 'High' }]]), {
        ...limits,
        writer: { client: 'b' },
      }),
      10,
    )
    expect(
      conflictsOf(
        decideWrite(streetByB, edit([[['address'], { json: { street: 'Low' } }]], { base: 9 }), mine),
      ),
    ).toEqual([
      {
        path: ['address'],
        rev: 10,
        client: 'b',
        by: undefined,
        theirs: { json: { street: 'High', city: 'Oslo' } },
        applied: true,
      },
    ])
    expect(
      conflictsOf(decideWrite(streetByB, edit([[['address', 'city'], { json: 'Rome' }]], { base: 9 }), mine)),
    ).toEqual([])
    const addressByB = committedAt(
      decideWrite(home, edit([[['address'], { json: { street: 'New' } }]]), {
        ...limits,
        writer: { client: 'b' },
      }),
      11,
    )
    expect(
      conflictsOf(
        decideWrite(addressByB, edit([[['address', 'city'], { json: 'Rome' }]], { base: 10 }), mine),
      ),
    ).toEqual([
      { path: ['address', 'city'], rev: 11, client: 'b', by: undefined, theirs: null, applied: true },
    ])
  })

  it('a field another client removed conflicts with setting it again (theirs: null), and with an unset of what it set', () => {
    const removed = committedAt(
      decideWrite(person(), edit([], {}, [['name']]), { ...limits, writer: { client: 'b' } }),
      9,
    )
    expect(
      conflictsOf(decideWrite(removed, edit([[['name'], { json: 'Grace' }]], { base: 8 }), mine)),
    ).toEqual([{ path: ['name'], rev: 9, client: 'b', by: undefined, theirs: null, applied: true }])
    expect(conflictsOf(decideWrite(person(), edit([], { base: 4 }, [['name']]), mine))).toEqual([
      { path: ['name'], rev: 5, client: 'b', by: 'Ada', theirs: { json: 'Ada' }, applied: true },
    ])
  })

  it('keeps the stamps of at most 64 removed fields, the newest', () => {
    const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, i]))
    let state = committedAt(
      decideWrite(person(many, null), put(many), { ...limits, writer: { client: 'b' } }),
      1,
    )
    for (let i = 0; i < 70; i++)
      state = committedAt(
        decideWrite(state, edit([], {}, [[`k${i}`]]), { ...limits, writer: { client: 'b' } }),
        2 + i,
      )
    const again = (i: number) =>
      conflictsOf(decideWrite(state, edit([[[`k${i}`], { json: 'back' }]], { base: 1 }), mine)).length
    expect([again(0), again(5), again(6), again(69)]).toEqual([0, 0, 1, 1])
  })

  it('unsetting a field that is not there records nothing; removed keys are bounded in characters too', () => {
    const b = { ...limits, writer: { client: 'b' } }
    const nothing = committedAt(decideWrite(person(), edit([], {}, [['nick']]), b), 9)
    expect(conflictsOf(decideWrite(nothing, edit([[['nick'], { json: 'G' }]], { base: 8 }), mine))).toEqual(
      [],
    )
    // 40 removed keys of 1 000 characters: only the newest 16 fit in 16 KiB.
    const long = (i: number) => `${i}`.padStart(1000, 'k')
    const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [long(i), i]))
    let state = committedAt(decideWrite(person(wide, null), put(wide), b), 1)
    for (let i = 0; i < 40; i++) state = committedAt(decideWrite(state, edit([], {}, [[long(i)]]), b), 2 + i)
    const again = (i: number) =>
      conflictsOf(decideWrite(state, edit([[[long(i)], { json: 'back' }]], { base: 1 }), mine)).length
    expect([again(23), again(24), again(39)]).toEqual([0, 1, 1])
  })

  it('keep-theirs leaves the conflicting fields out of the write and its broadcast', () => {
    const decision = decideWrite(
      person(),
      edit(
        [
          [['name'], { json: 'Grace' }],
          [['age'], { json: 40 }],
        ],
        { base: 4, onConflict: 'keep-theirs' },
      ),
      mine,
    )
    expect(written(decision)).toEqual({
      value: { json: { name: 'Ada', age: 40 } },
      change: { t: 'change', r: 'doc', id: 'x', rev: 7, set: [[['age'], { json: 40 }]] },
    })
    expect(conflictsOf(decision)).toEqual([
      { path: ['name'], rev: 5, client: 'b', by: 'Ada', theirs: { json: 'Ada' }, applied: false },
    ])
  })

  it('keep-theirs with every field conflicting writes nothing: theirs', () => {
    const decision = decideWrite(
      person(),
      edit([[['name'], { json: 'Grace' }]], { base: 4, onConflict: 'keep-theirs' }, [['name']]),
      mine,
    )
    expect(decision.kind).toBe('theirs')
    expect(conflictsOf(decision)).toEqual([
      { path: ['name'], rev: 5, client: 'b', by: 'Ada', theirs: { json: 'Ada' }, applied: false },
    ])
  })

  it('a put writes its top-level fields: each may conflict; keep-theirs keeps their value of it', () => {
    const value = { name: 'Grace', age: 36, email: 'g@x' }
    const overwrite = decideWrite(person(), put(value, { base: 4 }), mine)
    expect(written(overwrite).value).toEqual({ json: value })
    expect(conflictsOf(overwrite)).toEqual([
      { path: ['name'], rev: 5, client: 'b', by: 'Ada', theirs: { json: 'Ada' }, applied: true },
    ])
    const keep = decideWrite(person(), put(value, { base: 4, onConflict: 'keep-theirs' }), mine)
    expect(written(keep)).toEqual({
      value: { json: { name: 'Ada', age: 36, email: 'g@x' } },
      change: {
        t: 'change',
        r: 'doc',
        id: 'x',
        rev: 7,
        value: { json: { name: 'Ada', age: 36, email: 'g@x' } },
      },
    })
    // A put that leaves out a field another client wrote removes it: a conflict too.
    expect(conflictsOf(decideWrite(person(), put({ age: 36 }, { base: 4 }), mine))).toEqual([
      { path: ['name'], rev: 5, client: 'b', by: 'Ada', theirs: { json: 'Ada' }, applied: true },
    ])
    expect(
      written(decideWrite(person(), put({ age: 1 }, { base: 4, onConflict: 'keep-theirs' }), mine)).value,
    ).toEqual({
      json: { name: 'Ada', age: 1 },
    })
  })

  it('a put replaces the field revisions below its fields; a put of a non-object is the whole value', () => {
    const byB = committedAt(
      decideWrite(person(), put({ name: 'Bea' }), { ...limits, writer: { client: 'b' } }),
      12,
    )
    expect(conflictsOf(decideWrite(byB, edit([[['age'], { json: 1 }]], { base: 11 }), mine))).toEqual([
      { path: ['age'], rev: 12, client: 'b', by: undefined, theirs: null, applied: true },
    ])
    const scalar = committedAt(
      decideWrite(person(), put('just text'), { ...limits, writer: { client: 'b' } }),
      13,
    )
    expect(conflictsOf(decideWrite(scalar, put({ name: 'Grace' }, { base: 12 }), mine))).toEqual([
      { path: ['name'], rev: 13, client: 'b', by: undefined, theirs: null, applied: true },
      { path: [], rev: 13, client: 'b', by: undefined, theirs: { json: 'just text' }, applied: true },
    ])
    expect(
      decideWrite(scalar, put({ name: 'Grace' }, { base: 12, onConflict: 'keep-theirs' }), mine).kind,
    ).toBe('theirs')
  })

  it('a delete clears the field revisions: a new entity starts unknown', () => {
    const gone = committedAt(decideWrite(person(), del, { ...limits, writer: { client: 'b' } }), 20)
    const back = committedAt(decideWrite(gone, put({ name: 'New' }), limits), 21)
    expect(conflictsOf(decideWrite(back, edit([[['age'], { json: 2 }]], { base: 4 }), mine))).toEqual([])
  })
})
