import { Buffer } from 'node:buffer'
import {
  applyFieldChanges,
  type CompactChange,
  compactChangeOf,
  type DelMessage,
  deepEqual,
  defaultSerializer,
  type Encoded,
  type FieldChange,
  type FieldPath,
  type FieldSet,
  findValueProblem,
  isPlainObject,
  MAX_VALUE_DEPTH,
  type PatchMessage,
  type PutMessage,
  type Serializer,
  splitChange,
  splitGone,
} from '@lensync/protocol'
import { _NOT_DECODED } from './EntityTable.ts'
import {
  _conflictingStamps,
  type _FieldRevisions,
  _fieldKey,
  _NO_REVISIONS,
  _parseFieldRevisions,
  _stampWrite,
  type _WrittenField,
  type FieldStamp,
} from './fieldRevisions.ts'
import { _TextLayout } from './TextLayout.ts'

/** A write as the hub decides it: a `put`, `patch` or `del` envelope, already parsed. */
export type WriteMessage = PutMessage | PatchMessage | DelMessage

/** One state of an entity, as {@link decideWrite} takes and returns it. */
export interface EntityState {
  /** The JSON text of the value's envelope (`{"json":…,"meta":…}`); `null` when the entity is absent (never existed or deleted). */
  readonly text: string | null
  /**
   * The stored text of the entity's field revisions (who wrote each field
   * last, at which revision); `null` or missing: none, every field unknown.
   */
  readonly fields?: string | null | undefined
  /** @internal The decoded value, or `_NOT_DECODED` (missing: not decoded either). A cache; never mutated. */
  decoded?: unknown
  /** @internal Whether the envelope has no `meta`; meaningful once decoded. */
  plain?: boolean
  /** @internal The field revisions (from `fields`, or made by a write), or `_NOT_DECODED` (missing: not read either). Never mutated. */
  revisions?: _FieldRevisions | typeof _NOT_DECODED
  /**
   * @internal Where the top-level fields of the envelope's `json` are in its
   * text, for patches; missing for a state not made by a patch, or whose
   * text a patch had to serialize whole.
   */
  layout?: _TextLayout | undefined
}

/** Who makes a write, for its field revisions and the conflicts of later writes. */
export interface Writer {
  /** The client id the write belongs to; absent: none (it is nobody's own earlier write). */
  readonly client?: string | undefined
  /** The server's `attribution(principal)` of the writer, reported as `by` in conflicts. */
  readonly by?: string | undefined
}

/** What {@link decideWrite} needs besides the state and the write: the limits, and who writes. */
export interface WriteContext extends WriteLimits {
  /** The writer. Absent: a write without a client id or attribution. */
  readonly writer?: Writer | undefined
}

/**
 * One field of a write that another client wrote after the write's `base`
 * (the field, a field above it or one below it), as the ack reports it.
 */
export interface WriteConflict {
  /** The written path (a put: a top-level field, or `[]` for the whole value). */
  readonly path: FieldPath
  /** The other client's write: its revision is known once that write is committed (`0` before). */
  readonly stamp: FieldStamp
  /** The JSON text of the field's envelope before this write; `null` when it was absent. */
  readonly theirs: string | null
  /** Whether this write's value was applied (`'overwrite'`) or dropped (`'keep-theirs'`). */
  readonly applied: boolean
}

/** The limits {@link decideWrite} applies, and how it decodes values. */
export interface WriteLimits {
  /** Largest entity (JSON text of its envelope) in bytes; larger → `TOO_LARGE`. */
  readonly maxEntityBytes: number
  /** `set` + `unset` entries one patch may carry; more → `TOO_LARGE`. */
  readonly maxPatchEntries: number
  /** Decodes values with `meta` to merge patches. Default superjson's format (`defaultSerializer`). */
  readonly serializer?: Serializer
}

/**
 * What a write does to an entity, decided by {@link decideWrite}:
 * - `write`: the entity's new state (with its field revisions, the written
 *   fields stamped with `stamp`), the broadcast envelope of the change, split
 *   around its revision (`change[0] + rev + change[1]`; the revision is known
 *   once storage commits), and the write's `conflicts` (empty without `base`);
 * - `reject`: refused, with the `reject` code and message the writer gets;
 * - `exists`: a create-only `put` (an offer) found the entity: nothing is
 *   written, and the writer gets the stored value instead (when it may read it);
 * - `absent`: a `del` of an absent entity: nothing is written, the writer is
 *   acknowledged with the entity's revision;
 * - `theirs`: a `'keep-theirs'` write whose every field conflicted: nothing
 *   is written, the writer is acknowledged (`applied: false`) with the conflicts.
 */
export type WriteDecision =
  | {
      readonly kind: 'write'
      readonly state: EntityState
      readonly change: readonly [head: string, tail: string]
      /** The change's compact form (protocol version 2), when made from the write; else made from `change`'s text. */
      readonly compact?: CompactChange | undefined
      readonly stamp: FieldStamp
      readonly conflicts: readonly WriteConflict[]
    }
  | {
      readonly kind: 'reject'
      readonly code: 'NOT_FOUND' | 'TOO_LARGE' | 'BAD_FIELD'
      readonly message: string
    }
  | { readonly kind: 'exists' }
  | { readonly kind: 'absent' }
  | { readonly kind: 'theirs'; readonly conflicts: readonly WriteConflict[] }

/**
 * Decides a write on the entity's current state, without storage, schemas
 * or connections: the pure part of the hub's write path (the hub wraps it
 * with its per-entity queue, the resource's schema, group commit and the
 * answers). A `put` stores its value as sent; a `patch` is merged into the
 * decoded base (`set` then `unset`) and re-encoded.
 *
 * Field revisions: the written fields (a patch's `set` and `unset` paths; a
 * put's top-level fields, those of its value and those of the stored value
 * it removes, or `[]` for a value that is not an object) get the write's
 * stamp (its revision once committed, the writer's client id and `by`); the
 * fields below a written one lose theirs. With `base` (the entity revision
 * the writer's view had), a written field conflicts when the field, a field
 * above it or one below it was last written by another client at a revision
 * after `base` (or not committed yet) and the write changes its value. With
 * `onConflict: 'keep-theirs'` conflicting fields are left out of the write
 * (a put keeps their stored value); when nothing is left the decision is
 * `theirs`. Fields without a revision (data older than field revisions)
 * never conflict.
 *
 * Refusals: `NOT_FOUND` (a patch of an absent entity), `TOO_LARGE` (more than
 * `maxPatchEntries` patch entries, or a result over `maxEntityBytes`),
 * `BAD_FIELD` (a value the serializer cannot decode, a cycle, nesting deeper
 * than `MAX_VALUE_DEPTH` counting the path).
 *
 * @param base - The entity's current state (`{ text: null }` when absent). Its decoded value and field revisions may be cached on it.
 * @param message - The write.
 * @param context - The size limits, the serializer, and the writer.
 * @returns The decision; never throws for anything a client can send.
 * @example
 * const decision = decideWrite({ text: '{"json":{"a":1}}' }, { t: 'patch', op: 1, r: 'doc', id: 'x', set: [[['b'], { json: 2 }]] }, { maxEntityBytes: 1 << 19, maxPatchEntries: 10_000 })
 * // { kind: 'write', state: { text: '{"json":{"a":1,"b":2}}', … }, change: […], conflicts: [] }
 */
export function decideWrite(base: EntityState, message: WriteMessage, context: WriteContext): WriteDecision {
  const decision = _decideWrite(base, message, context)
  if (decision.kind !== 'write' || decision.change !== undefined) return decision as WriteDecision
  return { ...decision, change: _patchChange(message as PatchMessage) }
}

/**
 * @internal
 * A {@link WriteDecision} as the hub takes it: a patch's `change` may be
 * left for later (`undefined`: make it with {@link _patchChange} when it is
 * needed — only version 1 subscribers, storage shared between nodes and
 * `onChange` read it; version 2 subscribers get `compact`).
 */
export type _WriteDecision =
  | Exclude<WriteDecision, { kind: 'write' }>
  | (Omit<Extract<WriteDecision, { kind: 'write' }>, 'change'> & {
      readonly change: readonly [head: string, tail: string] | undefined
    })

/**
 * @internal
 * {@link decideWrite}, but a patch whose values have no `meta` and that
 * meets no conflict leaves its `change` for later (see {@link _WriteDecision}):
 * serializing its `set` again costs as much as the rest of the decision.
 */
export function _decideWrite(
  base: EntityState,
  message: WriteMessage,
  context: WriteContext,
): _WriteDecision {
  const { r, id } = message
  const tooMany = _patchTooLarge(message, context)
  if (tooMany !== undefined) return { kind: 'reject', code: 'TOO_LARGE', message: tooMany }
  const writer = context.writer
  const stamp: FieldStamp = { rev: 0, client: writer?.client ?? null, by: writer?.by, slot: -1 }
  if (message.t === 'del') {
    if (base.text === null) return ABSENT
    return {
      kind: 'write',
      state: { text: null, fields: null, decoded: null, plain: true, revisions: _NO_REVISIONS },
      change: splitGone(r, id),
      compact: GONE,
      stamp,
      conflicts: NO_CONFLICTS,
    }
  }
  if (message.t === 'put' && message.create === true && base.text !== null) return EXISTS
  if (message.t === 'patch' && base.text === null)
    return { kind: 'reject', code: 'NOT_FOUND', message: `${r} ${id} does not exist; send a put` }
  const serializer = context.serializer ?? defaultSerializer
  let decision: _WriteDecision
  try {
    decision =
      message.t === 'put' ? put(message, base, stamp, serializer) : patch(message, base, stamp, serializer)
  } catch (error) {
    return { kind: 'reject', code: 'BAD_FIELD', message: `${r} ${id}: ${messageOf(error)}` }
  }
  if (decision.kind !== 'write') return decision
  const text = decision.state.text
  // A UTF-16 unit is at most 3 UTF-8 bytes: a text that short is within the limit without counting.
  if (
    text !== null &&
    text.length * 3 > context.maxEntityBytes &&
    Buffer.byteLength(text) > context.maxEntityBytes
  ) {
    return {
      kind: 'reject',
      code: 'TOO_LARGE',
      message: `${r} ${id} would be ${Buffer.byteLength(text)} bytes; the limit is ${context.maxEntityBytes}`,
    }
  }
  return decision
}

/**
 * @internal
 * The broadcast `change` of a patch, split around its revision: its `set`
 * and `unset` as sent. Only for a patch whose `set` values have no `meta`
 * (nothing decodes those in place) and that dropped nothing (no conflict).
 */
export function _patchChange(msg: PatchMessage): readonly [head: string, tail: string] {
  return splitChange(msg.r, msg.id, {
    set: JSON.stringify(msg.set),
    unset: msg.unset ? JSON.stringify(msg.unset) : undefined,
  })
}

/**
 * @internal
 * The `TOO_LARGE` message for a patch with more than `maxPatchEntries`
 * entries; `undefined` for any other write. Checked again before the write
 * queues (so such a patch costs no `authorize` and no read).
 */
export function _patchTooLarge(message: WriteMessage, limits: WriteLimits): string | undefined {
  if (message.t !== 'patch') return undefined
  const entries = message.set.length + (message.unset?.length ?? 0)
  if (entries <= limits.maxPatchEntries) return undefined
  return `a patch of ${entries} fields; the limit is ${limits.maxPatchEntries} (send a put)`
}

/**
 * @internal
 * The decoded value of a state (decoded once, then kept on the state).
 */
export function _decodedValue(state: EntityState, serializer: Serializer): unknown {
  if (state.decoded === _NOT_DECODED || !('decoded' in state)) {
    const encoded = JSON.parse(state.text as string) as Encoded
    state.plain = encoded.meta === undefined || encoded.meta === null
    state.decoded = state.plain ? encoded.json : serializer.deserialize(encoded)
  }
  return state.decoded
}

/**
 * @internal
 * The field revisions of a state (read from its `fields` once, then kept on
 * the state); none for an absent entity.
 */
export function _revisionsOf(state: EntityState): _FieldRevisions {
  if (state.text === null) return _NO_REVISIONS
  if (state.revisions === undefined || state.revisions === _NOT_DECODED)
    state.revisions = _parseFieldRevisions(state.fields)
  return state.revisions
}

const ABSENT: WriteDecision = Object.freeze({ kind: 'absent' })
const EXISTS: WriteDecision = Object.freeze({ kind: 'exists' })
const NO_CONFLICTS: readonly WriteConflict[] = Object.freeze([])
const NO_PATHS: readonly FieldPath[] = Object.freeze([])
const GONE = compactChangeOf('gone')
/** A field that is not there (unset, or never set). */
const MISSING: unique symbol = Symbol('missing')
const WHOLE: FieldPath = Object.freeze([])

function put(msg: PutMessage, base: EntityState, stamp: FieldStamp, serializer: Serializer): WriteDecision {
  let text = JSON.stringify(msg.value)
  let plain = msg.value.meta === undefined
  // A value with meta is decoded now (from a copy: superjson rewrites its
  // input), so one that cannot be decoded never reaches storage.
  let decoded = plain ? msg.value.json : serializer.deserialize(JSON.parse(text) as Encoded)
  // Plain JSON is a tree whose depth the parser checked; a decoded value may share (and cycle).
  if (!plain) checkShape(decoded, MAX_VALUE_DEPTH)
  const current = base.text === null ? MISSING : _decodedValue(base, serializer)
  let written = putFields(decoded, current)
  const revisions = _revisionsOf(base)
  const conflicts = findConflicts(msg, base, revisions, written, stamp, current, decoded, serializer)
  if (conflicts.length > 0 && msg.onConflict === 'keep-theirs') {
    const dropped = new Set(conflicts.map(c => _fieldKey(c.path)))
    written = written.filter(field => !dropped.has(field.key))
    if (dropped.has('') || written.length === 0) return { kind: 'theirs', conflicts }
    // Their value of each conflicting top-level field, or none where they have none.
    const kept = { ...(decoded as Record<string, unknown>) }
    for (const c of conflicts) {
      const name = c.path[0] as string
      const theirs = fieldAt(current, c.path)
      if (theirs === MISSING) delete kept[name]
      else
        Object.defineProperty(kept, name, {
          value: theirs,
          writable: true,
          enumerable: true,
          configurable: true,
        })
    }
    decoded = kept
    const encoded: Encoded = plain && base.plain ? { json: kept } : serializer.serialize(kept)
    plain = encoded.meta === undefined
    text = JSON.stringify(encoded)
  }
  return {
    kind: 'write',
    state: { text, decoded, plain, revisions: _stampWrite(revisions, written, stamp) },
    change: splitChange(msg.r, msg.id, { value: text }),
    compact: compactChangeOf({ value: text }),
    stamp,
    conflicts,
  }
}

/**
 * A put's written fields: the top-level fields of its value, then those of
 * the stored value it removes; the whole value (`[]`) for a value, or a
 * stored value, that is not a plain object.
 */
function putFields(value: unknown, current: unknown): _WrittenField[] {
  const written: _WrittenField[] = []
  if (!isPlainObject(value)) return [{ key: '', path: WHOLE, present: true }]
  for (const name of Object.keys(value)) written.push(field([name], true))
  if (current === MISSING) return written
  if (!isPlainObject(current)) written.push({ key: '', path: WHOLE, present: true })
  else
    for (const name of Object.keys(current))
      if (!Object.hasOwn(value, name)) written.push(field([name], false))
  return written
}

function field(path: FieldPath, present: boolean): _WrittenField {
  return { key: _fieldKey(path), path, present }
}

function patch(
  msg: PatchMessage,
  base: EntityState,
  stamp: FieldStamp,
  serializer: Serializer,
): _WriteDecision {
  const revisions = _revisionsOf(base)
  const current = _decodedValue(base, serializer)
  const written: _WrittenField[] = []
  for (const [path] of msg.set) written.push(field(path, true))
  if (msg.unset)
    for (const path of msg.unset) {
      const unset = field(path, false)
      // Unsetting what is not there (and was not set just before) changes nothing: no stamp.
      if (fieldAt(current, path) !== MISSING || written.some(w => w.present && w.key === unset.key))
        written.push(unset)
    }
  // Only a write with a base can conflict, and only with fields of known revisions.
  const suspects =
    msg.base === undefined || (revisions.present.size === 0 && revisions.removed.size === 0)
      ? undefined
      : _conflictingStamps(revisions, written, msg.base, stamp.client)
  // Serialized before decoding: decoding may rewrite the envelopes in place.
  const setTexts = suspects?.size ? msg.set.map(entry => JSON.stringify(entry)) : undefined
  let change: readonly [string, string] | undefined
  // Version 2's form of the change, from the same envelopes (before decoding).
  let compact: CompactChange | undefined
  if (!setTexts) {
    // Values with meta are decoded below, maybe in place: their change is made now.
    if (hasMeta(msg.set)) change = _patchChange(msg)
    compact = compactChangeOf(msg)
  }
  let plain = base.plain as boolean
  let changes: FieldChange[] = new Array(msg.set.length)
  for (let i = 0; i < msg.set.length; i++) {
    const [path, value] = msg.set[i] as FieldSet
    // Checked per value (a cycle lives within one envelope), with the depth its path adds.
    if (value.meta === undefined) {
      checkShape(value.json, MAX_VALUE_DEPTH - path.length)
      changes[i] = [path, value.json]
      continue
    }
    plain = false
    const decoded = serializer.deserialize(value)
    checkShape(decoded, MAX_VALUE_DEPTH - path.length)
    changes[i] = [path, decoded]
  }
  let unset = msg.unset ?? NO_PATHS
  let merged = applyFieldChanges(current, changes, unset)
  let stamped = written
  let conflicts = NO_CONFLICTS
  // With suspects the change is made now, from the fields the write keeps.
  if (setTexts && suspects) {
    conflicts = conflictsOf(
      suspects,
      written,
      current,
      merged,
      base,
      serializer,
      msg.onConflict !== 'keep-theirs',
    )
    let kept = setTexts
    if (conflicts.length > 0 && msg.onConflict === 'keep-theirs') {
      const dropped = new Set(conflicts.map(c => _fieldKey(c.path)))
      stamped = written.filter(w => !dropped.has(w.key))
      if (stamped.length === 0) return { kind: 'theirs', conflicts }
      const keep = msg.set.map(([path]) => !dropped.has(_fieldKey(path)))
      changes = changes.filter((_, i) => keep[i])
      kept = setTexts.filter((_, i) => keep[i])
      unset = unset.filter(path => !dropped.has(_fieldKey(path)))
      merged = applyFieldChanges(current, changes, unset)
    }
    const unsetText = msg.unset === undefined ? undefined : JSON.stringify(unset)
    change = splitChange(msg.r, msg.id, { set: `[${kept.join(',')}]`, unset: unsetText })
  }
  const encoded: Encoded = plain ? { json: merged } : serializer.serialize(merged)
  // Only the touched top-level fields are serialized (see _TextLayout).
  const layout = patchedLayout(base, encoded, changes, unset, plain ? undefined : serializer)
  return {
    kind: 'write',
    state: {
      text: layout !== undefined ? layout.text : JSON.stringify(encoded),
      decoded: merged,
      plain: encoded.meta === undefined,
      revisions: _stampWrite(revisions, stamped, stamp),
      layout,
    },
    change,
    compact,
    stamp,
    conflicts,
  }
}

/**
 * The layout of a patch's result, made from its base's layout and the
 * top-level fields the merge wrote (`changes`, `unset`), or (a base without one: the first patch
 * since a read or a put) from the whole result; `undefined` when the text
 * must be serialized whole (see {@link _TextLayout.patched}; a set of the
 * whole value; a serializer of the application's, whose `json` may not be
 * made field by field; a `meta` of more than value annotations, such as
 * superjson's `referentialEqualities` for shared references).
 *
 * @param serializer - What encoded the result; `undefined`: nothing did
 *   (plain JSON, `{ json: merged }`, as the base's when it has a layout).
 */
function patchedLayout(
  base: EntityState,
  encoded: Encoded,
  changes: readonly FieldChange[],
  unset: readonly FieldPath[],
  serializer: Serializer | undefined,
): _TextLayout | undefined {
  if (serializer !== undefined && serializer !== defaultSerializer) return undefined
  const meta = encoded.meta
  let end = '}}'
  if (meta !== undefined) {
    if (!annotationsOnly(meta)) return undefined
    end = `},"meta":${JSON.stringify(meta)}}`
  }
  // The fields as the merge wrote them (a keep-theirs conflict dropped some):
  // a new key is added where its first write is, as in the merged value.
  const names: string[] = []
  for (const [path] of changes) {
    if (path.length === 0) return undefined
    names.push(path[0] as string)
  }
  for (const path of unset) if (path.length > 0) names.push(path[0] as string)
  // A base written as plain JSON, now encoded by the serializer: the same
  // field can be other text (JSON writes -0 as 0 and Infinity as null, the
  // serializer annotates them), so nothing of the base's text is kept.
  const fresh = base.layout === undefined || (serializer !== undefined && base.plain === true)
  return fresh ? _TextLayout.of(encoded.json, end) : base.layout?.patched(encoded.json, names, end)
}

/** Whether a `meta` has only value annotations (`values`, `v`), as the default serializer's fast path makes. */
function annotationsOnly(meta: unknown): boolean {
  if (typeof meta !== 'object' || meta === null) return false
  for (const key in meta) if (key !== 'values' && key !== 'v') return false
  return true
}

/** Whether a value of a patch's `set` has a `meta` (not a plain JSON value). */
function hasMeta(set: readonly FieldSet[]): boolean {
  for (const entry of set) if (entry[1].meta !== undefined) return true
  return false
}

/** A put's conflicts (see {@link conflictsOf}); none without `base`. */
function findConflicts(
  msg: PutMessage,
  base: EntityState,
  revisions: _FieldRevisions,
  written: readonly _WrittenField[],
  stamp: FieldStamp,
  current: unknown,
  next: unknown,
  serializer: Serializer,
): readonly WriteConflict[] {
  if (msg.base === undefined || current === MISSING) return NO_CONFLICTS
  if (revisions.present.size === 0 && revisions.removed.size === 0) return NO_CONFLICTS
  const suspects = _conflictingStamps(revisions, written, msg.base, stamp.client)
  if (suspects.size === 0) return NO_CONFLICTS
  return conflictsOf(suspects, written, current, next, base, serializer, msg.onConflict !== 'keep-theirs')
}

/**
 * The conflicts among the suspects (written fields another client wrote
 * since the base): those whose value the write changes — writing what the
 * other client wrote is no conflict.
 */
function conflictsOf(
  suspects: ReadonlyMap<string, FieldStamp>,
  written: readonly _WrittenField[],
  current: unknown,
  next: unknown,
  base: EntityState,
  serializer: Serializer,
  applied: boolean,
): readonly WriteConflict[] {
  const conflicts: WriteConflict[] = []
  const seen = new Set<string>()
  for (const { key, path } of written) {
    const stamp = suspects.get(key)
    if (!stamp || seen.has(key)) continue
    seen.add(key)
    const theirs = fieldAt(current, path)
    const mine = fieldAt(next, path)
    if (theirs === mine || (theirs !== MISSING && mine !== MISSING && deepEqual(theirs, mine))) continue
    const text =
      theirs === MISSING ? null : JSON.stringify(base.plain ? { json: theirs } : serializer.serialize(theirs))
    conflicts.push({ path, stamp, theirs: text, applied })
  }
  return conflicts
}

/** The value at `path` (own fields of plain objects only), or {@link MISSING}. */
function fieldAt(value: unknown, path: FieldPath): unknown {
  let at = value
  for (const name of path) {
    if (!isPlainObject(at) || !Object.hasOwn(at, name)) return MISSING
    at = at[name]
  }
  return at
}

/**
 * Refuses a value readers could not hold: a cycle (superjson's
 * `referentialEqualities` can make one) or nesting deeper than `MAX_VALUE_DEPTH`.
 */
function checkShape(value: unknown, maxDepth: number): void {
  const problem = findValueProblem(value, maxDepth)
  if (problem === 'cycle') throw new Error('the value refers to itself (a cycle)')
  if (problem === 'depth') throw new Error('the value is nested too deeply')
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
