import { findForbiddenKeyInEncoded } from './codec.ts'
import {
  _compactPathsText,
  _compactSetText,
  _entityKey,
  _envelope,
  _expandPaths,
  _expandSet,
  _isCompact,
  _isHandle,
  _Malformed,
  _metasByIndex,
  _typeKey,
} from './compactForm.ts'
import { FORBIDDEN_KEYS, LATEST_PROTOCOL_VERSION } from './constants.ts'
import type { AckMessage, ClientMessage, Encoded, FieldSet, OpId, ServerMessage } from './messages.ts'
import { ProtocolError } from './ProtocolError.ts'
import { type ParsedServerMessage, parseServerMessage } from './parseServerMessage.ts'

const str = JSON.stringify
const SERVER_KEYS = ['c', 'g', 'a', 'e', 'l'] as const

type WriteMessage = Extract<ClientMessage, { t: 'put' | 'patch' | 'del' }>
type Binding = readonly [handle: number, r: string, id: string]

/**
 * One connection's wire format, on the client: writes the client's frames
 * in the connection's protocol version — version 1 until the server's
 * `welcome` agreed on a later one, so a frame sent with `hello` is read by
 * any server — and reads the server's frames of either version into
 * version 1 messages. For version 2 it keeps what both
 * ends keep per connection: the entity handles the server gave (a write
 * names its entity by handle when it has one) and the op of the last write
 * sent (a write whose op is the next integer leaves it out). Make one per
 * connection, with {@link createClientWire}.
 */
export interface ClientWire {
  /** The version the client offers in `hello`. */
  readonly version: number
  /** The version the client writes: 1 until the server's `welcome` agreed on another. */
  readonly writing: number
  /**
   * Writes `messages` as one frame (an envelope, or an array of them) in the
   * version it {@link ClientWire.writing | writes}, and hands it to `send`. The wire's state (the last op sent) moves on only
   * when `send` returns `true`, so a frame that was not sent never makes the
   * next one name a wrong op.
   *
   * @returns What `send` returned.
   */
  send(messages: readonly ClientMessage[], send: (text: string) => boolean): boolean
  /**
   * Reads a frame the server sent, of either version: each message checked
   * by `parseServerMessage` (handles resolved), or the frame's
   * `ProtocolError` (`BAD_MESSAGE`) when it is not JSON.
   */
  parse(text: string): ParsedServerMessage[] | ProtocolError
  /** The server's `welcome` named the version it speaks: write it from now on (at most the one offered). */
  agreed(version: number): void
  /** The entity of a handle the server gave on this connection. */
  entityOf(handle: number): readonly [r: string, id: string] | undefined
}

/**
 * The wire format of a new connection.
 *
 * @param version - The version to offer in `hello` (and write until the
 *   server answers otherwise). Default {@link LATEST_PROTOCOL_VERSION}.
 * @example
 * const wire = createClientWire()
 * wire.send([{ t: 'hello', v: wire.version, client }], text => socket.send(text))
 * // … on `welcome`:
 * wire.agreed(welcome.v)
 */
export function createClientWire(version: number = LATEST_PROTOCOL_VERSION): ClientWire {
  return new ClientWireImpl(version)
}

class ClientWireImpl implements ClientWire {
  private readonly _version: number
  private _writing = 1
  private readonly _byHandle = new Map<number, readonly [string, string]>()
  private readonly _handles = new Map<string, number>()
  private _lastOp: OpId | undefined

  constructor(version: number) {
    this._version = version
  }

  get version(): number {
    return this._version
  }

  get writing(): number {
    return this._writing
  }

  agreed(version: number): void {
    this._writing = Math.min(version, this._version)
  }

  entityOf(handle: number): readonly [r: string, id: string] | undefined {
    return this._byHandle.get(handle)
  }

  send(messages: readonly ClientMessage[], send: (text: string) => boolean): boolean {
    if (this._writing < 2) return send(str(messages.length === 1 ? messages[0] : messages))
    let lastOp = this._lastOp
    let text = ''
    for (const message of messages) {
      let envelope: string
      if (message.t === 'put' || message.t === 'patch' || message.t === 'del') {
        envelope = this._write(message, lastOp)
        lastOp = message.op
      } else envelope = str(message)
      text += text ? `,${envelope}` : envelope
    }
    const sent = send(messages.length === 1 ? text : `[${text}]`)
    if (sent) this._lastOp = lastOp
    return sent
  }

  parse(text: string): ParsedServerMessage[] | ProtocolError {
    const ack = _plainAck(text)
    if (ack !== undefined) return [{ ok: true, message: ack }]
    let data: unknown
    try {
      data = JSON.parse(text)
    } catch {
      return new ProtocolError('BAD_MESSAGE', 'the frame is not JSON')
    }
    // An array starting with a number is one short change (version 3), not a batch.
    if (!Array.isArray(data) || typeof data[0] === 'number') return [this._message(data)]
    const out: ParsedServerMessage[] = new Array(data.length)
    for (let i = 0; i < data.length; i++) out[i] = this._message(data[i])
    return out
  }

  private _message(raw: unknown): ParsedServerMessage {
    const direct = _directServerMessage(raw, this._byHandle)
    if (direct !== undefined) return { ok: true, message: direct }
    const expanded = _expandServerEnvelope(raw, handle => this._byHandle.get(handle))
    if (expanded instanceof ProtocolError) return { ok: false, error: expanded }
    const parsed = parseServerMessage(expanded.raw)
    if (parsed.ok && expanded.bindings)
      for (const [handle, r, id] of expanded.bindings) {
        this._byHandle.set(handle, [r, id])
        this._handles.set(_entityKey(r, id), handle)
      }
    return parsed
  }

  private _write(m: WriteMessage, lastOp: OpId | undefined): string {
    const handle = this._handles.get(_entityKey(m.r, m.id))
    const nextOp = typeof m.op === 'number' && typeof lastOp === 'number' && m.op === lastOp + 1
    if (m.t === 'patch' && this._writing >= 3 && handle !== undefined && nextOp) {
      const short = _shortPatchText(m, handle)
      if (short !== undefined) return short
    }
    let text = `{"${m.t === 'patch' ? 'p' : m.t === 'put' ? 'w' : 'd'}":${handle ?? `[${str(m.r)},${str(m.id)}]`}`
    if (!nextOp) text += `,"o":${str(m.op)}`
    if (m.client !== undefined) text += `,"c":${str(m.client)}`
    if (m.t === 'del') return `${text}}`
    if (m.base !== undefined) text += `,"b":${m.base}`
    if (m.onConflict === 'keep-theirs') text += ',"k":1'
    if (m.t === 'put') {
      text += `,"v":${str(m.value.json === undefined ? null : m.value.json)}`
      if (m.value.meta !== undefined && m.value.meta !== null) text += `,"m":${str(m.value.meta)}`
      if (m.create === true) text += ',"n":1'
      return `${text}}`
    }
    if (m.set.length > 0) {
      const { set, metas } = _compactSetText(m.set)
      text += `,"s":${set}`
      if (metas) text += `,"m":${metas}`
    }
    if (m.unset !== undefined && m.unset.length > 0) text += `,"x":${_compactPathsText(m.unset)}`
    return `${text}}`
  }
}

/**
 * A patch as version 3's short patch, `[handle, base, path, value, …]`, when
 * it has that form: it sets fields and unsets none, says its `base`, keeps
 * the default conflict policy, is the connection's own (no `client`) and
 * its values need no meta. The caller knows its entity has a handle and its
 * op is the previous write's + 1.
 *
 * @returns The envelope's text, or `undefined` when the patch needs the object form.
 */
function _shortPatchText(m: Extract<WriteMessage, { t: 'patch' }>, handle: number): string | undefined {
  if (m.base === undefined || m.client !== undefined || m.onConflict === 'keep-theirs') return undefined
  if (m.set.length === 0 || (m.unset !== undefined && m.unset.length > 0)) return undefined
  const { set, metas } = _compactSetText(m.set)
  if (metas) return undefined
  return `[${handle},${m.base},${set.slice(1)}`
}

/**
 * A frame that is exactly `{"a":op,"r":rev}` (the ack of a write, in the
 * form the server writes it), both integers of at most 15 digits, read
 * without `JSON.parse`; `undefined` for anything else.
 */
function _plainAck(text: string): AckMessage | undefined {
  if (text.charCodeAt(text.length - 1) !== 125 || !text.startsWith('{"a":')) return undefined
  const comma = text.indexOf(',"r":', 5)
  if (comma < 0) return undefined
  const op = digitsAt(text, 5, comma)
  const rev = digitsAt(text, comma + 5, text.length - 1)
  return op === undefined || rev === undefined ? undefined : { t: 'ack', op, rev }
}

// The integer written from `from` to `to` (JSON: no sign, no leading zero), if that is all there is.
function digitsAt(text: string, from: number, to: number): number | undefined {
  const length = to - from
  if (length < 1 || length > 15 || (length > 1 && text.charCodeAt(from) === 48)) return undefined
  let value = 0
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return undefined
    value = value * 10 + digit
  }
  return value
}

/**
 * The two messages of every edit, read without being reshaped into version
 * 1 first: an `ack` of an integer op without `f`/`k`, and a field `change`
 * of a known handle whose paths are one step and whose values have no meta.
 * The result is what the version 1 parser makes of the reshaped envelope;
 * anything else, and anything it would refuse, is `undefined` (read the
 * usual way, which names the problem).
 */
function _directServerMessage(
  raw: unknown,
  byHandle: ReadonlyMap<number, readonly [string, string]>,
): ServerMessage | undefined {
  if (Array.isArray(raw)) return _directShortChange(raw, byHandle)
  if (typeof raw !== 'object' || raw === null) return undefined
  const m = raw as Record<string, unknown>
  if (m.t !== undefined || m.g !== undefined || m.e !== undefined || m.l !== undefined) return undefined
  const rev = m.r
  if (typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 0) return undefined
  const op = m.a
  if (op !== undefined) {
    if (m.c !== undefined || m.f !== undefined || m.k !== undefined) return undefined
    if (typeof op !== 'number' || !Number.isSafeInteger(op)) return undefined
    return { t: 'ack', op, rev }
  }
  const handle = m.c
  if (typeof handle !== 'number' || m.v !== undefined || m.x !== undefined || m.m !== undefined)
    return undefined
  const entity = byHandle.get(handle)
  const list = m.s
  if (entity === undefined || !Array.isArray(list)) return undefined
  const set = _directSet(list, 0)
  return set && { t: 'change', r: entity[0], id: entity[1], rev, set }
}

/** {@link _directServerMessage} for a short change, `[handle, rev, path, value, …]`, whose paths are one step. */
function _directShortChange(
  list: readonly unknown[],
  byHandle: ReadonlyMap<number, readonly [string, string]>,
): ServerMessage | undefined {
  const rev = list[1]
  const entity = byHandle.get(list[0] as number)
  if (entity === undefined || typeof rev !== 'number' || !Number.isSafeInteger(rev) || rev < 0)
    return undefined
  const set = list.length > 2 ? _directSet(list, 2) : undefined
  return set && { t: 'change', r: entity[0], id: entity[1], rev, set }
}

/**
 * The `name, value, …` pairs of `list` from `from` on as a change's set,
 * when every name is one property (not forbidden) and no value holds a
 * forbidden key; else `undefined` (read the usual way).
 */
function _directSet(list: readonly unknown[], from: number): FieldSet[] | undefined {
  if ((list.length - from) % 2 !== 0) return undefined
  const set: FieldSet[] = new Array((list.length - from) / 2)
  for (let i = from; i < list.length; i += 2) {
    const step = list[i]
    if (typeof step !== 'string' || FORBIDDEN_KEYS.has(step)) return undefined
    const value: Encoded = { json: list[i + 1] }
    if (findForbiddenKeyInEncoded(value) !== undefined) return undefined
    set[(i - from) / 2] = [[step], value]
  }
  return set
}

/**
 * A server envelope of either version reshaped into version 1 (compact ones
 * resolved with `resolve`), with the handles it gives, for
 * `parseServerMessage` to check. Version 1 envelopes pass unchanged.
 * @internal
 */
export function _expandServerEnvelope(
  raw: unknown,
  resolve: (handle: number) => readonly [string, string] | undefined,
): { raw: unknown; bindings?: Binding[] } | ProtocolError {
  if (Array.isArray(raw)) return _expandShortChange(raw, resolve)
  if (!_isCompact(raw)) return { raw }
  const key = _typeKey(raw, SERVER_KEYS)
  if (!key)
    return new ProtocolError(
      'BAD_MESSAGE',
      key === null
        ? 'a compact message has exactly one of the type keys c, g, a, e, l'
        : 't: expected a message type (or, in version 2, one of the type keys c, g, a, e, l)',
    )
  try {
    switch (key) {
      case 'a': {
        const out: Record<string, unknown> = { t: 'ack', op: raw.a, rev: raw.r }
        if (raw.f !== undefined) {
          if (raw.f !== 1) throw new _Malformed('ack.f: expected 1 (not applied) when present')
          out.applied = false
        }
        if (raw.k !== undefined) out.conflicts = raw.k
        return { raw: out }
      }
      case 'c': {
        const [r, id] = entity(raw.c, resolve, 'change.c')
        const out: Record<string, unknown> = { t: 'change', r, id, rev: raw.r }
        if (Object.hasOwn(raw, 'v')) {
          if (raw.s !== undefined || raw.x !== undefined)
            throw new _Malformed('change: either v or s/x, not both')
          out.value = _envelope(raw.v, raw.m)
          return { raw: out }
        }
        if (raw.s !== undefined || raw.x !== undefined) out.set = _expandSet(raw.s, raw.m, 'change.s')
        if (raw.x !== undefined) out.unset = _expandPaths(raw.x)
        return { raw: out }
      }
      case 'g': {
        const [r, id] = entity(raw.g, resolve, 'gone.g')
        return { raw: { t: 'gone', r, id, rev: raw.r } }
      }
      case 'e': {
        const ref = raw.e
        let bindings: Binding[] | undefined
        let r: unknown
        let id: unknown
        if (Array.isArray(ref) && ref.length === 3) {
          const [handle, name, entityId] = ref as unknown[]
          if (!_isHandle(handle)) throw new _Malformed('snap.e[0]: expected a handle (an integer ≥ 1)')
          if (typeof name === 'string' && typeof entityId === 'string') bindings = [[handle, name, entityId]]
          r = name
          id = entityId
        } else [r, id] = entity(ref, resolve, 'snap.e')
        const value = Object.hasOwn(raw, 'v') ? _envelope(raw.v, raw.m) : null
        const out = { t: 'snap', r, id, rev: raw.r, value }
        return bindings ? { raw: out, bindings } : { raw: out }
      }
      case 'l': {
        const r = raw.l
        const list = raw.i
        if (!Array.isArray(list) || list.length % 3 !== 0)
          throw new _Malformed('snap.i: expected a list of id, rev, value, …')
        const count = list.length / 3
        const metas = _metasByIndex(raw.m, count, 'snap.m')
        const items: unknown[] = new Array(count)
        let bindings: Binding[] | undefined
        for (let i = 0; i < count; i++) {
          let id = list[3 * i]
          if (Array.isArray(id) && id.length === 2) {
            const [handle, itemId] = id as unknown[]
            if (!_isHandle(handle))
              throw new _Malformed(`snap.i[${3 * i}][0]: expected a handle (an integer ≥ 1)`)
            if (typeof r === 'string' && typeof itemId === 'string') {
              bindings ??= []
              bindings.push([handle, r, itemId])
            }
            id = itemId
          }
          items[i] = { id, rev: list[3 * i + 1], value: _envelope(list[3 * i + 2], metas?.get(i)) }
        }
        const out: Record<string, unknown> = { t: 'snap', r, rev: raw.r, items, gone: raw.d ?? [] }
        if (raw.more !== undefined) out.more = raw.more
        if (raw.full !== undefined) out.full = raw.full
        return bindings ? { raw: out, bindings } : { raw: out }
      }
    }
  } catch (error) {
    if (error instanceof _Malformed) return new ProtocolError('BAD_MESSAGE', error.message)
    throw error
  }
  return new ProtocolError('BAD_MESSAGE', 'unknown compact message')
}

/** A short change, `[handle, rev, path, value, …]`, reshaped into the version 1 `change`. */
function _expandShortChange(
  list: readonly unknown[],
  resolve: (handle: number) => readonly [string, string] | undefined,
): { raw: unknown } | ProtocolError {
  if (list.length < 4 || list.length % 2 !== 0)
    return new ProtocolError(
      'BAD_MESSAGE',
      'a short change is [handle, rev, path, value, …] with at least one path and value',
    )
  const handle = list[0]
  const known = _isHandle(handle) ? resolve(handle) : undefined
  if (!known) return new ProtocolError('BAD_MESSAGE', `change: unknown entity handle ${str(handle)}`)
  try {
    return {
      raw: {
        t: 'change',
        r: known[0],
        id: known[1],
        rev: list[1],
        set: _expandSet(list.slice(2), undefined, 'change'),
      },
    }
  } catch (error) {
    if (error instanceof _Malformed) return new ProtocolError('BAD_MESSAGE', error.message)
    throw error
  }
}

function entity(
  ref: unknown,
  resolve: (handle: number) => readonly [string, string] | undefined,
  field: string,
): readonly [unknown, unknown] {
  if (typeof ref === 'number') {
    const known = resolve(ref)
    if (!known) throw new _Malformed(`${field}: unknown entity handle ${ref}`)
    return known
  }
  if (Array.isArray(ref) && ref.length === 2) return ref as [unknown, unknown]
  throw new _Malformed(`${field}: expected an entity handle or [resource, id]`)
}
