import type { Random } from './prng.ts'

/** One frame to send: text, binary, or bytes sent as a text frame that are not UTF-8. */
export type FuzzFrame =
  | { readonly kind: 'text'; readonly data: string }
  | { readonly kind: 'binary'; readonly data: Uint8Array }
  | { readonly kind: 'badUtf8'; readonly data: Uint8Array }

/** What the fuzzer aims at. */
export interface FuzzTargets {
  /** Resources garbage may write to (keep the honest clients' resources out). */
  readonly resources: readonly string[]
  /** Entity ids to pick from (a small pool, so writes hit the same entities). */
  readonly ids: readonly string[]
  /** A frame this big or bigger is over the server's `maxFrameSize` (close 1009). */
  readonly tooBig: number
}

const FORBIDDEN = ['__proto__', 'constructor', 'prototype'] as const
const KEYS = ['name', 'age', 'tags', 'nested', 'x', 'y', 'at', 'big', 'list', 'constructorId'] as const
const TYPES = ['hello', 'sub', 'unsub', 'put', 'patch', 'del'] as const
const SUPERJSON_TYPES = [
  'Date',
  'undefined',
  'bigint',
  'set',
  'map',
  'regexp',
  'number',
  'error',
  'URL',
] as const

/**
 * A seeded generator of hostile frames for the sync hub: valid envelopes of
 * every type with fields deleted, retyped, or swapped for huge strings, deep
 * nesting, `__proto__`/`constructor`/`prototype` keys (in values, paths and
 * superjson meta), numbers as `op`, negative `since`, unknown `t`; batches;
 * broken JSON; random text; binary frames; empty frames; invalid UTF-8; and
 * now and then a frame over the size limit. The same seed gives the same
 * frames.
 *
 * @param random - The seeded source.
 * @param targets - Resources, ids and the size limit.
 * @returns `next()` for the next frame, and `counts` per kind of frame made.
 */
export function frameFuzzer(random: Random, targets: FuzzTargets) {
  const counts: Record<string, number> = {}
  const count = (kind: string) => {
    counts[kind] = (counts[kind] ?? 0) + 1
  }
  // Parts too big or too deep to build as objects are spliced into the JSON text.
  const splices = new Map<string, string>()
  let spliceId = 0
  const splice = (text: string): string => {
    const marker = `@@splice${spliceId++}@@`
    splices.set(marker, text)
    return marker
  }
  const render = (value: unknown): string => {
    let text = JSON.stringify(value) ?? 'null'
    for (const [marker, part] of splices) text = text.replace(`"${marker}"`, () => part)
    splices.clear()
    return text
  }

  const str = () =>
    random.pick([
      '',
      'a',
      'Ada',
      'ü€😀',
      '\u0000',
      '\ud800',
      '<script>',
      '../../etc',
      'x'.repeat(random.int(1, 300)),
    ])
  const id = () => (random.chance(0.95) ? random.pick(targets.ids) : str())
  const r = () => (random.chance(0.95) ? random.pick(targets.resources) : str())
  // Mostly tens of KiB; now and then past maxEntityBytes (512 KiB) but under maxFrameSize (1 MiB).
  const hugeString = (large = random.chance(0.02)) =>
    'h'.repeat(large ? random.int(300_000, 700_000) : random.int(1_000, 20_000))
  // Mostly past the hub's depth limit (100); now and then far deeper than any recursion could go.
  const deep = () => {
    const depth = random.chance(0.97) ? random.int(50, 500) : random.int(5_000, 100_000)
    return random.chance(0.5)
      ? splice(`${'['.repeat(depth)}1${']'.repeat(depth)}`)
      : splice(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)
  }
  const withKey = (target: Record<string, unknown>, key: string, value: unknown) => {
    // An own property named "__proto__", as JSON.parse makes it (a literal would set the prototype).
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
    return target
  }
  const scalar = (): unknown =>
    random.pick<() => unknown>([
      () => random.int(-1_000_000, 1_000_000),
      () => random() * 1e308 * (random.chance(0.5) ? -1 : 1),
      () => -0,
      str,
      () => true,
      () => null,
      () => new Date(random.int(0, 2e12)).toISOString(),
    ])()
  const value = (depth = 0): unknown => {
    if (depth > 3 || random.chance(0.4)) return scalar()
    if (random.chance(0.3)) return Array.from({ length: random.int(0, 5) }, () => value(depth + 1))
    const out: Record<string, unknown> = {}
    for (let i = random.int(0, 5); i > 0; i--) out[random.pick(KEYS)] = value(depth + 1)
    return out
  }
  const path = (): unknown => Array.from({ length: random.int(1, 3) }, () => random.pick(KEYS))
  const metaPath = () =>
    random.chance(0.7)
      ? random.pick(KEYS)
      : random.pick([
          `${random.pick(KEYS)}.${random.pick(KEYS)}`,
          '',
          '0',
          `${random.pick(KEYS)}.${random.pick(FORBIDDEN)}`,
          `${random.pick(FORBIDDEN)}.polluted`,
          'constructor.prototype.polluted',
        ])
  const superjsonType = (): unknown =>
    random.chance(0.85)
      ? random.pick(SUPERJSON_TYPES)
      : random.pick<unknown>([
          ['class', 'Person'],
          ['symbol', 'x'],
          ['custom', 'nope'],
          42,
          null,
          [],
          'nonsense',
        ])
  const encoded = (): unknown => {
    const json = value()
    if (random.chance(0.75)) return { json }
    // superjson meta, well-formed or not: values (type annotations) and referential equalities.
    const meta: Record<string, unknown> = {}
    if (random.chance(0.8)) {
      meta.values = random.chance(0.2)
        ? [superjsonType()]
        : Object.fromEntries(Array.from({ length: random.int(1, 3) }, () => [metaPath(), [superjsonType()]]))
    }
    if (random.chance(0.3))
      meta.referentialEqualities = random.chance(0.5)
        ? { [metaPath()]: [metaPath()] }
        : [[metaPath()], { [metaPath()]: [metaPath()] }]
    if (random.chance(0.05)) meta.v = random.pick([1, 2, -1, 'x'])
    return { json, meta: random.chance(0.05) ? random.pick<unknown>([[], 'meta', 7]) : meta }
  }
  const op = () => (random.chance(0.7) ? random.int(1, 1_000_000) : `op-${random.int(1, 1000)}`)

  const envelope = (): Record<string, unknown> => {
    const t = random.pick(TYPES)
    switch (t) {
      case 'hello':
        return {
          t,
          v: 1,
          client: `fuzz-${random.int(1, 99)}`,
          ...(random.chance(0.3) ? { token: str() } : {}),
        }
      case 'sub':
      case 'unsub': {
        const e: Record<string, unknown> = { t, r: r() }
        if (random.chance(0.6)) e.id = id()
        else if (t === 'sub' && random.chance(0.5)) e.since = random.int(0, 50)
        return e
      }
      case 'put':
        return {
          t,
          op: op(),
          r: r(),
          id: id(),
          value: encoded(),
          ...(random.chance(0.2) ? { create: true } : {}),
        }
      case 'patch': {
        const e: Record<string, unknown> = {
          t,
          op: op(),
          r: r(),
          id: id(),
          set: Array.from({ length: random.int(0, 3) }, () => [path(), encoded()]),
        }
        if (random.chance(0.3)) e.unset = Array.from({ length: random.int(1, 2) }, path)
        return e
      }
      default:
        return { t, op: op(), r: r(), id: id() }
    }
  }

  const retype = (): unknown =>
    random.pick<() => unknown>([
      () => null,
      () => 0,
      () => -1,
      () => 1.5,
      () => Number.MAX_SAFE_INTEGER * 4,
      () => '',
      () => 'x',
      () => true,
      () => [],
      () => ({}),
      () => [[]],
      () => ({ json: 1 }),
      hugeString,
      deep,
      () => random.pick(TYPES),
    ])()

  const mutate = (e: Record<string, unknown>): string => {
    const keys = Object.keys(e)
    const what = random.int(0, 11)
    count(`mutation:${what}`)
    switch (what) {
      case 0: // delete a field
        delete e[random.pick(keys)]
        break
      case 1: // retype a field
        e[random.pick(keys)] = retype()
        break
      case 2: // numbers, objects, huge strings as op
        e.op = random.pick<unknown>([0, -1, 1e300, Number.MIN_VALUE, 'x'.repeat(300), {}, [], null, true])
        break
      case 3: // since out of range
        e.t = 'sub'
        e.since = random.pick<unknown>([-1, -1e9, 0.5, 1e300, '3', null])
        break
      case 4: // unknown or ill-typed t
        e.t = random.pick<unknown>([
          'explode',
          'PUT',
          'ack',
          'snap',
          'welcome',
          '',
          7,
          null,
          [],
          'x'.repeat(5000),
        ])
        break
      case 5: {
        // a forbidden key in a value
        const key = random.pick(FORBIDDEN)
        const polluted = withKey({}, 'polluted', 'yes')
        const inner =
          key === 'constructor'
            ? withKey({}, 'constructor', withKey({}, 'prototype', polluted))
            : withKey({}, key, polluted)
        const json = random.chance(0.5) ? inner : { safe: { deeper: inner } }
        if (random.chance(0.5)) Object.assign(e, { t: 'put', op: op(), r: r(), id: id(), value: { json } })
        else Object.assign(e, { t: 'patch', op: op(), r: r(), id: id(), set: [[['x'], { json }]] })
        break
      }
      case 6: {
        // a forbidden key in a path
        const bad = [random.pick(KEYS), random.pick(FORBIDDEN), 'polluted'].slice(random.int(0, 1))
        Object.assign(e, { t: 'patch', op: op(), r: r(), id: id() })
        if (random.chance(0.6)) e.set = [[bad, { json: 'yes' }]]
        else Object.assign(e, { set: [], unset: [bad] })
        break
      }
      case 7: // a forbidden segment in superjson meta
        Object.assign(e, {
          t: 'put',
          op: op(),
          r: r(),
          id: id(),
          value: {
            json: { a: 1, polluted: 'yes' },
            meta: random.chance(0.5)
              ? { values: { [`${random.pick(FORBIDDEN)}.polluted`]: ['undefined'] } }
              : {
                  referentialEqualities: {
                    a: [random.pick(['constructor.prototype', '__proto__', 'a.__proto__'])],
                  },
                },
          },
        })
        break
      case 8: // a huge string somewhere in a value
        Object.assign(e, { t: 'put', op: op(), r: r(), id: id(), value: { json: { big: hugeString() } } })
        break
      case 9: // deep nesting in a value, a path or meta
        if (random.chance(0.6))
          Object.assign(e, { t: 'put', op: op(), r: r(), id: id(), value: { json: deep() } })
        else if (random.chance(0.5))
          Object.assign(e, { t: 'patch', op: op(), r: r(), id: id(), set: [[deep(), { json: 1 }]] })
        else
          Object.assign(e, {
            t: 'put',
            op: op(),
            r: r(),
            id: id(),
            value: { json: 1, meta: { values: deep() } },
          })
        break
      case 10: // extra fields, including a prototype key on the envelope itself
        withKey(e, random.pick(FORBIDDEN), { polluted: 'yes' })
        e.extra = value()
        break
      default: // a set that is not [path, value] pairs
        Object.assign(e, {
          t: 'patch',
          op: op(),
          r: r(),
          id: id(),
          set: random.pick<unknown>([
            [['x']],
            [[['x'], 1]],
            [['x', { json: 1 }]],
            [[[], { json: 1 }]],
            [null],
            'x',
          ]),
        })
    }
    return render(e)
  }

  const envelopeText = (): string => {
    const e = envelope()
    if (random.chance(0.45)) return render(e)
    let text = ''
    for (let i = random.int(1, 3); i > 0; i--) text = mutate(i === 1 ? e : envelope())
    return text
  }

  const breakText = (text: string): string => {
    const at = random.int(0, text.length)
    switch (random.int(0, 3)) {
      case 0:
        return text.slice(0, at)
      case 1:
        return text.slice(0, at) + random.pick(['"', '{', ']', ',', '\\', '\u0000', 'null']) + text.slice(at)
      case 2:
        return text.slice(0, at) + text.slice(at + random.int(1, 10))
      default:
        return text + text
    }
  }

  const randomBytes = (length: number) => {
    const bytes = new Uint8Array(length)
    for (let i = 0; i < length; i++) bytes[i] = random.int(0, 255)
    return bytes
  }

  /** The next frame. */
  const next = (): FuzzFrame => {
    const roll = random()
    if (roll < 0.6) {
      count('envelope')
      return { kind: 'text', data: envelopeText() }
    }
    if (roll < 0.7) {
      count('batch')
      const parts = Array.from({ length: random.int(0, 12) }, envelopeText)
      return { kind: 'text', data: `[${parts.join(',')}]` }
    }
    if (roll < 0.8) {
      count('broken-json')
      return { kind: 'text', data: breakText(envelopeText()) }
    }
    if (roll < 0.86) {
      count('random-text')
      return {
        kind: 'text',
        data: Array.from({ length: random.int(1, 200) }, () =>
          String.fromCharCode(random.int(0, 0xffff)),
        ).join(''),
      }
    }
    if (roll < 0.9) {
      count('json-scalar')
      return {
        kind: 'text',
        data: random.pick(['42', 'null', '"t"', '[]', '{}', 'true', '[[]]', '[null]', '-0', '1e999']),
      }
    }
    if (roll < 0.96) {
      count('binary')
      return {
        kind: 'binary',
        data: random.chance(0.5) ? randomBytes(random.int(1, 512)) : new TextEncoder().encode(envelopeText()),
      }
    }
    if (roll < 0.985) {
      count('empty')
      return random.chance(0.5) ? { kind: 'text', data: '' } : { kind: 'binary', data: new Uint8Array(0) }
    }
    if (roll < 0.9985) {
      count('huge-string')
      return {
        kind: 'text',
        data: render({
          t: 'put',
          op: op(),
          r: r(),
          id: id(),
          value: { json: hugeString(random.chance(0.3)) },
        }),
      }
    }
    if (roll < 0.9997) {
      count('invalid-utf8')
      return { kind: 'badUtf8', data: Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]) }
    }
    count('too-big')
    return {
      kind: 'text',
      data: `{"t":"put","op":1,"r":"doc","id":"a","value":{"json":"${'z'.repeat(targets.tooBig)}"}}`,
    }
  }

  return { next, counts }
}
