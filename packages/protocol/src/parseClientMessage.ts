import { findForbiddenKeyInEncoded, isPlainObject } from './codec.ts'
import { FORBIDDEN_KEYS, MAX_NAME_LENGTH as MAX_NAME, MAX_PATH_DEPTH } from './constants.ts'
import type {
  ClientMessage,
  ConflictPolicy,
  DelMessage,
  Encoded,
  FieldPath,
  FieldSet,
  PatchMessage,
  PutMessage,
} from './messages.ts'
import { ProtocolError, type ProtocolErrorCode } from './ProtocolError.ts'

const KNOWN_TYPES = new Set([
  'hello',
  'sub',
  'unsub',
  'put',
  'patch',
  'del',
  'pjoin',
  'pset',
  'pleave',
  'auth',
])

/**
 * Parses a text frame into its envelopes (one object, or an array of them),
 * without checking them: check each with {@link parseClientMessage}. A
 * frame that is an array starting with a number is one envelope: a version
 * 3 short patch (`[handle, base, path, value, …]`), which the connection's
 * `ServerWire.decode` reshapes.
 *
 * @param text - The frame.
 * @returns The raw envelopes, or a {@link ProtocolError} `BAD_FRAME` when the
 *   text is not JSON or not an object/array.
 */
export function parseFrame(text: string): unknown[] | ProtocolError {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    return problem('BAD_FRAME', 'the frame is not JSON')
  }
  // An array whose first item is a number is one short patch (version 3), not a batch.
  if (Array.isArray(data)) return typeof data[0] === 'number' ? [data] : data
  if (typeof data === 'object' && data !== null) return [data]
  return problem('BAD_FRAME', 'a frame must be a JSON object (an envelope) or an array of envelopes')
}

/**
 * Checks one client → server envelope strictly (the sync hub's parser) and
 * rebuilds it from its known fields only, so nothing the client added travels
 * further: names of at most {@link MAX_NAME_LENGTH} characters, paths of at
 * most {@link MAX_PATH_DEPTH} property names, no forbidden key in a path, a
 * value or superjson meta. Never throws for bad input.
 *
 * @param raw - One envelope, as {@link parseFrame} returned it.
 * @returns The message, or a {@link ProtocolError}: `BAD_FRAME`,
 *   `UNKNOWN_TYPE`, or `BAD_FIELD` (with `op` when the write's op was readable,
 *   so it can be answered with a `reject`).
 * @example
 * const parsed = parseClientMessage(envelope)
 * if (parsed instanceof ProtocolError) send(encodeError(parsed.code, parsed.message))
 */
export function parseClientMessage(raw: unknown): ClientMessage | ProtocolError {
  if (!isPlainObject(raw)) return problem('BAD_FRAME', 'an envelope must be a JSON object')
  const t = raw.t
  if (typeof t !== 'string') return problem('BAD_FRAME', 'an envelope needs a string field "t"')
  if (!KNOWN_TYPES.has(t))
    return problem('UNKNOWN_TYPE', `unknown envelope type ${JSON.stringify(t.slice(0, 32))}`)
  try {
    switch (t) {
      case 'hello': {
        const v = raw.v
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad('hello.v must be an integer')
        const hello: ClientMessage = { t, v, client: name(raw.client, 'hello.client') }
        if (raw.token !== undefined) {
          if (typeof raw.token !== 'string') throw bad('hello.token must be a string')
          hello.token = raw.token
        }
        return hello
      }
      case 'sub': {
        const sub: ClientMessage = { t, r: name(raw.r, 'sub.r') }
        if (raw.id !== undefined) sub.id = name(raw.id, 'sub.id')
        if (raw.since !== undefined) {
          const since = raw.since
          if (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0)
            throw bad('sub.since must be a resource revision (an integer >= 0)')
          sub.since = since
        }
        return sub
      }
      case 'unsub': {
        const unsub: ClientMessage = { t, r: name(raw.r, 'unsub.r') }
        if (raw.id !== undefined) unsub.id = name(raw.id, 'unsub.id')
        return unsub
      }
      case 'put':
      case 'patch':
      case 'del':
        return write(t, raw)
      case 'pjoin':
      case 'pset': {
        const presence: ClientMessage = {
          t,
          room: name(raw.room, `${t}.room`),
          state: encoded(raw.state, `${t}.state`),
        }
        return presence
      }
      case 'pleave':
        return { t, room: name(raw.room, 'pleave.room') }
      case 'auth': {
        if (typeof raw.token !== 'string' || raw.token === '')
          throw bad('auth.token must be a non-empty string')
        return { t, token: raw.token }
      }
    }
  } catch (error) {
    if (error instanceof ProtocolError) return error
    throw error
  }
  return problem('UNKNOWN_TYPE', 'unknown envelope type')
}

function write(t: 'put' | 'patch' | 'del', raw: Record<string, unknown>): ClientMessage | ProtocolError {
  const op = raw.op
  if (
    !(typeof op === 'number' && Number.isFinite(op)) &&
    !(typeof op === 'string' && op.length <= MAX_NAME && op)
  )
    throw bad(`${t}.op must be a finite number or a non-empty string of at most ${MAX_NAME} characters`)
  const r = name(raw.r, `${t}.r`)
  const id = name(raw.id, `${t}.id`)
  // Another client's outbox sent by this connection (a tab that took it over).
  const client = raw.client === undefined ? undefined : name(raw.client, `${t}.client`)
  try {
    // Built field by field in a fixed order (no spreads: every write passes here).
    if (t === 'del') {
      const del: DelMessage = { t, op, r, id }
      if (client !== undefined) del.client = client
      return del
    }
    // Checked before the value, whose problems are reported after these.
    checkConflictFields(t, raw)
    if (t === 'put') {
      const put: PutMessage = { t, op, r, id, value: encoded(raw.value, 'put.value') }
      if (client !== undefined) put.client = client
      copyConflictFields(raw, put)
      if (raw.create !== undefined) {
        if (typeof raw.create !== 'boolean') throw bad('put.create must be a boolean')
        put.create = raw.create
      }
      return put
    }
    if (!Array.isArray(raw.set)) throw bad('patch.set must be an array of [path, value] pairs')
    const pairs: unknown[] = raw.set
    const set: FieldSet[] = new Array(pairs.length)
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i]
      if (!Array.isArray(pair) || pair.length !== 2) throw bad(`patch.set[${i}] must be a [path, value] pair`)
      set[i] = [path(pair[0], `patch.set[${i}] path`), encoded(pair[1], `patch.set[${i}] value`)]
    }
    const patch: PatchMessage = { t, op, r, id, set }
    if (client !== undefined) patch.client = client
    copyConflictFields(raw, patch)
    if (raw.unset !== undefined) {
      if (!Array.isArray(raw.unset)) throw bad('patch.unset must be an array of paths')
      patch.unset = raw.unset.map((p, i) => path(p, `patch.unset[${i}]`))
    }
    return patch
  } catch (error) {
    // A forbidden key in a write with a usable op is answered with a reject the client can match.
    if (error instanceof ProtocolError && error.code === 'BAD_FIELD')
      return new ProtocolError('BAD_FIELD', error.message, { op, r, id })
    throw error
  }
}

/** Checks a write's `base` and `onConflict`, when present. */
function checkConflictFields(t: 'put' | 'patch', raw: Record<string, unknown>): void {
  const { base, onConflict } = raw
  if (base !== undefined && (typeof base !== 'number' || !Number.isSafeInteger(base) || base < 0))
    throw bad(`${t}.base must be an entity revision (an integer >= 0)`)
  if (onConflict !== undefined && onConflict !== 'overwrite' && onConflict !== 'keep-theirs')
    throw bad(`${t}.onConflict must be 'overwrite' or 'keep-theirs'`)
}

/** Copies a write's `base` and `onConflict` (checked by {@link checkConflictFields}) onto `out`, when present. */
function copyConflictFields(
  raw: Record<string, unknown>,
  out: { base?: number; onConflict?: ConflictPolicy },
): void {
  if (raw.base !== undefined) out.base = raw.base as number
  if (raw.onConflict !== undefined) out.onConflict = raw.onConflict as ConflictPolicy
}

function name(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_NAME)
    throw bad(`${field} must be a non-empty string of at most ${MAX_NAME} characters`)
  return value
}

function path(value: unknown, field: string): FieldPath {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_PATH_DEPTH)
    throw bad(`${field} must be a non-empty array of at most ${MAX_PATH_DEPTH} property names`)
  for (const key of value) {
    if (typeof key !== 'string' || key.length > MAX_NAME)
      throw bad(`${field} must contain property names (strings of at most ${MAX_NAME} characters)`)
    if (FORBIDDEN_KEYS.has(key)) throw problem('BAD_FIELD', `${field} contains the forbidden key "${key}"`)
  }
  return value as string[]
}

function encoded(value: unknown, field: string): Encoded {
  if (!isPlainObject(value) || !Object.hasOwn(value, 'json'))
    throw bad(`${field} must be a value envelope { json, meta? }`)
  const meta = value.meta
  if (meta !== undefined && meta !== null && !isPlainObject(meta))
    throw bad(`${field}.meta must be an object when present`)
  const out: Encoded = meta === undefined || meta === null ? { json: value.json } : { json: value.json, meta }
  const forbidden = findForbiddenKeyInEncoded(out)
  if (forbidden !== undefined)
    throw problem('BAD_FIELD', `${field} contains the forbidden key "${forbidden}"`)
  return out
}

function bad(message: string): ProtocolError {
  return problem('BAD_FRAME', message)
}

function problem(code: ProtocolErrorCode, message: string): ProtocolError {
  return new ProtocolError(code, message)
}
