import {
  _compactPathText,
  _entityKey,
  _envelope,
  _expandPaths,
  _expandSet,
  _isCompact,
  _isHandle,
  _Malformed,
  _splitEnvelopeText,
  _typeKey,
} from './compactForm.ts'
import { LATEST_PROTOCOL_VERSION, MAX_ENTITY_HANDLES, MAX_NAME_LENGTH } from './constants.ts'
import {
  _conflictsText,
  type EncodedConflict,
  type EncodedSnapItem,
  encodeAck,
  encodeCollectionSnap,
  encodeEntitySnap,
  encodeWelcome,
} from './encode.ts'
import type { FieldPath, FieldSet, OpId } from './messages.ts'
import { ProtocolError } from './ProtocolError.ts'

const str = JSON.stringify
const WRITE_KEYS = ['p', 'w', 'd'] as const
const WRITE_TYPES = { p: 'patch', w: 'put', d: 'del' } as const
/** The op sequence of the connection is unknown (an unreadable write came in): the next write must say its op. */
const UNKNOWN = Symbol('unknown op')

/**
 * One connection's wire format, on the server: the protocol version its
 * `hello` agreed on and, for version 2, what both ends keep per connection —
 * the entity handles the server gave and the op of the last write (a write
 * whose op is the next integer leaves it out). The hub reshapes every
 * incoming envelope with {@link ServerWire.decode} (in arrival order) and
 * writes the messages that have a compact form through it; everything else
 * is written in version 1 form, which version 2 keeps.
 *
 * Made by {@link createServerWire}.
 */
export interface ServerWire {
  /** The protocol version of the connection (1 until a `hello` agreed on another). */
  readonly version: number
  /**
   * Reshapes one incoming envelope, in arrival order, into its version 1
   * form for `parseClientMessage` (which checks it). Version 1 envelopes
   * pass unchanged.
   *
   * @param raw - An envelope as `parseFrame` returned it, or the
   *   `ProtocolError` of an unusable frame (it may have held writes: the op
   *   sequence is then unknown until a write names its op).
   * @returns The version 1 envelope, or a `ProtocolError` (`BAD_FRAME`).
   */
  decode(raw: unknown): unknown
  /** The entity an incoming compact envelope is about, without changing anything (to read it early). */
  peek(raw: unknown): { readonly t: string; readonly r: string; readonly id: string } | undefined
  /** `welcome` with the connection's version. */
  welcome(client: string, node: string): string
  /**
   * An entity `snap`.
   *
   * @param value - The JSON text of the value's envelope; `null` when absent.
   * @param bind - Give the entity a handle (when it has none and the
   *   connection has fewer than {@link MAX_ENTITY_HANDLES}): only for the
   *   answer to a `sub`, which reaches the client before anything using it.
   */
  entitySnap(r: string, id: string, rev: number, value: string | null, bind: boolean): string
  /** One page of a collection `snap`; its entities get handles as {@link ServerWire.entitySnap} with `bind`. */
  collectionSnap(
    r: string,
    rev: number,
    items: readonly EncodedSnapItem[],
    gone: readonly string[],
    more: boolean,
    full: boolean,
  ): string
  /** `ack` of a write (see `encodeAck`). */
  ack(op: OpId, rev: number, applied?: boolean, conflicts?: readonly EncodedConflict[]): string
  /**
   * The JSON text naming an entity in a version 2 message: its handle, or
   * `[resource, id]` when it has none (or `byName`).
   */
  entityRef(r: string, id: string, byName?: boolean): string
}

/**
 * The wire format of a connection that speaks `version`.
 *
 * @param version - The version agreed in `hello` (see {@link negotiateVersion}): 1, 2 or 3.
 * @returns Version 1's stateless wire (shared) or a fresh version 2 or 3 wire.
 * @example
 * client.wire = createServerWire(negotiateVersion(hello.v) ?? 1)
 */
export function createServerWire(version: number): ServerWire {
  return version >= 3 ? new ServerWireV3() : version === 2 ? new ServerWireV2() : V1
}

/**
 * The version a server answers a `hello` with: the client's `v` when this
 * package speaks it (1 to {@link LATEST_PROTOCOL_VERSION}). Any other is
 * refused: the server closes with `PROTOCOL_ERROR` (1002), and a client that
 * also speaks an older version offers that one on its next connection.
 *
 * @param asked - `hello.v`.
 * @returns The version, or `undefined` for one this package does not speak.
 */
export function negotiateVersion(asked: number): number | undefined {
  return Number.isSafeInteger(asked) && asked >= 1 && asked <= LATEST_PROTOCOL_VERSION ? asked : undefined
}

const V1: ServerWire = Object.freeze({
  version: 1,
  decode: (raw: unknown) => raw,
  peek: () => undefined,
  welcome: (client: string, node: string) => encodeWelcome(client, node),
  entitySnap: (r: string, id: string, rev: number, value: string | null) =>
    encodeEntitySnap(r, id, rev, value),
  collectionSnap: encodeCollectionSnap,
  ack: encodeAck,
  entityRef: (r: string, id: string) => `[${str(r)},${str(id)}]`,
})

/**
 * The entity of a handle, `undefined` when the connection gave no such handle.
 * @internal
 */
export interface _HandleResolver {
  entityOf(handle: number): readonly [r: string, id: string] | undefined
}

/**
 * Reshapes incoming compact writes into version 1 envelopes, keeping the
 * connection's op sequence (a write without `o` has the op after the
 * previous write's). Entity handles are resolved by `entityOf`: the server's
 * version 2 wire is a write decoder itself (one object per connection).
 * Version 3's short patches (`[handle, base, path, value, …]`) are read
 * when {@link _WriteDecoder.shortPatches} says so.
 * @internal
 */
export abstract class _WriteDecoder implements _HandleResolver {
  private _lastOp: OpId | typeof UNKNOWN | undefined = undefined

  abstract entityOf(handle: number): readonly [r: string, id: string] | undefined

  /** Whether short patches are read (version 3); otherwise an array is passed on, for the parser to refuse. */
  get shortPatches(): boolean {
    return true
  }

  /** See {@link ServerWire.decode}. */
  decode(raw: unknown): unknown {
    if (raw instanceof ProtocolError) {
      this._lastOp = UNKNOWN
      return raw
    }
    if (Array.isArray(raw) && this.shortPatches) return this._shortPatch(raw)
    if (!_isCompact(raw)) {
      // A version 1 write keeps the op sequence too.
      const v1 = raw as { t?: unknown; op?: unknown } | null
      if (typeof v1 === 'object' && v1 !== null && (v1.t === 'put' || v1.t === 'patch' || v1.t === 'del'))
        this._lastOp = validOp(v1.op) ? v1.op : UNKNOWN
      return raw
    }
    const key = _typeKey(raw, WRITE_KEYS) as keyof typeof WRITE_TYPES | null | undefined
    if (!key)
      return bad(
        key === null
          ? 'a compact envelope has exactly one of the type keys p, w, d'
          : 'an envelope needs a string field "t" (or, in version 2, one of the type keys p, w, d)',
      )
    const t = WRITE_TYPES[key]
    let op: OpId
    if (raw.o !== undefined) {
      if (!validOp(raw.o)) {
        this._lastOp = UNKNOWN
        return bad(
          `${t}.o must be a finite number or a non-empty string of at most ${MAX_NAME_LENGTH} characters`,
        )
      }
      op = raw.o
    } else if (typeof this._lastOp === 'number') op = this._lastOp + 1
    else {
      this._lastOp = UNKNOWN
      return bad(`${t}.o is needed: the previous write's op is not known`)
    }
    this._lastOp = op
    const target = this.target(raw[key])
    if (typeof target === 'string') return bad(`${t}.${key}: ${target}`)
    const [r, id] = target
    try {
      const out: Record<string, unknown> = { t, op, r, id }
      if (raw.c !== undefined) out.client = raw.c
      if (t === 'del') return out
      if (raw.b !== undefined) out.base = raw.b
      if (raw.k !== undefined) {
        if (raw.k !== 1) throw new _Malformed(`${t}.k must be 1 (keep theirs) when present`)
        out.onConflict = 'keep-theirs'
      }
      if (t === 'put') {
        if (Object.hasOwn(raw, 'v')) out.value = _envelope(raw.v, raw.m)
        if (raw.n !== undefined) {
          if (raw.n !== 1) throw new _Malformed('put.n must be 1 (create only) when present')
          out.create = true
        }
        return out
      }
      out.set = _expandSet(raw.s, raw.m, 'patch.s')
      if (raw.x !== undefined) out.unset = _expandPaths(raw.x)
      return out
    } catch (error) {
      if (error instanceof _Malformed) return bad(error.message)
      throw error
    }
  }

  /**
   * A short patch, `[handle, base, path, value, …]`: a patch of the entity
   * the handle names, with the op after the previous write's, `base` as
   * is (the parser checks it) and values without meta.
   */
  private _shortPatch(raw: readonly unknown[]): unknown {
    const last = this._lastOp
    if (typeof last !== 'number') {
      this._lastOp = UNKNOWN
      return bad(
        `a short patch needs the previous write's op, which is not known: send this write with its "o"`,
      )
    }
    this._lastOp = last + 1
    if (raw.length < 4 || raw.length % 2 !== 0)
      return bad('a short patch is [handle, base, path, value, …] with at least one path and value')
    const handle = raw[0]
    const entity = _isHandle(handle) ? this.entityOf(handle) : undefined
    if (entity === undefined) return bad(`patch: unknown entity handle ${str(handle)}`)
    try {
      return {
        t: 'patch',
        op: last + 1,
        r: entity[0],
        id: entity[1],
        base: raw[1],
        set: _expandSet(raw.slice(2), undefined, 'patch'),
      }
    } catch (error) {
      if (error instanceof _Malformed) return bad(error.message)
      throw error
    }
  }

  /** See {@link ServerWire.peek}. */
  peek(raw: unknown): { readonly t: string; readonly r: string; readonly id: string } | undefined {
    if (Array.isArray(raw) && this.shortPatches) {
      const entity = _isHandle(raw[0]) ? this.entityOf(raw[0]) : undefined
      return entity && { t: 'patch', r: entity[0], id: entity[1] }
    }
    if (!_isCompact(raw)) return undefined
    const key = _typeKey(raw, WRITE_KEYS) as keyof typeof WRITE_TYPES | null | undefined
    if (!key) return undefined
    const target = this.target(raw[key])
    if (typeof target === 'string' || typeof target[0] !== 'string' || typeof target[1] !== 'string')
      return undefined
    return { t: WRITE_TYPES[key], r: target[0], id: target[1] }
  }

  /** An entity reference of a client envelope, or why it is unusable. */
  target(ref: unknown): readonly [unknown, unknown] | string {
    if (typeof ref === 'number') return this.entityOf(ref) ?? `unknown entity handle ${ref}`
    if (Array.isArray(ref) && ref.length === 2) return ref as [unknown, unknown]
    return 'must be an entity handle or [resource, id]'
  }
}

/**
 * A write decoder whose handles another object resolves (the frame decoder's,
 * with a client wire).
 * @internal
 */
export class _ResolvingWriteDecoder extends _WriteDecoder {
  /** @param _handles - Resolves entity handles. */
  constructor(private readonly _handles: _HandleResolver) {
    super()
  }

  entityOf(handle: number): readonly [r: string, id: string] | undefined {
    return this._handles.entityOf(handle)
  }
}

/**
 * Handles a connection looks up by scanning its list before it keeps a map
 * of them: most connections hold a few entities, and a `Map` costs a few
 * hundred bytes of memory per connection.
 */
const SCANNED_HANDLES = 8

class ServerWireV2 extends _WriteDecoder implements ServerWire {
  // Handles are given 1, 2, … and never reused, so a list is the table.
  /** Handle 1's entity, in the wire itself: most connections hold one and need no list. */
  private _r1: string | undefined = undefined
  private _id1: string | undefined = undefined
  /** Handles 2, 3, …: handle `h` is `[r, id]` at `2h - 4` and `2h - 3` (flat: no array per entity). */
  private _refs: string[] | undefined = undefined
  /** Past {@link SCANNED_HANDLES} handles: the handle of each entity, by `_entityKey`. */
  private _handles: Map<string, number> | undefined = undefined

  // A getter, not a field: one less slot in every connection's wire.
  get version(): number {
    return 2
  }

  override get shortPatches(): boolean {
    return false
  }

  entityOf(handle: number): readonly [r: string, id: string] | undefined {
    if (!Number.isInteger(handle) || handle < 1 || handle > this._count()) return undefined
    if (handle === 1) return [this._r1 as string, this._id1 as string]
    const refs = this._refs as string[]
    return [refs[handle * 2 - 4] as string, refs[handle * 2 - 3] as string]
  }

  welcome(client: string, node: string): string {
    return encodeWelcome(client, node, this.version)
  }

  entitySnap(r: string, id: string, rev: number, value: string | null, bind: boolean): string {
    const ref = bind ? this._bindRef(r, id) : this.entityRef(r, id)
    if (value === null) return `{"e":${ref},"r":${rev}}`
    return `{"e":${ref},"r":${rev}${valueFields(value)}}`
  }

  collectionSnap(
    r: string,
    rev: number,
    items: readonly EncodedSnapItem[],
    gone: readonly string[],
    more: boolean,
    full: boolean,
  ): string {
    let list = ''
    let metas = ''
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as EncodedSnapItem
      const handle = this._bind(r, item.id)
      const id = handle === undefined ? str(item.id) : `[${handle},${str(item.id)}]`
      const value = _splitEnvelopeText(item.value)
      list += `${i === 0 ? '' : ','}${id},${item.rev},${value.json}`
      if (value.meta !== undefined) metas += `${metas ? ',' : ''}[${i},${value.meta}]`
    }
    return `{"l":${str(r)},"r":${rev},"i":[${list}]${metas ? `,"m":[${metas}]` : ''}${gone.length > 0 ? `,"d":${str(gone)}` : ''}${more ? ',"more":true' : ''}${full ? ',"full":true' : ''}}`
  }

  ack(op: OpId, rev: number, applied = true, conflicts?: readonly EncodedConflict[]): string {
    const list = conflicts && conflicts.length > 0 ? `,"k":${_conflictsText(conflicts)}` : ''
    return `{"a":${str(op)},"r":${rev}${applied ? '' : ',"f":1'}${list}}`
  }

  entityRef(r: string, id: string, byName = false): string {
    const handle = byName ? undefined : this._handleOf(r, id)
    return handle === undefined ? `[${str(r)},${str(id)}]` : String(handle)
  }

  private _bindRef(r: string, id: string): string {
    const known = this._handleOf(r, id)
    if (known !== undefined) return String(known)
    const handle = this._bind(r, id)
    return handle === undefined ? `[${str(r)},${str(id)}]` : `[${handle},${str(r)},${str(id)}]`
  }

  /** How many handles the connection has. */
  private _count(): number {
    if (this._r1 === undefined) return 0
    return this._refs === undefined ? 1 : 1 + this._refs.length / 2
  }

  /** The entity's handle, `undefined` when it has none. */
  private _handleOf(r: string, id: string): number | undefined {
    if (this._handles !== undefined) return this._handles.get(_entityKey(r, id))
    if (this._r1 === r && this._id1 === id) return 1
    const refs = this._refs
    if (refs !== undefined)
      for (let i = 0; i < refs.length; i += 2) if (refs[i] === r && refs[i + 1] === id) return i / 2 + 2
    return undefined
  }

  /** The entity's handle, given now when it has none (and the table has room); `undefined` when full. */
  private _bind(r: string, id: string): number | undefined {
    const known = this._handleOf(r, id)
    const count = this._count()
    if (known !== undefined || count >= MAX_ENTITY_HANDLES) return known
    // Never reused on the connection: a handle means one entity for the connection's whole life.
    const handle = count + 1
    if (handle === 1) {
      this._r1 = r
      this._id1 = id
    } else if (this._refs === undefined) this._refs = [r, id]
    else this._refs.push(r, id)
    if (this._handles !== undefined) this._handles.set(_entityKey(r, id), handle)
    else if (handle > SCANNED_HANDLES) {
      const handles = new Map<string, number>()
      for (let h = 1; h <= handle; h++) {
        const [hr, hid] = this.entityOf(h) as readonly [string, string]
        handles.set(_entityKey(hr, hid), h)
      }
      this._handles = handles
    }
    return handle
  }
}

/** `,"v":json` and `,"m":meta` of a value envelope's text. */
function valueFields(text: string): string {
  const { json, meta } = _splitEnvelopeText(text)
  return meta === undefined ? `,"v":${json}` : `,"v":${json},"m":${meta}`
}

function validOp(op: unknown): op is OpId {
  return (
    (typeof op === 'number' && Number.isFinite(op)) ||
    (typeof op === 'string' && op.length > 0 && op.length <= MAX_NAME_LENGTH)
  )
}

function bad(message: string): ProtocolError {
  return new ProtocolError('BAD_FRAME', message)
}

/**
 * The compact form of a `change` or `gone` a server sends to the other
 * subscribers, made from its version 1 text (as the write path and other
 * nodes produce it): parsed once, then written for each connection with the
 * entity's reference on it (see {@link ServerWire.entityRef}).
 *
 * @param text - The version 1 envelope (`{"t":"change",…}` or `{"t":"gone",…}`).
 * @returns The renderer: `(ref, short) => text` (see {@link CompactRender}).
 * @example
 * const render = compactBroadcast(v1Text)
 * send(client, render(client.wire.entityRef(r, id), client.wire.version >= 3))
 */
export function compactBroadcast(text: string): CompactRender {
  const m = JSON.parse(text) as {
    t: string
    rev: number
    value?: { json: unknown; meta?: unknown }
    set?: [string[], { json: unknown; meta?: unknown }][]
    unset?: string[][]
  }
  if (m.t === 'gone') {
    const tail = `,"r":${m.rev}}`
    return ref => `{"g":${ref}${tail}`
  }
  let tail = `,"r":${m.rev}`
  let short: string | undefined
  if (m.value !== undefined) {
    tail += `,"v":${str(m.value.json === undefined ? null : m.value.json)}`
    if (m.value.meta !== undefined && m.value.meta !== null) tail += `,"m":${str(m.value.meta)}`
  } else {
    let set = ''
    let metas = ''
    const pairs = m.set ?? []
    for (let i = 0; i < pairs.length; i++) {
      const [path, value] = pairs[i] as [string[], { json: unknown; meta?: unknown }]
      set += `${i === 0 ? '' : ','}${_compactPathText(path)},${str(value.json === undefined ? null : value.json)}`
      if (value.meta !== undefined && value.meta !== null)
        metas += `${metas ? ',' : ''}[${i},${str(value.meta)}]`
    }
    if (pairs.length > 0) tail += `,"s":[${set}]`
    if (metas) tail += `,"m":[${metas}]`
    const unsets = m.unset !== undefined && m.unset.length > 0
    if (unsets) tail += `,"x":[${(m.unset as string[][]).map(_compactPathText).join(',')}]`
    if (pairs.length === 0 && !unsets) tail += ',"s":[]'
    if (pairs.length > 0 && !metas && !unsets) short = `,${m.rev},${set}]`
  }
  tail += '}'
  return renderer(`{"c":`, tail, short)
}

/**
 * Writes a compact `change` or `gone` naming the entity by `ref` (see
 * {@link ServerWire.entityRef}); with `short` (a version 3 connection) a
 * change that only sets fields, without meta, of an entity named by its
 * handle is the short change `[handle, rev, path, value, …]`.
 */
export type CompactRender = (ref: string, short?: boolean) => string

/** A renderer of `prefix + ref + tail`, or of `[ref + short` when asked for a short one it can make. */
function renderer(prefix: string, tail: string, short: string | undefined): CompactRender {
  if (short === undefined) return ref => `${prefix}${ref}${tail}`
  return (ref, asShort) =>
    asShort && ref.charCodeAt(0) !== 91 /* [ */ ? `[${ref}${short}` : `${prefix}${ref}${tail}`
}

/**
 * The compact form of a `change` or `gone`, split around the entity's
 * reference and the revision: `prefix + ref + ',"r":' + rev + rest`; and for
 * a change that only sets fields, without meta, the pairs of its version 3
 * short form (`[ref, rev` + `short`). Made by {@link compactChangeOf} from
 * the write itself, so a broadcast to version 2 and 3 connections needs no
 * parse of the version 1 text.
 */
export type CompactChange = readonly [prefix: string, rest: string, short?: string]

/**
 * The compact form of a change, from what the write carries: a value's
 * envelope text (a put), the patch's `set` and `unset` (values as parsed
 * envelopes, before anything decodes them in place), or `'gone'` (a delete).
 * The same text {@link compactBroadcast} makes from the version 1 envelope.
 *
 * @returns The split text; render it with {@link renderCompactChange}.
 * @example
 * const compact = compactChangeOf({ set: [[['n'], { json: 1 }]] })
 * renderCompactChange(compact, 7)('3') // '{"c":3,"r":7,"s":["n",1]}'
 */
export function compactChangeOf(
  body:
    | { readonly value: string }
    | { readonly set: readonly FieldSet[]; readonly unset?: readonly FieldPath[] | undefined }
    | 'gone',
): CompactChange {
  if (body === 'gone') return ['{"g":', '}']
  if ('value' in body) return ['{"c":', `${valueFields(body.value)}}`]
  let set = ''
  let metas = ''
  const pairs = body.set
  for (let i = 0; i < pairs.length; i++) {
    const [path, value] = pairs[i] as FieldSet
    set += `${i === 0 ? '' : ','}${_compactPathText(path)},${str(value.json === undefined ? null : value.json)}`
    if (value.meta !== undefined && value.meta !== null)
      metas += `${metas ? ',' : ''}[${i},${str(value.meta)}]`
  }
  let rest = pairs.length > 0 ? `,"s":[${set}]` : ''
  if (metas) rest += `,"m":[${metas}]`
  const unset = body.unset
  if (unset !== undefined && unset.length > 0) {
    let list = ''
    for (let i = 0; i < unset.length; i++)
      list += `${i === 0 ? '' : ','}${_compactPathText(unset[i] as FieldPath)}`
    rest += `,"x":[${list}]`
  } else if (pairs.length === 0) rest += ',"s":[]'
  else if (!metas) return ['{"c":', `${rest}}`, `,${set}]`]
  return ['{"c":', `${rest}}`]
}

/**
 * A {@link CompactChange} with its revision, as {@link compactBroadcast}'s renderer.
 *
 * @returns `(ref, short) => text`: the envelope naming the entity by `ref` (see {@link CompactRender}).
 */
export function renderCompactChange(change: CompactChange, rev: number): CompactRender {
  const [prefix, rest, short] = change
  return renderer(prefix, `,"r":${rev}${rest}`, short === undefined ? undefined : `,${rev}${short}`)
}

/** Version 3: version 2, reading short patches (its subscribers get short changes: see {@link CompactRender}); its version and what it reads are getters, no slot per connection. */
class ServerWireV3 extends ServerWireV2 {
  override get version(): number {
    return 3
  }

  override get shortPatches(): boolean {
    return true
  }
}
