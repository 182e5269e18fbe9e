import {
  type ClientMessage,
  CloseCodes,
  encodeAck,
  encodeChange,
  encodeCollectionSnap,
  encodeEntitySnap,
  encodeError,
  encodeGone,
  encodePresenceGone,
  encodePresencePeer,
  encodePresenceSnap,
  encodeReauth,
  encodeReject,
  encodeWelcome,
  PROTOCOL_VERSION,
  ProtocolError,
  parseClientMessage,
  parseFrame,
  parseServerMessage,
  type ServerMessage,
  splitChange,
} from '@lensync/protocol'
import superjson from 'superjson'
import { describe, expect, it } from 'vitest'

// Every message type through its encoder and back through the parser of the
// other side, and random malformed input that both parsers must refuse with
// a ProtocolError, never with an exception.

const rich = superjson.serialize({ at: new Date(0), tags: new Set(['a']) })
const richText = JSON.stringify(rich)
const plainText = JSON.stringify({ json: { name: 'Ada', age: 36 } })

function parseServer(text: string): ServerMessage {
  const parsed = parseServerMessage(JSON.parse(text))
  if (!parsed.ok) throw parsed.error
  return parsed.message
}

describe('server messages: encoder → parser', () => {
  const cases: [string, string, ServerMessage][] = [
    [
      'welcome',
      encodeWelcome('c-1', 'node-a'),
      { t: 'welcome', v: PROTOCOL_VERSION, client: 'c-1', node: 'node-a' },
    ],
    [
      'entity snap',
      encodeEntitySnap('person', 'p"1', 3, plainText),
      { t: 'snap', r: 'person', id: 'p"1', rev: 3, value: JSON.parse(plainText) },
    ],
    [
      'absent entity snap',
      encodeEntitySnap('person', 'p1', 0, null),
      { t: 'snap', r: 'person', id: 'p1', rev: 0, value: null },
    ],
    [
      'collection snap page',
      encodeCollectionSnap('person', 9, [{ id: 'a', rev: 2, value: richText }], ['b'], true),
      {
        t: 'snap',
        r: 'person',
        rev: 9,
        items: [{ id: 'a', rev: 2, value: rich as never }],
        gone: ['b'],
        more: true,
      },
    ],
    [
      'full collection snap page (since too old)',
      encodeCollectionSnap('person', 9, [], [], true, true),
      { t: 'snap', r: 'person', rev: 9, items: [], gone: [], more: true, full: true },
    ],
    [
      'last collection snap page',
      encodeCollectionSnap('person', 9, [], [], false),
      { t: 'snap', r: 'person', rev: 9, items: [], gone: [] },
    ],
    ['ack', encodeAck(7, 2), { t: 'ack', op: 7, rev: 2 }],
    ['ack of an offer', encodeAck('op-7', 2, false), { t: 'ack', op: 'op-7', rev: 2, applied: false }],
    [
      'ack with conflicts',
      encodeAck(8, 12, true, [
        { path: ['name'], rev: 11, by: 'Ada "A"', theirs: plainText, applied: true },
        { path: ['address', 'street'], rev: 10, theirs: null, applied: true },
      ]),
      {
        t: 'ack',
        op: 8,
        rev: 12,
        conflicts: [
          { path: ['name'], rev: 11, by: 'Ada "A"', theirs: JSON.parse(plainText), applied: true },
          { path: ['address', 'street'], rev: 10, theirs: null, applied: true },
        ],
      },
    ],
    [
      'ack of a keep-theirs write with nothing left',
      encodeAck(9, 12, false, [{ path: [], rev: 11, theirs: richText, applied: false }]),
      {
        t: 'ack',
        op: 9,
        rev: 12,
        applied: false,
        conflicts: [{ path: [], rev: 11, theirs: rich as never, applied: false }],
      },
    ],
    ['ack with no conflicts', encodeAck(10, 3, true, []), { t: 'ack', op: 10, rev: 3 }],
    [
      'change with a value',
      encodeChange('person', 'p1', 4, { value: richText }),
      { t: 'change', r: 'person', id: 'p1', rev: 4, value: rich as never },
    ],
    [
      'change with fields',
      encodeChange('person', 'p1', 5, {
        set: JSON.stringify([[['name'], { json: 'Grace' }]]),
        unset: JSON.stringify([['age']]),
      }),
      { t: 'change', r: 'person', id: 'p1', rev: 5, set: [[['name'], { json: 'Grace' }]], unset: [['age']] },
    ],
    ['gone', encodeGone('person', 'p1', 6), { t: 'gone', r: 'person', id: 'p1', rev: 6 }],
    [
      'reject of a write',
      encodeReject({ op: 3 }, 'VALIDATION_FAILED', 'age: too small', [
        { message: 'too small', path: ['age'] },
      ]),
      {
        t: 'reject',
        op: 3,
        code: 'VALIDATION_FAILED',
        message: 'age: too small',
        issues: [{ message: 'too small', path: ['age'] }],
      },
    ],
    [
      'reject of a sub',
      encodeReject({ r: 'person', id: 'p1' }, 'FORBIDDEN', 'no'),
      { t: 'reject', r: 'person', id: 'p1', code: 'FORBIDDEN', message: 'no' },
    ],
    [
      'error',
      encodeError('UNKNOWN_TYPE', 'what is "x"?'),
      { t: 'error', code: 'UNKNOWN_TYPE', message: 'what is "x"?' },
    ],
    [
      'reject of a presence update',
      encodeReject({ room: 'person/p1' }, 'TOO_LARGE', 'state too big'),
      { t: 'reject', room: 'person/p1', code: 'TOO_LARGE', message: 'state too big' },
    ],
    [
      'presence snapshot',
      encodePresenceSnap('person/p1', [{ client: 'c-2', state: richText }]),
      { t: 'psnap', room: 'person/p1', peers: [{ client: 'c-2', state: rich as never }] },
    ],
    [
      'presence peer',
      encodePresencePeer('person/p1', 'c-3', plainText),
      { t: 'ppeer', room: 'person/p1', client: 'c-3', state: JSON.parse(plainText) },
    ],
    [
      'presence gone',
      encodePresenceGone('person/p1', 'c-3'),
      { t: 'pgone', room: 'person/p1', client: 'c-3' },
    ],
    ['reauth', encodeReauth(1_764_000_000_000.7), { t: 'reauth', expiresAt: 1_764_000_000_000 }],
  ]
  it.each(cases)('%s', (_name, text, expected) => {
    expect(parseServer(text)).toEqual(expected)
  })

  it('splitChange puts the revision between head and tail', () => {
    const [head, tail] = splitChange('r', 'i', { value: plainText })
    expect(`${head}12${tail}`).toBe(encodeChange('r', 'i', 12, { value: plainText }))
  })

  it('every close code is defined once, with the numbers both sides use', () => {
    expect(CloseCodes).toMatchObject({
      GOING_AWAY: 1001,
      POLICY: 1008,
      INTERNAL_ERROR: 1011,
      TRY_AGAIN_LATER: 1013,
    })
    expect(CloseCodes).toMatchObject({ UNAUTHENTICATED: 4401, FORBIDDEN: 4403 })
    expect(new Set(Object.values(CloseCodes)).size).toBe(Object.values(CloseCodes).length)
  })
})

describe('client messages: JSON → parser', () => {
  const messages: ClientMessage[] = [
    { t: 'hello', v: 1, client: 'c-1', token: 'secret' },
    { t: 'sub', r: 'person', id: 'p1' },
    { t: 'sub', r: 'person', since: 12 },
    { t: 'unsub', r: 'person' },
    { t: 'put', op: 1, r: 'person', id: 'p1', value: rich as never, create: true },
    { t: 'patch', op: 'o-2', r: 'person', id: 'p1', set: [[['name'], { json: 'Ada' }]], unset: [['age']] },
    { t: 'del', op: 3, r: 'person', id: 'p1' },
    { t: 'patch', op: 4, r: 'person', id: 'p1', set: [[['age'], { json: 1 }]], client: 'closed-tab' },
    { t: 'patch', op: 5, r: 'person', id: 'p1', set: [[['age'], { json: 2 }]], base: 7 },
    {
      t: 'patch',
      op: 6,
      r: 'person',
      id: 'p1',
      set: [[['age'], { json: 3 }]],
      base: 0,
      onConflict: 'keep-theirs',
    },
    { t: 'put', op: 7, r: 'person', id: 'p1', value: { json: {} }, base: 9, onConflict: 'overwrite' },
    { t: 'pjoin', room: 'person/p1', state: { json: { name: 'Ada' } } },
    { t: 'pset', room: 'person/p1', state: rich as never },
    { t: 'pleave', room: 'person/p1' },
  ]
  it.each(messages.map((m, i) => [`${m.t} #${i}`, m] as const))('%s', (_t, message) => {
    const frame = parseFrame(JSON.stringify(message))
    expect(frame).not.toBeInstanceOf(ProtocolError)
    expect(parseClientMessage((frame as unknown[])[0])).toEqual(message)
  })

  it('rebuilds a message from its known fields only', () => {
    expect(parseClientMessage({ t: 'del', op: 1, r: 'a', id: 'b', extra: { huge: true } })).toEqual({
      t: 'del',
      op: 1,
      r: 'a',
      id: 'b',
    })
  })

  it('refuses with a code and, for a write, the op to answer', () => {
    const forbidden = parseClientMessage({
      t: 'patch',
      op: 4,
      r: 'a',
      id: 'b',
      set: [[['__proto__'], { json: 1 }]],
    })
    expect(forbidden).toBeInstanceOf(ProtocolError)
    expect(forbidden).toMatchObject({ code: 'BAD_FIELD', op: 4, r: 'a', id: 'b' })
    expect(
      parseClientMessage({ t: 'pset', room: 'r', state: { json: { __proto__: null, constructor: 1 } } }),
    ).toMatchObject({ code: 'BAD_FIELD' })
    expect(parseClientMessage({ t: 'pjoin', room: '', state: { json: 1 } })).toMatchObject({
      code: 'BAD_FRAME',
    })
    expect(parseClientMessage({ t: 'pjoin', room: 'r' })).toMatchObject({ code: 'BAD_FRAME' })
    for (const base of [-1, 1.5, '3', null])
      expect(parseClientMessage({ t: 'patch', op: 1, r: 'a', id: 'b', set: [], base })).toMatchObject({
        code: 'BAD_FRAME',
      })
    expect(
      parseClientMessage({ t: 'put', op: 1, r: 'a', id: 'b', value: { json: 1 }, onConflict: 'merge' }),
    ).toMatchObject({ code: 'BAD_FRAME' })
    expect(parseClientMessage({ t: 'nope' })).toMatchObject({ code: 'UNKNOWN_TYPE' })
    expect(parseClientMessage([])).toMatchObject({ code: 'BAD_FRAME' })
    expect(parseFrame('{')).toMatchObject({ code: 'BAD_FRAME' })
  })
})

/** A small seeded PRNG (mulberry32), so a failure can be replayed with its seed. */
function prng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('random malformed input', () => {
  const seed = Number(process.env.LENSYNC_PROTOCOL_SEED ?? 20_261_203)
  const random = prng(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const atoms: unknown[] = [
    null,
    true,
    0,
    -1,
    1.5,
    2 ** 60,
    Number.NaN,
    '',
    'x',
    '__proto__',
    'constructor',
    'prototype',
    [],
    {},
    [[]],
    { json: 1 },
    { json: 1, meta: 'x' },
  ]
  function junk(depth: number): unknown {
    const roll = random()
    if (depth > 4 || roll < 0.4) return pick(atoms)
    if (roll < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => junk(depth + 1))
    const keys = [
      't',
      'r',
      'id',
      'op',
      'rev',
      'v',
      'value',
      'set',
      'unset',
      'items',
      'gone',
      'code',
      'json',
      'meta',
      '__proto__',
    ]
    const out: Record<string, unknown> = {}
    for (let i = Math.floor(random() * 5); i > 0; i--) out[pick(keys)] = junk(depth + 1)
    return out
  }
  const serverValid = [
    encodeWelcome('c', 'n'),
    encodeEntitySnap('r', 'i', 1, plainText),
    encodeCollectionSnap('r', 2, [{ id: 'i', rev: 1, value: richText }], ['g'], true),
    encodeAck(1, 1),
    encodeChange('r', 'i', 3, { set: JSON.stringify([[['a', 'b'], { json: 1 }]]), unset: '[["c"]]' }),
    encodeGone('r', 'i', 4),
    encodeReject({ op: 1 }, 'FORBIDDEN', 'no'),
    encodeError('BAD_FRAME', 'no'),
  ].map(text => JSON.parse(text) as Record<string, unknown>)
  const clientValid: Record<string, unknown>[] = [
    { t: 'hello', v: 1, client: 'c' },
    { t: 'sub', r: 'r', id: 'i', since: 1 },
    { t: 'put', op: 1, r: 'r', id: 'i', value: rich },
    { t: 'patch', op: 1, r: 'r', id: 'i', set: [[['a'], { json: 1 }]], unset: [['b']] },
    { t: 'del', op: 1, r: 'r', id: 'i' },
  ]
  /** A valid message with one field replaced by junk (or one junk field added). */
  function mutate(message: Record<string, unknown>): Record<string, unknown> {
    const keys = Object.keys(message)
    const out = { ...message }
    out[random() < 0.8 ? pick(keys) : pick(['x', '__proto__', 'constructor'])] = junk(0)
    return out
  }

  it(`never throws, and refuses with a ProtocolError (seed ${seed})`, () => {
    let refusedServer = 0
    let refusedClient = 0
    for (let i = 0; i < 20_000; i++) {
      const server = random() < 0.5 ? junk(0) : mutate(pick(serverValid))
      const parsed = parseServerMessage(server)
      if (!parsed.ok) {
        refusedServer++
        expect(parsed.error).toBeInstanceOf(ProtocolError)
        expect(parsed.error.code).toBe('BAD_MESSAGE')
      }
      const client = random() < 0.5 ? junk(0) : mutate(pick(clientValid))
      const checked = parseClientMessage(client)
      if (checked instanceof ProtocolError) {
        refusedClient++
        expect(['BAD_FRAME', 'UNKNOWN_TYPE', 'BAD_FIELD']).toContain(checked.code)
      }
      const text = JSON.stringify(client) ?? ''
      const cut = text.slice(0, Math.floor(random() * text.length))
      const frame = parseFrame(cut)
      if (!(frame instanceof ProtocolError)) for (const envelope of frame) parseClientMessage(envelope)
    }
    // The mutations mostly break something; a run that refused nothing tested nothing.
    expect(refusedServer).toBeGreaterThan(10_000)
    expect(refusedClient).toBeGreaterThan(10_000)
    expect(Object.prototype).not.toHaveProperty('polluted')
  })
})
