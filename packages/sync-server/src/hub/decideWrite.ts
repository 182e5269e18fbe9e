import { Buffer } from 'node:buffer'
import {
  applyFieldChanges,
  type DelMessage,
  defaultSerializer,
  type Encoded,
  type FieldChange,
  findValueProblem,
  MAX_VALUE_DEPTH,
  type PatchMessage,
  type PutMessage,
  type Serializer,
  splitChange,
  splitGone,
} from '@lensync/protocol'
import { _NOT_DECODED } from './EntityTable.ts'

/** A write as the hub decides it: a `put`, `patch` or `del` envelope, already parsed. */
export type WriteMessage = PutMessage | PatchMessage | DelMessage

/** One state of an entity, as {@link decideWrite} takes and returns it. */
export interface EntityState {
  /** The JSON text of the value's envelope (`{"json":…,"meta":…}`); `null` when the entity is absent (never existed or deleted). */
  readonly text: string | null
  /** @internal The decoded value, or `_NOT_DECODED` (missing: not decoded either). A cache; never mutated. */
  decoded?: unknown
  /** @internal Whether the envelope has no `meta`; meaningful once decoded. */
  plain?: boolean
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
 * - `write`: the entity's new state and the broadcast envelope of the change,
 *   split around its revision (`change[0] + rev + change[1]`; the revision is
 *   known once storage commits);
 * - `reject`: refused, with the `reject` code and message the writer gets;
 * - `exists`: a create-only `put` (an offer) found the entity: nothing is
 *   written, and the writer gets the stored value instead (when it may read it);
 * - `absent`: a `del` of an absent entity: nothing is written, the writer is
 *   acknowledged with the entity's revision.
 */
export type WriteDecision =
  | {
      readonly kind: 'write'
      readonly state: EntityState
      readonly change: readonly [head: string, tail: string]
    }
  | {
      readonly kind: 'reject'
      readonly code: 'NOT_FOUND' | 'TOO_LARGE' | 'BAD_FIELD'
      readonly message: string
    }
  | { readonly kind: 'exists' }
  | { readonly kind: 'absent' }

/**
 * Decides a write on the entity's current state, without storage, schemas
 * or connections: the pure part of the hub's write path (the hub wraps it
 * with its per-entity queue, the resource's schema, group commit and the
 * answers). A `put` stores its value as sent; a `patch` is merged into the
 * decoded base (`set` then `unset`) and re-encoded.
 *
 * Refusals: `NOT_FOUND` (a patch of an absent entity), `TOO_LARGE` (more than
 * `maxPatchEntries` patch entries, or a result over `maxEntityBytes`),
 * `BAD_FIELD` (a value the serializer cannot decode, a cycle, nesting deeper
 * than `MAX_VALUE_DEPTH` counting the path).
 *
 * @param base - The entity's current state (`{ text: null }` when absent). Its decoded value may be cached on it.
 * @param message - The write.
 * @param limits - The size limits, and the serializer.
 * @returns The decision; never throws for anything a client can send.
 * @example
 * const decision = decideWrite({ text: '{"json":{"a":1}}' }, { t: 'patch', op: 1, r: 'doc', id: 'x', set: [[['b'], { json: 2 }]] }, { maxEntityBytes: 1 << 19, maxPatchEntries: 10_000 })
 * // { kind: 'write', state: { text: '{"json":{"a":1,"b":2}}', … }, change: […] }
 */
export function decideWrite(base: EntityState, message: WriteMessage, limits: WriteLimits): WriteDecision {
  const { r, id } = message
  const tooMany = _patchTooLarge(message, limits)
  if (tooMany !== undefined) return { kind: 'reject', code: 'TOO_LARGE', message: tooMany }
  if (message.t === 'del') {
    if (base.text === null) return ABSENT
    return {
      kind: 'write',
      state: { text: null, decoded: null, plain: true },
      change: splitGone(r, id),
    }
  }
  if (message.t === 'put' && message.create === true && base.text !== null) return EXISTS
  if (message.t === 'patch' && base.text === null)
    return { kind: 'reject', code: 'NOT_FOUND', message: `${r} ${id} does not exist; send a put` }
  const serializer = limits.serializer ?? defaultSerializer
  let decision: { kind: 'write'; state: EntityState; change: readonly [string, string] }
  try {
    decision = message.t === 'put' ? put(message, serializer) : patch(message, base, serializer)
  } catch (error) {
    return { kind: 'reject', code: 'BAD_FIELD', message: `${r} ${id}: ${messageOf(error)}` }
  }
  const text = decision.state.text
  if (text !== null && Buffer.byteLength(text) > limits.maxEntityBytes) {
    return {
      kind: 'reject',
      code: 'TOO_LARGE',
      message: `${r} ${id} would be ${Buffer.byteLength(text)} bytes; the limit is ${limits.maxEntityBytes}`,
    }
  }
  return decision
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

const ABSENT: WriteDecision = Object.freeze({ kind: 'absent' })
const EXISTS: WriteDecision = Object.freeze({ kind: 'exists' })

function put(
  msg: PutMessage,
  serializer: Serializer,
): { kind: 'write'; state: EntityState; change: readonly [string, string] } {
  const text = JSON.stringify(msg.value)
  const plain = msg.value.meta === undefined
  // A value with meta is decoded now (from a copy: superjson rewrites its
  // input), so one that cannot be decoded never reaches storage.
  const decoded = plain ? msg.value.json : serializer.deserialize(JSON.parse(text) as Encoded)
  // Plain JSON is a tree whose depth the parser checked; a decoded value may share (and cycle).
  if (!plain) checkShape(decoded, MAX_VALUE_DEPTH)
  return {
    kind: 'write',
    state: { text, decoded, plain },
    change: splitChange(msg.r, msg.id, { value: text }),
  }
}

function patch(
  msg: PatchMessage,
  base: EntityState,
  serializer: Serializer,
): { kind: 'write'; state: EntityState; change: readonly [string, string] } {
  // Serialized before decoding: decoding may rewrite the envelopes in place.
  const body = {
    set: JSON.stringify(msg.set),
    unset: msg.unset ? JSON.stringify(msg.unset) : undefined,
  }
  const current = _decodedValue(base, serializer)
  let plain = base.plain as boolean
  const changes: FieldChange[] = msg.set.map(([path, value]) => {
    // Checked per value (a cycle lives within one envelope), with the depth its path adds.
    if (value.meta === undefined) {
      checkShape(value.json, MAX_VALUE_DEPTH - path.length)
      return [path, value.json]
    }
    plain = false
    const decoded = serializer.deserialize(value)
    checkShape(decoded, MAX_VALUE_DEPTH - path.length)
    return [path, decoded]
  })
  const merged = applyFieldChanges(current, changes, msg.unset ?? [])
  const encoded: Encoded = plain ? { json: merged } : serializer.serialize(merged)
  return {
    kind: 'write',
    state: { text: JSON.stringify(encoded), decoded: merged, plain: encoded.meta === undefined },
    change: splitChange(msg.r, msg.id, body),
  }
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
