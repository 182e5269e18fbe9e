import {
  type ClientMessage,
  compactBroadcast,
  compactChangeOf,
  createClientWire,
  createFrameDecoder,
  createServerWire,
  encodeChange,
  encodeGone,
  ProtocolError,
  parseClientMessage,
  parseFrame,
  renderCompactChange,
  type ServerMessage,
} from '@lensync/protocol'
import { describe, expect, it } from 'vitest'
import { serverError } from './serverError.ts'
import { wirePair } from './wirePair.ts'

// Protocol version 3's short patch and short change: a one-edit write as
// the JSON array `[handle, base, path, value, …]` and its broadcast as
// `[handle, rev, path, value, …]`, written only when the message has that
// form, read back into the version 1 message, and hostile ones refused with
// version 1's typed errors.

const plainText = JSON.stringify({ json: { name: 'Ada', age: 36 } })

/** A client wire and a server wire agreed on `version`, the entity wide/w-1 bound to handle 1. */
function pair(version = 3) {
  return wirePair(version, server => server.entitySnap('wide', 'w-1', 1, plainText, true))
}

function patch(op: number, fields: Partial<Extract<ClientMessage, { t: 'patch' }>> = {}): ClientMessage {
  return {
    t: 'patch',
    op,
    r: 'wide',
    id: 'w-1',
    set: [[['status'], { json: 'in review' }]],
    base: 4,
    ...fields,
  }
}

describe('the short patch (protocol version 3)', () => {
  it('is how a one-field edit goes: 26 bytes, read back as the version 1 patch', () => {
    const p = pair()
    expect(p.up([{ t: 'del', op: 1, r: 'other', id: 'x' }])).toHaveLength(1)
    const edit = patch(2)
    expect(p.up([edit])).toEqual([edit])
    expect(p.sent.at(-1)).toBe('[1,4,"status","in review"]')
    // Several fields, a nested path, values of every JSON kind.
    const many = patch(3, {
      set: [
        [['a', 'b'], { json: [1, 2] }],
        [['n'], { json: null }],
        [['o'], { json: { x: 'y' } }],
      ],
      base: 0,
    })
    expect(p.up([many])).toEqual([many])
    expect(p.sent.at(-1)).toBe('[1,0,["a","b"],[1,2],"n",null,"o",{"x":"y"}]')
  })

  it('goes in a batch beside other envelopes, a lone one as the frame itself', () => {
    const p = pair()
    p.up([{ t: 'del', op: 1, r: 'other', id: 'x' }])
    const messages: ClientMessage[] = [
      patch(2),
      patch(3, { set: [[['n'], { json: 1 }]] }),
      { t: 'sub', r: 'wide' },
    ]
    expect(p.up(messages)).toEqual(messages)
    expect(p.sent.at(-1)).toBe('[[1,4,"status","in review"],[1,4,"n",1],{"t":"sub","r":"wide"}]')
    expect(parseFrame('[1,4,"n",1]')).toEqual([[1, 4, 'n', 1]])
    expect(parseFrame('[[1,4,"n",1]]')).toEqual([[1, 4, 'n', 1]])
  })

  it('is written only for a patch that has its form; every other write keeps the object form', () => {
    const p = pair()
    p.up([{ t: 'del', op: 1, r: 'other', id: 'x' }])
    const objectForm: [string, ClientMessage][] = [
      ['no base', patch(2, { base: undefined })],
      ['keep-theirs', patch(3, { onConflict: 'keep-theirs' })],
      ['an unset', patch(4, { unset: [['gone']] })],
      ['only unsets', patch(5, { set: [], unset: [['gone']] })],
      [
        'a value with meta',
        patch(6, { set: [[['at'], { json: '1970-01-01T00:00:00.000Z', meta: { values: ['Date'] } }]] }),
      ],
      ["another client's outbox", patch(7, { client: 'other' })],
      ['an op that is not the next', patch(9)],
      ['a string op', patch(10, { op: 'x-1' })],
      ['an entity without a handle', { ...patch(11), op: 11, id: 'w-2' } as ClientMessage],
    ]
    // (after the string op the sequence is lost: op 11 is named)
    for (const [why, message] of objectForm) {
      expect([why, p.up([message])]).toEqual([why, [message]])
      expect([why, p.sent.at(-1)?.startsWith('{')]).toEqual([why, true])
    }
    // An explicit overwrite is the default policy: short.
    expect(p.up([patch(12, { onConflict: 'overwrite' })])).toEqual(
      [{ ...patch(12), onConflict: undefined }].map(strip),
    )
    expect(p.sent.at(-1)).toBe('[1,4,"status","in review"]')
  })

  it('is not written on version 2 or 1', () => {
    for (const version of [2, 1]) {
      const p = pair(version)
      p.up([{ t: 'del', op: 1, r: 'other', id: 'x' }])
      expect(p.up([patch(2)])).toEqual([patch(2)])
      expect(p.sent.at(-1)?.startsWith('{')).toBe(true)
    }
  })

  it('is read by a frame decoder watching the connection', () => {
    const decoder = createFrameDecoder()
    decoder.server('[{"t":"welcome","v":3,"client":"c1","node":"n"},{"e":[1,"wide","w-1"],"r":1,"v":{}}]')
    expect(decoder.client('{"d":["other","x"],"o":1}')).toEqual([{ t: 'del', op: 1, r: 'other', id: 'x' }])
    expect(decoder.client('[1,4,"status","in review"]')).toEqual([patch(2)])
  })
})

describe('hostile short patches', () => {
  it('are refused with the errors of version 1, the op still counted', () => {
    const wire = createServerWire(3)
    wire.entitySnap('wide', 'w-1', 1, plainText, true)
    wire.decode({ d: ['other', 'x'], o: 1 })
    const cases: [unknown, string, string][] = [
      [[1, 4, 'status'], 'BAD_FRAME', 'at least one path and value'],
      [[1, 4], 'BAD_FRAME', 'at least one path and value'],
      [[99, 4, 'a', 1], 'BAD_FRAME', 'handle 99'],
      [[0, 4, 'a', 1], 'BAD_FRAME', 'handle 0'],
      [[1.5, 4, 'a', 1], 'BAD_FRAME', 'handle 1.5'],
      [[1, -1, 'a', 1], 'BAD_FRAME', 'base'],
      [[1, '4', 'a', 1], 'BAD_FRAME', 'base'],
      [[1, 4, 7, 1], 'BAD_FRAME', 'path'],
      [[1, 4, [], 1], 'BAD_FRAME', 'path'],
      [[1, 4, Array.from({ length: 65 }, () => 'k'), 1], 'BAD_FRAME', 'path'],
      [[1, 4, '__proto__', 1], 'BAD_FIELD', '__proto__'],
      [[1, 4, ['a', 'constructor'], 1], 'BAD_FIELD', 'constructor'],
      [[1, 4, 'a', JSON.parse('{"__proto__":{"x":1}}')], 'BAD_FIELD', '__proto__'],
    ]
    for (const [raw, code, says] of cases) {
      const error = serverError(wire, raw)
      expect([raw, error.code, error.message.includes(says)]).toEqual([raw, code, true])
    }
    // Each refused short patch used its op: the next write's op is counted on from them.
    expect(parseClientMessage(wire.decode({ d: ['other', 'x'] }))).toMatchObject({ op: 2 + cases.length })
    // A forbidden key in a short patch is answered with a reject of its (inferred) op.
    expect(serverError(wire, [1, 4, '__proto__', 1]).op).toBe(3 + cases.length)
  })

  it('needs a known previous op', () => {
    const wire = createServerWire(3)
    wire.entitySnap('wide', 'w-1', 1, plainText, true)
    expect(serverError(wire, [1, 4, 'a', 1]).message).toContain("previous write's op")
    // Nor after a frame that could not be read.
    wire.decode({ d: ['other', 'x'], o: 1 })
    wire.decode(new ProtocolError('BAD_FRAME', 'the frame is not JSON'))
    expect(serverError(wire, [1, 4, 'a', 1]).code).toBe('BAD_FRAME')
    expect(parseClientMessage(wire.decode({ d: ['other', 'x'], o: 5 }))).toMatchObject({ op: 5 })
    expect(parseClientMessage(wire.decode([1, 4, 'a', 1]))).toMatchObject({ t: 'patch', op: 6, base: 4 })
  })

  it('are not read on a version 2 or 1 connection', () => {
    for (const version of [2, 1]) {
      const wire = createServerWire(version)
      wire.entitySnap('wide', 'w-1', 1, plainText, true)
      wire.decode({ t: 'del', op: 1, r: 'other', id: 'x' })
      const error = serverError(wire, [1, 4, 'a', 1])
      expect([version, error.code, error.message]).toEqual([
        version,
        'BAD_FRAME',
        'an envelope must be a JSON object',
      ])
    }
  })
})

describe('the short change (protocol version 3)', () => {
  const set = (text: string) => encodeChange('wide', 'w-1', 7, { set: text })

  it('is how a version 3 connection gets a change that only sets plain fields of an entity with a handle', () => {
    expect(compactBroadcast(set('[[["status"],{"json":"in review"}]]'))('1', true)).toBe(
      '[1,7,"status","in review"]',
    )
    expect(compactBroadcast(set('[[["a","b"],{"json":[1]}],[["n"],{"json":null}]]'))('12', true)).toBe(
      '[12,7,["a","b"],[1],"n",null]',
    )
    const compact = compactChangeOf({ set: [[['status'], { json: 'in review' }]] })
    expect(renderCompactChange(compact, 7)('1', true)).toBe('[1,7,"status","in review"]')
  })

  it('is not made for an entity named by [resource, id], a meta, an unset, a put, a gone, or version 2', () => {
    const plain = set('[[["status"],{"json":"x"}]]')
    expect(compactBroadcast(plain)('["wide","w-1"]', true)).toBe(
      '{"c":["wide","w-1"],"r":7,"s":["status","x"]}',
    )
    expect(compactBroadcast(plain)('1', false)).toBe('{"c":1,"r":7,"s":["status","x"]}')
    expect(compactBroadcast(plain)('1')).toBe('{"c":1,"r":7,"s":["status","x"]}')
    const dated = set('[[["at"],{"json":"1970-01-01T00:00:00.000Z","meta":{"values":["Date"]}}]]')
    expect(compactBroadcast(dated)('1', true)).toMatch(/^\{"c":1,/)
    const unset = encodeChange('wide', 'w-1', 7, { set: '[[["a"],{"json":1}]]', unset: '[["b"]]' })
    expect(compactBroadcast(unset)('1', true)).toBe('{"c":1,"r":7,"s":["a",1],"x":["b"]}')
    expect(compactBroadcast(encodeChange('wide', 'w-1', 7, { set: '[]' }))('1', true)).toBe(
      '{"c":1,"r":7,"s":[]}',
    )
    const put = encodeChange('wide', 'w-1', 7, { value: '{"json":{"a":1}}' })
    expect(compactBroadcast(put)('1', true)).toBe('{"c":1,"r":7,"v":{"a":1}}')
    expect(compactBroadcast(encodeGone('wide', 'w-1', 7))('1', true)).toBe('{"g":1,"r":7}')
  })

  it('is read by the client alone, in a batch, and by a frame decoder', () => {
    const client = createClientWire()
    const server = createServerWire(3)
    client.agreed(3)
    const snap = server.entitySnap('wide', 'w-1', 1, plainText, true)
    const read = (text: string): ServerMessage[] => {
      const parsed = client.parse(text)
      if (parsed instanceof ProtocolError) throw parsed
      return parsed.map(p => {
        if (!p.ok) throw p.error
        return p.message
      })
    }
    read(snap)
    expect(read('[1,7,"status","in review"]')).toEqual([
      { t: 'change', r: 'wide', id: 'w-1', rev: 7, set: [[['status'], { json: 'in review' }]] },
    ])
    expect(read('[[1,8,["a","b"],{"c":[1]}],{"a":3,"r":9},[1,10,"n",null,"m",2]]')).toEqual([
      { t: 'change', r: 'wide', id: 'w-1', rev: 8, set: [[['a', 'b'], { json: { c: [1] } }]] },
      { t: 'ack', op: 3, rev: 9 },
      {
        t: 'change',
        r: 'wide',
        id: 'w-1',
        rev: 10,
        set: [
          [['n'], { json: null }],
          [['m'], { json: 2 }],
        ],
      },
    ])
    const decoder = createFrameDecoder()
    decoder.server(snap)
    expect(decoder.server('[1,7,"status","in review"]')).toEqual([
      {
        ok: true,
        message: { t: 'change', r: 'wide', id: 'w-1', rev: 7, set: [[['status'], { json: 'in review' }]] },
      },
    ])
  })

  it('is skipped with BAD_MESSAGE when hostile or ill-shaped', () => {
    const client = createClientWire()
    client.agreed(3)
    client.parse(createServerWire(3).entitySnap('wide', 'w-1', 1, plainText, true))
    const cases: [string, string][] = [
      ['[1,7,"status"]', 'at least one path and value'],
      ['[5,7,"a",1]', 'handle 5'],
      ['[1,-1,"a",1]', 'rev'],
      ['[1,"7","a",1]', 'rev'],
      ['[1,7,"__proto__",1]', '__proto__'],
      ['[1,7,["a","constructor"],1]', 'constructor'],
      ['[1,7,"a",{"__proto__":{"x":1}}]', '__proto__'],
      ['[1,7,[],1]', 'path'],
      ['[1,7,3,1]', 'set[0][0]'],
    ]
    for (const [text, says] of cases) {
      const parsed = client.parse(text)
      if (parsed instanceof ProtocolError) throw parsed
      const [only] = parsed
      expect([text, only?.ok, only?.ok === false && only.error.code]).toEqual([text, false, 'BAD_MESSAGE'])
      expect([text, only?.ok === false && only.error.message.includes(says)]).toEqual([text, true])
    }
    // The connection reads on.
    const after = client.parse('[1,8,"a",1]')
    expect(Array.isArray(after) && after[0]?.ok).toBe(true)
  })
})

/** The message without its `undefined` fields (as the parser rebuilds it). */
function strip(message: ClientMessage): ClientMessage {
  return JSON.parse(JSON.stringify(message)) as ClientMessage
}
