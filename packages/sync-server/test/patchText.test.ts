import {
  applyFieldChanges,
  defaultSerializer,
  type Encoded,
  type FieldPath,
  type FieldSet,
  type PatchMessage,
  type PutMessage,
} from '@lensync/protocol'
import { decideWrite, type EntityState, type WriteContext } from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { mulberry32, type Random, seedFromEnv } from './support/prng.ts'

// A patch rewrites only the top-level fields it touches in the stored text
// and copies the rest (see the README, Limits), for plain records and for
// those whose envelope has a `meta` (Dates, Sets, Maps, BigInts, RegExps). The text
// must still be exactly what serializing the whole new value gives: storage,
// snapshots and other nodes read it. These tests chain seeded random writes
// through decideWrite and compare every state's text with that.

const SEED = seedFromEnv('LENSYNC_PATCH_SEED', 20_261_204)
/** Keys that are ordered first (integer-like), need escapes, or are special to JavaScript. */
const KEYS = [
  'a',
  'b',
  'name',
  'notes',
  '0',
  '7',
  '12',
  '01',
  '__proto__',
  'constructor',
  'ünï',
  'q"t',
  'b\\s',
  '\u2028',
  '😀',
]
/** The keys of runs with Dates: superjson refuses to serialize `__proto__` and `constructor` keys. */
const RICH_KEYS = KEYS.filter(key => key !== '__proto__' && key !== 'constructor')

function randomValue(random: Random, depth: number, keys = KEYS): unknown {
  switch (random.int(0, depth > 2 ? 3 : 5)) {
    case 0:
      return random.int(-5, 1e6)
    case 1:
      return 'x'.repeat(random.int(0, 40)) + random.pick(keys)
    case 2:
      return random.pick([null, true, false, 0.1, 1.5e300])
    case 3:
      return []
    case 4:
      return Array.from({ length: random.int(0, 3) }, () => randomValue(random, depth + 1, keys))
    default: {
      const value: Record<string, unknown> = {}
      for (let i = random.int(0, 3); i > 0; i--)
        Object.defineProperty(value, random.pick(keys), {
          value: randomValue(random, depth + 1, keys),
          enumerable: true,
          writable: true,
          configurable: true,
        })
      return value
    }
  }
}

function randomPath(random: Random, keys: readonly string[]): FieldPath {
  return Array.from({ length: random.chance(0.7) ? 1 : random.int(2, 3) }, () => random.pick(keys))
}

/** Values the serializer annotates (a `meta`): its fast path's types, and a RegExp, which superjson encodes. */
function richValue(random: Random): unknown {
  switch (random.int(0, 4)) {
    case 0:
      return new Date(random.int(0, 1e12))
    case 1:
      return new Set([random.int(0, 9), 'a'])
    case 2:
      return new Map([[random.pick(RICH_KEYS), { at: new Date(random.int(0, 1e12)) }]])
    case 3:
      return BigInt(random.int(0, 1e9)) * 10n ** 12n
    default:
      return /ab+c/gi
  }
}

/** A set entry with a plain value, or (in a rich run, sometimes) one with a `meta`. */
function randomSet(random: Random, rich: boolean): FieldSet {
  const keys = rich ? RICH_KEYS : KEYS
  const path = random.chance(0.02) ? [] : randomPath(random, keys)
  if (rich && random.chance(0.15)) return [path, defaultSerializer.serialize(richValue(random))]
  const value = randomValue(random, path.length === 0 ? 2 : 1, keys)
  return [path, { json: value } as Encoded]
}

/** What serializing a value whole gives: the text every state must have. */
function wholeText(value: unknown): string {
  return JSON.stringify(defaultSerializer.serialize(value))
}

const limits = { maxEntityBytes: 1 << 22, maxPatchEntries: 10_000 }

describe('a patch rewrites only its fields, to the same text', () => {
  it(`gives, after every write, the text of the whole new value (seed ${SEED})`, () => {
    const random = mulberry32(SEED)
    let spliced = 0
    let splicedRich = 0
    for (let run = 0; run < 400; run++) {
      // Runs with Dates turn the record rich (a `meta`) and back.
      const rich = random.chance(0.3)
      const keys = rich ? RICH_KEYS : KEYS
      // The record as stored: by another serializer (spaces), or as sent.
      const start = randomValue(random, 0, keys)
      const first: Record<string, unknown> = { ...(start as object), notes: 'n'.repeat(random.int(0, 2000)) }
      let state: EntityState = random.chance(0.5)
        ? { text: JSON.stringify({ json: first }, null, 1) }
        : { text: JSON.stringify({ json: first }) }
      let model: unknown = first
      for (let step = 0; step < 25; step++) {
        const writer: WriteContext['writer'] = { client: random.pick(['A', 'B']) }
        const context: WriteContext = { ...limits, writer }
        if (random.chance(0.05)) {
          const value = randomValue(random, 0, keys)
          const put = { t: 'put', op: step, r: 'doc', id: 'x', value: { json: value } } as PutMessage
          const decision = decideWrite(state, put, context)
          if (decision.kind !== 'write') throw new Error(`put: ${decision.kind}`)
          state = decision.state
          model = value
          expect(state.text).toBe(wholeText(model))
          continue
        }
        const set = Array.from({ length: random.chance(0.05) ? random.int(30, 40) : random.int(0, 3) }, () =>
          randomSet(random, rich),
        )
        const unset = random.chance(0.4)
          ? Array.from({ length: random.int(1, 2) }, () => randomPath(random, keys))
          : undefined
        const conflicting = random.chance(0.2)
        const msg = {
          t: 'patch',
          op: step,
          r: 'doc',
          id: 'x',
          set,
          ...(unset ? { unset } : {}),
          ...(conflicting ? { base: 0, onConflict: random.pick(['keep-theirs', 'overwrite']) } : {}),
        } as PatchMessage
        // Decoded now: the hub may decode the message's envelopes in place.
        const changes = set.map(
          ([path, value]) => [path, defaultSerializer.deserialize(structuredClone(value))] as const,
        )
        const decision = decideWrite(state, msg, context)
        if (decision.kind === 'theirs') continue
        if (decision.kind !== 'write') throw new Error(`patch: ${JSON.stringify(decision)}`)
        // The state's layout (internal) says the text was made from the base's, not serialized whole.
        const laidOut = state.layout !== undefined && decision.state.layout !== undefined
        state = decision.state
        // A dropped conflict keeps their fields: the model is the state's own value then.
        if (decision.conflicts.every(c => c.applied)) model = applyFieldChanges(model, changes, unset)
        else model = defaultSerializer.deserialize(JSON.parse(state.text as string))
        // The text is the hub's own value's, conflicts or not (the state's decoded value is internal).
        expect(state.text).toBe(wholeText(state.decoded))
        expect(state.text).toBe(wholeText(model))
        expect(defaultSerializer.deserialize(JSON.parse(state.text as string))).toEqual(model)
        if (laidOut) {
          spliced++
          if (JSON.parse(state.text as string).meta !== undefined) splicedRich++
        }
      }
    }
    console.log(`patchText seed ${SEED}: ${spliced} patches spliced, ${splicedRich} of them with a meta`)
    // Most patches copied the untouched fields, records with a meta too.
    expect(spliced).toBeGreaterThan(4000)
    expect(splicedRich).toBeGreaterThan(500)
  })

  it('keeps the order the engine gives keys: integer-like ones first, the rest as added', () => {
    let state: EntityState = { text: JSON.stringify({ json: { b: 1, 5: 'five', a: 2 } }) }
    const patch = (set: FieldSet[], unset?: FieldPath[]): void => {
      const msg = { t: 'patch', op: 1, r: 'doc', id: 'x', set, ...(unset ? { unset } : {}) } as PatchMessage
      const decision = decideWrite(state, msg, limits)
      if (decision.kind !== 'write') throw new Error(decision.kind)
      state = decision.state
    }
    patch([[['b'], { json: 'B' }]])
    expect(state.text).toBe('{"json":{"5":"five","b":"B","a":2}}')
    patch([
      [['3'], { json: 'three' }],
      [['c'], { json: 3 }],
    ])
    expect(state.text).toBe('{"json":{"3":"three","5":"five","b":"B","a":2,"c":3}}')
    patch([[['a'], { json: { deep: [1] } }]], [['b'], ['5']])
    expect(state.text).toBe('{"json":{"3":"three","a":{"deep":[1]},"c":3}}')
    patch([[['b'], { json: null }]], [['c']])
    expect(state.text).toBe('{"json":{"3":"three","a":{"deep":[1]},"b":null}}')
    patch([], [['3'], ['a'], ['b']])
    expect(state.text).toBe('{"json":{}}')
    patch([
      [['__proto__'], { json: 1 }],
      [['q"t'], { json: '\u2028' }],
    ])
    expect(state.text).toBe(JSON.stringify({ json: JSON.parse('{"__proto__":1,"q\\"t":"\u2028"}') }))
  })

  it('serializes the whole record when it gets a meta after plain JSON (-0 and Infinity are other text then)', () => {
    // As JSON frames carry them: 1e400 parses to Infinity and -0 to -0; plain
    // JSON writes them as null and 0, the serializer as annotated strings.
    let state: EntityState = { text: '{"json":{"a":1}}' }
    const patch = (frame: string): void => {
      const decision = decideWrite(state, JSON.parse(frame) as PatchMessage, limits)
      if (decision.kind !== 'write') throw new Error(decision.kind)
      state = decision.state
    }
    patch('{"t":"patch","op":1,"r":"doc","id":"x","set":[[["z"],{"json":1e400}],[["n"],{"json":-0}]]}')
    expect(state.text).toBe('{"json":{"a":1,"z":null,"n":0}}')
    const due = new Date(Date.UTC(2020, 0, 1))
    patch(
      `{"t":"patch","op":2,"r":"doc","id":"x","set":[[["d"],${JSON.stringify(defaultSerializer.serialize(due))}]]}`,
    )
    expect(state.text).toBe(wholeText({ a: 1, z: Number.POSITIVE_INFINITY, n: -0, d: due }))
    patch('{"t":"patch","op":3,"r":"doc","id":"x","set":[[["a"],{"json":2}]]}')
    expect(state.text).toBe(wholeText({ a: 2, z: Number.POSITIVE_INFINITY, n: -0, d: due }))
  })

  it('serializes the whole record when a serializer of the application encodes it', () => {
    // One that sorts keys: its json is not the value's fields in the value's order.
    const sorted = (value: unknown): unknown =>
      value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map(key => [key, sorted((value as Record<string, unknown>)[key])]),
          )
        : value
    const serializer = {
      serialize: (value: unknown) => defaultSerializer.serialize(sorted(value)),
      deserialize: (encoded: Encoded) => defaultSerializer.deserialize(encoded),
    }
    const context = { ...limits, serializer }
    let state: EntityState = { text: JSON.stringify({ json: { b: 1, a: 1 } }) }
    const patch = (set: FieldSet[], unset?: FieldPath[]): void => {
      const msg = { t: 'patch', op: 1, r: 'doc', id: 'x', set, ...(unset ? { unset } : {}) } as PatchMessage
      const decision = decideWrite(state, msg, context)
      if (decision.kind !== 'write') throw new Error(decision.kind)
      state = decision.state
    }
    patch([[['d'], defaultSerializer.serialize(new Date(0))]])
    expect(state.text).toBe(JSON.stringify(serializer.serialize({ b: 1, a: 1, d: new Date(0) })))
    // The Date goes: the serializer's sorted text, then plain patches of the value in its own order.
    patch([], [['d']])
    expect(state.text).toBe('{"json":{"a":1,"b":1}}')
    patch([[['a'], { json: 2 }]])
    expect(state.text).toBe('{"json":{"b":1,"a":2}}')
  })
})
