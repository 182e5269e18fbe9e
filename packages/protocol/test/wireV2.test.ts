import {
  type ClientMessage,
  compactBroadcast,
  createClientWire,
  createFrameDecoder,
  createServerWire,
  encodeChange,
  encodeGone,
  LATEST_PROTOCOL_VERSION,
  MAX_ENTITY_HANDLES,
  negotiateVersion,
  ProtocolError,
  parseClientMessage,
} from '@lensync/protocol'
import superjson from 'superjson'
import { describe, expect, it } from 'vitest'
import { serverError } from './serverError.ts'
import { wirePair } from './wirePair.ts'

// Protocol version 2: every compact form through its encoder and the other
// side's decoder, back to the version 1 message; and hostile compact input,
// refused with the same typed errors and limits as version 1.

const rich = superjson.serialize({ at: new Date(0), tags: new Set(['a']) })
const richText = JSON.stringify(rich)
const plainText = JSON.stringify({ json: { name: 'Ada', age: 36 } })

/** A client wire and a server wire agreed on version 2. */
function pair() {
  return wirePair(2)
}

describe('version negotiation', () => {
  it('answers with the version both speak', () => {
    expect(LATEST_PROTOCOL_VERSION).toBe(3)
    expect(negotiateVersion(1)).toBe(1)
    expect(negotiateVersion(2)).toBe(2)
    expect(negotiateVersion(3)).toBe(3)
    expect(negotiateVersion(7)).toBeUndefined()
    expect(negotiateVersion(0)).toBeUndefined()
    expect(createServerWire(1).welcome('c1', 'n1')).toBe('{"t":"welcome","v":1,"client":"c1","node":"n1"}')
    expect(createServerWire(2).welcome('c1', 'n1')).toBe('{"t":"welcome","v":2,"client":"c1","node":"n1"}')
    expect(createServerWire(3).welcome('c1', 'n1')).toBe('{"t":"welcome","v":3,"client":"c1","node":"n1"}')
    expect(createServerWire(3).version).toBe(3)
  })

  it('a client writes version 1 until welcome agrees on version 2', () => {
    const wire = createClientWire()
    const frames: string[] = []
    const del = (op: number) =>
      wire.send([{ t: 'del', op, r: 'task', id: 't1' }], text => frames.push(text) > 0)
    del(1)
    wire.agreed(1)
    del(2)
    wire.agreed(2)
    del(3)
    del(4)
    expect(wire.version).toBe(3)
    expect(frames).toEqual([
      '{"t":"del","op":1,"r":"task","id":"t1"}',
      '{"t":"del","op":2,"r":"task","id":"t1"}',
      '{"d":["task","t1"],"o":3}',
      '{"d":["task","t1"]}',
    ])
  })
})

describe('protocol v2 round trips', () => {
  it('the one-field edit of an entity subscribed to is at most 1.15× {path, value} both ways', () => {
    const p = pair()
    expect(p.down(p.server.entitySnap('wide', 'w-1', 1, plainText, true))).toEqual({
      t: 'snap',
      r: 'wide',
      id: 'w-1',
      rev: 1,
      value: { json: { name: 'Ada', age: 36 } },
    })
    const patch: ClientMessage = {
      t: 'patch',
      op: 2,
      r: 'wide',
      id: 'w-1',
      set: [[['status'], { json: 'in review' }]],
    }
    p.up([{ t: 'del', op: 1, r: 'other', id: 'x' }])
    expect(p.up([patch])).toEqual([patch])
    const sent = p.sent.at(-1) as string
    const v1Change = encodeChange('wide', 'w-1', 2, { set: JSON.stringify(patch.set) })
    const received = compactBroadcast(v1Change)(p.server.entityRef('wide', 'w-1'))
    const baseline = JSON.stringify({ path: '.status', value: 'in review' }).length
    expect(sent).toBe('{"p":1,"s":["status","in review"]}')
    expect(received).toBe('{"c":1,"r":2,"s":["status","in review"]}')
    expect(sent.length / baseline).toBeLessThanOrEqual(1.15)
    expect(received.length / baseline).toBeLessThanOrEqual(1.15)
    expect(p.down(received)).toEqual({ t: 'change', r: 'wide', id: 'w-1', rev: 2, set: patch.set })
  })

  it('writes of every kind, with metas, base, keep-theirs, client and create', () => {
    const p = pair()
    const messages: ClientMessage[] = [
      { t: 'put', op: 5, r: 'person', id: 'p1', value: rich as never, create: true },
      {
        t: 'patch',
        op: 6,
        r: 'person',
        id: 'p1',
        set: [
          [['a', 'b'], { json: 1 }],
          [['at'], { json: '1970-01-01T00:00:00.000Z', meta: { values: ['Date'] } }],
        ],
        unset: [['c'], ['d', 'e']],
        base: 3,
        onConflict: 'keep-theirs',
      },
      { t: 'patch', op: 'x-1', r: 'person', id: 'p1', set: [], unset: [['z']], client: 'other' },
      { t: 'del', op: 9, r: 'person', id: 'p1' },
      { t: 'put', op: 10, r: 'person', id: 'p2', value: { json: null }, base: 0 },
      { t: 'sub', r: 'person', id: 'p1' },
    ]
    const expected = messages.map(m => (m.t === 'patch' && m.op === 'x-1' ? { ...m, set: [] } : m))
    expect(p.up(messages)).toEqual(expected)
    // The op after a string op is written out; the next integer is not.
    expect(p.sent[0]).toContain('"o":9')
    expect(p.sent[0]).not.toContain('"o":10')
  })

  it('snaps, acks, changes and gone, with and without handles', () => {
    const p = pair()
    const page = p.server.collectionSnap(
      'person',
      9,
      [
        { id: 'a', rev: 2, value: richText },
        { id: 'b', rev: 3, value: plainText },
      ],
      ['c'],
      true,
      true,
    )
    expect(p.down(page)).toEqual({
      t: 'snap',
      r: 'person',
      rev: 9,
      items: [
        { id: 'a', rev: 2, value: rich },
        { id: 'b', rev: 3, value: { json: { name: 'Ada', age: 36 } } },
      ],
      gone: ['c'],
      more: true,
      full: true,
    })
    expect(p.down(p.server.entitySnap('person', 'zz', 0, null, false))).toEqual({
      t: 'snap',
      r: 'person',
      id: 'zz',
      rev: 0,
      value: null,
    })
    expect(p.down(p.server.ack(7, 2))).toEqual({ t: 'ack', op: 7, rev: 2 })
    const conflicts = [{ path: ['name'], rev: 4, by: 'Bo', theirs: plainText, applied: false }]
    expect(p.down(p.server.ack('op-7', 5, false, conflicts))).toEqual({
      t: 'ack',
      op: 'op-7',
      rev: 5,
      applied: false,
      conflicts: [
        { path: ['name'], rev: 4, by: 'Bo', theirs: { json: { name: 'Ada', age: 36 } }, applied: false },
      ],
    })
    // Entity b has handle 2 now; a change of it by value, with meta.
    const byValue = compactBroadcast(encodeChange('person', 'b', 10, { value: richText }))
    expect(p.server.entityRef('person', 'b')).toBe('2')
    expect(p.down(byValue('2'))).toEqual({ t: 'change', r: 'person', id: 'b', rev: 10, value: rich })
    expect(p.down(byValue(p.server.entityRef('person', 'b', true)))).toEqual({
      t: 'change',
      r: 'person',
      id: 'b',
      rev: 10,
      value: rich,
    })
    const unsetOnly = compactBroadcast(encodeChange('person', 'a', 11, { set: '[]', unset: '[["x"]]' }))
    expect(p.down(unsetOnly('1'))).toEqual({
      t: 'change',
      r: 'person',
      id: 'a',
      rev: 11,
      set: [],
      unset: [['x']],
    })
    const gone = compactBroadcast(encodeGone('person', 'a', 12))
    expect(gone('1')).toBe('{"g":1,"r":12}')
    expect(p.down(gone('1'))).toEqual({ t: 'gone', r: 'person', id: 'a', rev: 12 })
    // Version 1 messages pass on a version 2 connection.
    expect(p.down('{"t":"error","code":"BAD_FRAME","message":"m"}')).toEqual({
      t: 'error',
      code: 'BAD_FRAME',
      message: 'm',
    })
  })

  it('gives at most MAX_ENTITY_HANDLES handles a connection, then names entities', () => {
    const server = createServerWire(2)
    for (let i = 0; i < MAX_ENTITY_HANDLES; i++) server.entitySnap('r', `e${i}`, 1, null, true)
    expect(server.entitySnap('r', 'last', 1, null, true)).toBe('{"e":["r","last"],"r":1}')
    expect(server.entityRef('r', 'e0')).toBe('1')
    expect(server.entitySnap('r', 'e0', 1, null, true)).toBe('{"e":1,"r":1}')
  })

  it('routes every handle of a connection, few or many (up to the limit)', () => {
    const server = createServerWire(2)
    for (const count of [1, 8, 9, 40, MAX_ENTITY_HANDLES]) {
      // Entities get handles in the order they are bound; each name keeps its own.
      for (let i = 0; i < count; i++) server.entitySnap(`r${i % 3}`, `e${i}`, 1, null, true)
      for (let i = 0; i < count; i++) {
        expect(server.entityRef(`r${i % 3}`, `e${i}`)).toBe(String(i + 1))
        expect(parseClientMessage(server.decode({ d: i + 1, o: i }))).toMatchObject({
          r: `r${i % 3}`,
          id: `e${i}`,
        })
      }
    }
    // Same id in another resource is another entity, without a handle once the table is full.
    expect(server.entityRef('r1', 'e0')).toBe('["r1","e0"]')
    for (const handle of [0, 1.5, -1, MAX_ENTITY_HANDLES + 1])
      expect(serverError(server, { d: handle, o: 1 }).message).toContain(`unknown entity handle ${handle}`)
  })

  it('a frame that was not sent does not move the op sequence', () => {
    const wire = createClientWire()
    wire.agreed(2)
    const frames: string[] = []
    wire.send([{ t: 'del', op: 4, r: 'r', id: 'a' }], text => frames.push(text) > 0)
    wire.send([{ t: 'del', op: 5, r: 'r', id: 'a' }], () => false)
    wire.send([{ t: 'del', op: 6, r: 'r', id: 'a' }], text => frames.push(text) > 0)
    expect(frames).toEqual(['{"d":["r","a"],"o":4}', '{"d":["r","a"],"o":6}'])
  })
})

describe('hostile version 2 input', () => {
  it('is refused by the hub with the errors of version 1', () => {
    const wire = createServerWire(2)
    const cases: [unknown, string][] = [
      [{ p: 1, o: 1, s: [] }, 'BAD_FRAME'], // unknown handle
      [{ p: ['r'], o: 1 }, 'BAD_FRAME'],
      [{ p: ['r', 'a'], w: ['r', 'a'], o: 1 }, 'BAD_FRAME'],
      [{ q: 1 }, 'BAD_FRAME'],
      [{ p: ['r', 'a'], o: 1, s: ['x'] }, 'BAD_FRAME'],
      [{ p: ['r', 'a'], o: 1, s: ['x', 1], m: [[1, {}]] }, 'BAD_FRAME'],
      [{ p: ['r', 'a'], o: 1, s: ['__proto__', 1] }, 'BAD_FIELD'],
      [{ p: ['r', 'a'], o: 1, s: [['a', 'constructor'], 1] }, 'BAD_FIELD'],
      [{ p: ['r', 'a'], o: 1, x: ['prototype'] }, 'BAD_FIELD'],
      [{ w: ['r', 'a'], o: 1, v: JSON.parse('{"__proto__":{"x":1}}') }, 'BAD_FIELD'],
      [{ w: ['r', 'a'], o: 1, v: 1, m: { values: { 'a.__proto__': ['Date'] } } }, 'BAD_FIELD'],
      [{ p: ['r', 'a'], o: 1, s: [Array.from({ length: 65 }, () => 'k'), 1] }, 'BAD_FRAME'],
      [{ p: ['r', 'a'], o: 1, s: ['a', nested(150)] }, 'BAD_FIELD'],
      [{ w: ['r', 'a'], o: 1 }, 'BAD_FRAME'],
      [{ w: ['r', 'a'], o: 1, v: 1, n: true }, 'BAD_FRAME'],
      [{ p: ['r', 'a'], o: 1, k: 'yes' }, 'BAD_FRAME'],
      [{ d: ['', 'a'], o: 1 }, 'BAD_FRAME'],
      [{ d: ['r', 'x'.repeat(300)], o: 1 }, 'BAD_FRAME'],
      [{ d: ['r', 'a'], o: {} }, 'BAD_FRAME'],
    ]
    for (const [raw, code] of cases) expect([raw, serverError(wire, raw).code]).toEqual([raw, code])
    // A forbidden key in a write whose op was readable is answered with a reject of that op.
    expect(serverError(wire, { p: ['r', 'a'], o: 3, s: ['__proto__', 1] }).op).toBe(3)
  })

  it('an op is inferred only from a known previous op', () => {
    const wire = createServerWire(2)
    expect(serverError(wire, { d: ['r', 'a'] }).message).toContain('o is needed')
    expect(parseClientMessage(wire.decode({ d: ['r', 'a'], o: 41 }))).toMatchObject({ op: 41 })
    expect(parseClientMessage(wire.decode({ d: ['r', 'a'] }))).toMatchObject({ op: 42 })
    // A frame that could not be read may have held writes: the sequence is lost until an op is named.
    wire.decode(new ProtocolError('BAD_FRAME', 'the frame is not JSON'))
    expect(serverError(wire, { d: ['r', 'a'] }).message).toContain('o is needed')
    expect(serverError(wire, { d: ['r', 'a'], o: [] }).code).toBe('BAD_FRAME')
    expect(serverError(wire, { d: ['r', 'a'] }).code).toBe('BAD_FRAME')
    // A version 1 write names its op, and keeps the sequence.
    expect(wire.decode({ t: 'del', op: 7, r: 'r', id: 'a' })).toMatchObject({ op: 7 })
    expect(parseClientMessage(wire.decode({ d: ['r', 'a'] }))).toMatchObject({ op: 8 })
  })

  it('a version 1 connection takes no compact envelopes', () => {
    expect(serverError(createServerWire(1), { d: ['r', 'a'], o: 1 }).code).toBe('BAD_FRAME')
  })

  it('is skipped by the client with BAD_MESSAGE', () => {
    const wire = createClientWire()
    const bad = [
      { c: 5, r: 1, s: ['a', 1] }, // unknown handle
      { c: ['r', 'a'], r: 1, v: 1, s: ['a', 1] },
      { c: ['r', 'a'], r: 1, s: ['__proto__', 1] },
      { c: ['r', 'a'], r: 1, v: JSON.parse('{"__proto__":1}') },
      { c: ['r', 'a'], r: -1, v: 1 },
      { c: ['r', 'a'], r: 1, s: ['a', nested(150)] },
      { e: [0, 'r', 'a'], r: 1 },
      { e: [1, 'r', ''], r: 1 },
      { l: 'r', r: 1, i: ['a', 1] },
      { l: 'r', r: 1, i: [[1.5, 'a'], 1, 1] },
      { a: 1, r: 1, f: true },
      { a: 1, c: ['r', 'a'], r: 1 },
      { z: 1 },
    ]
    for (const raw of bad) {
      const [result] = wire.parse(JSON.stringify(raw)) as { ok: boolean; error?: ProtocolError }[]
      expect([raw, result?.ok, result?.error?.code]).toEqual([raw, false, 'BAD_MESSAGE'])
    }
    // A refused binding gives no handle.
    const [change] = wire.parse('{"c":1,"r":2,"v":1}') as { ok: boolean }[]
    expect(change?.ok).toBe(false)
    expect(wire.parse('not json')).toBeInstanceOf(ProtocolError)
  })
})

describe('createFrameDecoder', () => {
  it('reads both directions of a version 2 connection as version 1 messages', () => {
    const decoder = createFrameDecoder()
    expect(decoder.client('[{"t":"hello","v":2,"client":"c1"},{"t":"sub","r":"wide","id":"w-1"}]')).toEqual([
      { t: 'hello', v: 2, client: 'c1' },
      { t: 'sub', r: 'wide', id: 'w-1' },
    ])
    expect(
      decoder.server('[{"t":"welcome","v":2,"client":"c1","node":"n"},{"e":[1,"wide","w-1"],"r":1,"v":{}}]'),
    ).toEqual([
      { ok: true, message: { t: 'welcome', v: 2, client: 'c1', node: 'n' } },
      { ok: true, message: { t: 'snap', r: 'wide', id: 'w-1', rev: 1, value: { json: {} } } },
    ])
    expect(decoder.client('{"p":1,"o":2,"s":["status","in review"]}')).toEqual([
      { t: 'patch', op: 2, r: 'wide', id: 'w-1', set: [[['status'], { json: 'in review' }]] },
    ])
    expect(decoder.client('{"p":1,"s":["status","done"]}')).toEqual([
      { t: 'patch', op: 3, r: 'wide', id: 'w-1', set: [[['status'], { json: 'done' }]] },
    ])
    expect(decoder.server('{"a":3,"r":4}')).toEqual([{ ok: true, message: { t: 'ack', op: 3, rev: 4 } }])
    expect(decoder.server('{"c":1,"r":5,"s":["status","x"]}')).toEqual([
      {
        ok: true,
        message: { t: 'change', r: 'wide', id: 'w-1', rev: 5, set: [[['status'], { json: 'x' }]] },
      },
    ])
    expect(decoder.client('nope')).toBeInstanceOf(ProtocolError)
  })
})

function nested(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = { a: value }
  return value
}
