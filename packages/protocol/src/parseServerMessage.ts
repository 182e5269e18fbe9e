import { findForbiddenKeyInEncoded } from './codec.ts'
import { FORBIDDEN_KEYS, MAX_PATH_DEPTH } from './constants.ts'
import type {
  AckMessage,
  CollectionSnapMessage,
  Encoded,
  ErrorCode,
  FieldConflict,
  FieldPath,
  FieldSet,
  Issue,
  OpId,
  RejectCode,
  ServerMessage,
  SnapItem,
} from './messages.ts'
import { ProtocolError } from './ProtocolError.ts'

/**
 * What {@link parseServerMessage} returns: the message rebuilt from its known
 * fields, or why it is unusable (with its resource and id when those were readable).
 */
export type ParsedServerMessage = { ok: true; message: ServerMessage } | { ok: false; error: ProtocolError }

const REJECT_CODES: ReadonlySet<string> = new Set<RejectCode>([
  'VALIDATION_FAILED',
  'FORBIDDEN',
  'NOT_FOUND',
  'TOO_LARGE',
  'RATE_LIMITED',
  'BAD_FIELD',
])
const ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>(['BAD_FRAME', 'UNKNOWN_TYPE', 'BAD_FIELD'])

// Thrown inside the parse, caught at its top: the message names the field.
class Problem extends Error {}

type Fields = Record<string, unknown>

function fail(field: string, expected: string): never {
  throw new Problem(`${field}: expected ${expected}`)
}

function record(value: unknown, field: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'an object')
  return value as Fields
}

function array(value: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(value)) fail(field, 'an array')
  return value
}

function string(value: unknown, field: string): string {
  if (typeof value !== 'string') fail(field, 'a string')
  return value
}

function name(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'a non-empty string')
  return value
}

function revision(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail(field, 'a safe integer ≥ 0')
  return value as number
}

function opId(value: unknown, field: string): OpId {
  if (typeof value === 'string' || Number.isSafeInteger(value)) return value as OpId
  fail(field, 'a string or a safe integer')
}

function flag(value: unknown, field: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  fail(field, 'a boolean')
}

function encoded(value: unknown, field: string): Encoded {
  const envelope = record(value, field)
  if (!Object.hasOwn(envelope, 'json')) fail(`${field}.json`, 'a value')
  const { json, meta } = envelope
  const out: Encoded =
    meta === undefined || meta === null ? { json } : { json, meta: record(meta, `${field}.meta`) }
  // Forbidden keys in json and in meta's dotted paths, and nesting past the depth limit.
  const bad = findForbiddenKeyInEncoded(out)
  if (bad !== undefined) {
    throw new Problem(
      bad.startsWith('(') ? `${field}: ${bad.slice(1, -1)}` : `${field}: refused key "${bad}"`,
    )
  }
  return out
}

function path(value: unknown, field: string): FieldPath {
  const steps = array(value, field)
  if (steps.length === 0 || steps.length > MAX_PATH_DEPTH)
    fail(field, `a path of 1 to ${MAX_PATH_DEPTH} steps`)
  for (let i = 0; i < steps.length; i++) {
    const step = string(steps[i], `${field}[${i}]`)
    if (FORBIDDEN_KEYS.has(step)) throw new Problem(`${field}[${i}]: refused key "${step}"`)
  }
  return steps as FieldPath
}

function fieldSets(value: unknown, field: string): FieldSet[] {
  return array(value, field).map((entry, i) => {
    const pair = array(entry, `${field}[${i}]`)
    if (pair.length !== 2) fail(`${field}[${i}]`, 'a [path, value] pair')
    return [path(pair[0], `${field}[${i}][0]`), encoded(pair[1], `${field}[${i}][1]`)] as const
  })
}

function snapItem(value: unknown, field: string): SnapItem {
  const item = record(value, field)
  return {
    id: name(item.id, `${field}.id`),
    rev: revision(item.rev, `${field}.rev`),
    value: encoded(item.value, `${field}.value`),
  }
}

function conflict(value: unknown, field: string): FieldConflict {
  const c = record(value, field)
  // A conflict may be about the whole value: its path is then empty.
  const steps = array(c.path, `${field}.path`)
  const out: FieldConflict = {
    path: steps.length === 0 ? [] : path(steps, `${field}.path`),
    rev: revision(c.rev, `${field}.rev`),
    theirs: c.theirs === null ? null : encoded(c.theirs, `${field}.theirs`),
    applied: flag(c.applied, `${field}.applied`) ?? fail(`${field}.applied`, 'a boolean'),
  }
  if (c.by !== undefined) out.by = string(c.by, `${field}.by`)
  return out
}

function issues(value: unknown, field: string): Issue[] {
  return array(value, field).map((entry, i) => {
    const issue = record(entry, `${field}[${i}]`)
    const message = string(issue.message, `${field}[${i}].message`)
    if (issue.path === undefined) return { message }
    const steps = array(issue.path, `${field}[${i}].path`).map((step, j) => {
      const at = `${field}[${i}].path[${j}]`
      if (typeof step === 'string' || typeof step === 'number') return step
      const key = record(step, at).key
      if (typeof key !== 'string' && typeof key !== 'number') fail(`${at}.key`, 'a string or a number')
      return { key }
    })
    return { message, path: steps }
  })
}

function parse(m: Fields): ServerMessage {
  switch (m.t) {
    case 'welcome':
      return {
        t: 'welcome',
        v: revision(m.v, 'welcome.v'),
        client: string(m.client, 'welcome.client'),
        node: string(m.node, 'welcome.node'),
      }
    case 'snap': {
      const r = name(m.r, 'snap.r')
      const rev = revision(m.rev, 'snap.rev')
      if (m.id !== undefined) {
        const id = name(m.id, 'snap.id')
        return { t: 'snap', r, id, rev, value: m.value === null ? null : encoded(m.value, 'snap.value') }
      }
      const items = array(m.items, 'snap.items').map((item, i) => snapItem(item, `snap.items[${i}]`))
      const gone = array(m.gone, 'snap.gone').map((id, i) => name(id, `snap.gone[${i}]`))
      const snap: CollectionSnapMessage = { t: 'snap', r, rev, items, gone }
      if (flag(m.more, 'snap.more')) snap.more = true
      if (flag(m.full, 'snap.full')) snap.full = true
      return snap
    }
    case 'ack': {
      const op = opId(m.op, 'ack.op')
      const rev = revision(m.rev, 'ack.rev')
      const applied = flag(m.applied, 'ack.applied')
      const ack: AckMessage = applied === undefined ? { t: 'ack', op, rev } : { t: 'ack', op, rev, applied }
      if (m.conflicts !== undefined)
        ack.conflicts = array(m.conflicts, 'ack.conflicts').map((c, i) => conflict(c, `ack.conflicts[${i}]`))
      return ack
    }
    case 'change': {
      const r = name(m.r, 'change.r')
      const id = name(m.id, 'change.id')
      const rev = revision(m.rev, 'change.rev')
      const isPatch = m.set !== undefined || m.unset !== undefined
      if (m.value !== undefined) {
        if (isPatch) throw new Problem('change: either value or set/unset, not both')
        return { t: 'change', r, id, rev, value: encoded(m.value, 'change.value') }
      }
      if (!isPatch) throw new Problem('change: expected value or set/unset')
      const set = m.set === undefined ? [] : fieldSets(m.set, 'change.set')
      if (m.unset === undefined) return { t: 'change', r, id, rev, set }
      const unset = array(m.unset, 'change.unset').map((p, i) => path(p, `change.unset[${i}]`))
      return { t: 'change', r, id, rev, set, unset }
    }
    case 'gone':
      return {
        t: 'gone',
        r: name(m.r, 'gone.r'),
        id: name(m.id, 'gone.id'),
        rev: revision(m.rev, 'gone.rev'),
      }
    case 'reject': {
      const code = string(m.code, 'reject.code')
      if (!REJECT_CODES.has(code)) fail('reject.code', `one of ${[...REJECT_CODES].join(', ')}`)
      const out: Extract<ServerMessage, { t: 'reject' }> = {
        t: 'reject',
        code: code as RejectCode,
        message: string(m.message, 'reject.message'),
      }
      if (m.op !== undefined) out.op = opId(m.op, 'reject.op')
      if (m.r !== undefined) out.r = name(m.r, 'reject.r')
      if (m.id !== undefined) out.id = name(m.id, 'reject.id')
      if (m.room !== undefined) out.room = name(m.room, 'reject.room')
      if (m.issues !== undefined) out.issues = issues(m.issues, 'reject.issues')
      return out
    }
    case 'error': {
      const code = string(m.code, 'error.code')
      if (!ERROR_CODES.has(code)) fail('error.code', `one of ${[...ERROR_CODES].join(', ')}`)
      return { t: 'error', code: code as ErrorCode, message: string(m.message, 'error.message') }
    }
    case 'psnap': {
      const room = name(m.room, 'psnap.room')
      const peers = array(m.peers, 'psnap.peers').map((peer, i) => {
        const p = record(peer, `psnap.peers[${i}]`)
        return {
          client: name(p.client, `psnap.peers[${i}].client`),
          state: encoded(p.state, `psnap.peers[${i}].state`),
        }
      })
      return { t: 'psnap', room, peers }
    }
    case 'ppeer':
      return {
        t: 'ppeer',
        room: name(m.room, 'ppeer.room'),
        client: name(m.client, 'ppeer.client'),
        state: encoded(m.state, 'ppeer.state'),
      }
    case 'pgone':
      return { t: 'pgone', room: name(m.room, 'pgone.room'), client: name(m.client, 'pgone.client') }
    case 'reauth':
      return { t: 'reauth', expiresAt: revision(m.expiresAt, 'reauth.expiresAt') }
    default:
      throw new Problem(
        typeof m.t === 'string' ? `unknown message type "${m.t}"` : 't: expected a message type',
      )
  }
}

/**
 * Checks one server → client envelope (parsed JSON) against the protocol
 * and rebuilds it from its known fields only: every field of the right type,
 * revisions safe integers ≥ 0, paths non-empty arrays of at most
 * {@link MAX_PATH_DEPTH} strings, no forbidden key (`__proto__`,
 * `constructor`, `prototype`) in a path, a value's JSON or its superjson
 * meta, no value JSON nested deeper than about 100 levels. Decoded values
 * are checked after decoding (see `findValueProblem`); this parser holds no
 * state and decodes nothing.
 *
 * @param raw - One envelope, as `JSON.parse` returned it.
 * @returns `{ ok: true, message }`, or `{ ok: false, error }`: a {@link ProtocolError}
 *   `BAD_MESSAGE` naming the first bad field, with the message's `r` and `id` when readable.
 * @example
 * const parsed = parseServerMessage(JSON.parse(frame))
 * if (!parsed.ok) report(parsed.error)
 */
export function parseServerMessage(raw: unknown): ParsedServerMessage {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, error: new ProtocolError('BAD_MESSAGE', 'expected a message object') }
  }
  const m = raw as Fields
  try {
    return { ok: true, message: parse(m) }
  } catch (error) {
    if (!(error instanceof Problem)) throw error
    const where: { r?: string; id?: string } = {}
    if (typeof m.r === 'string') where.r = m.r
    if (typeof m.id === 'string') where.id = m.id
    return { ok: false, error: new ProtocolError('BAD_MESSAGE', error.message, where) }
  }
}
