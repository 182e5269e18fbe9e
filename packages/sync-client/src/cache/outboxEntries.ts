import type { ConflictPolicy, Encoded, FieldPath, FieldSet } from '@lensync/protocol'
import { applyEdits, type FieldEdit } from '../FieldOutbox.ts'
import type { WriteContent, WriteStamp } from '../replicaState.ts'
import type { WriteMessage } from '../SyncConnection.ts'
import type { OutboxEntry } from './types.ts'

/** Where an outbox entry belongs: resource, entity id and `resource({ version })`. */
export interface EntryTarget {
  readonly resource: string
  readonly id: string
  readonly version: number
}

/**
 * How a write meets conflicts: its base revision (`undefined`: none, e.g. a
 * create) and the policy sent with it.
 */
export interface EntryDetection {
  readonly base: number | undefined
  readonly onConflict: ConflictPolicy
}

function encodeEdits(
  edits: readonly FieldEdit[],
  encode: (value: unknown) => Encoded,
): { set?: FieldSet[]; unset?: FieldPath[] } {
  const set: FieldSet[] = []
  const unset: FieldPath[] = []
  for (const edit of edits) {
    if (edit.unset) unset.push(edit.path)
    else set.push([edit.path, encode(edit.value)])
  }
  return { ...(set.length > 0 ? { set } : {}), ...(unset.length > 0 ? { unset } : {}) }
}

/**
 * The outbox entry of a write: a `patch` keeps its field edits; a `put` its
 * whole value; a `create` its whole value (what goes on the wire) and the
 * field edits made on top of the offer (sent again as a patch when the
 * entity turns out to exist); a `del` nothing. A `patch` or `put` keeps its
 * base revision and conflict policy (`detection`), so it meets conflicts
 * whoever sends it.
 *
 * @internal
 */
export function entryOf(
  content: WriteContent,
  stamp: WriteStamp & { readonly detection?: EntryDetection },
  target: EntryTarget,
  encode: (value: unknown) => Encoded,
): OutboxEntry {
  // A sync's op ids are integers (its OpSequence); OpId also allows strings on the wire.
  const head = { client: stamp.client, op: stamp.op as number, ...target }
  const base = stamp.detection?.base
  const detection =
    base === undefined
      ? {}
      : stamp.detection?.onConflict === 'keep-theirs'
        ? { base, onConflict: 'keep-theirs' as const }
        : { base }
  switch (content.kind) {
    case 'del':
      return { ...head, kind: 'del' }
    case 'patch':
      return { ...head, kind: 'patch', ...encodeEdits(content.edits, encode), ...detection }
    case 'put': {
      const value = encode(applyEdits(content.base, content.edits))
      return content.create
        ? { ...head, kind: 'create', value, ...encodeEdits(content.edits, encode) }
        : { ...head, kind: 'put', value, ...detection }
    }
  }
}

/**
 * The content of an outbox entry, decoded: what a sync shows of a write made
 * by another client (another tab, or an earlier page).
 * @throws what `decode` throws.
 *
 * @internal
 */
export function contentOf(entry: OutboxEntry, decode: (value: Encoded) => unknown): WriteContent {
  const edits: FieldEdit[] = [
    ...(entry.set ?? []).map(([path, value]) => ({ path, value: decode(value), unset: false })),
    ...(entry.unset ?? []).map(path => ({ path, value: undefined, unset: true })),
  ]
  switch (entry.kind) {
    case 'del':
      return { kind: 'del' }
    case 'patch':
      return { kind: 'patch', edits }
    case 'put':
      return { kind: 'put', base: entry.value && decode(entry.value), edits: [], create: false }
    case 'create':
      return { kind: 'put', base: entry.value && decode(entry.value), edits, create: true }
  }
}

/**
 * The wire message of an outbox entry, sent on a connection whose `hello`
 * named the entry's client id (so without a `client` field). A `patch` or
 * `put` with a `base` carries it (and `onConflict: 'keep-theirs'`); an entry
 * without one (queued by an older version) is sent without.
 *
 * @internal
 */
export function wireOf(entry: OutboxEntry): WriteMessage {
  const message = wireContentOf(entry)
  if (entry.base === undefined || message.t === 'del' || (message.t === 'put' && message.create))
    return message
  return entry.onConflict === 'keep-theirs'
    ? { ...message, base: entry.base, onConflict: 'keep-theirs' }
    : { ...message, base: entry.base }
}

function wireContentOf(entry: OutboxEntry): WriteMessage {
  const { op, resource: r, id } = entry
  switch (entry.kind) {
    case 'del':
      return { t: 'del', op, r, id }
    case 'patch':
      return {
        t: 'patch',
        op,
        r,
        id,
        set: [...(entry.set ?? [])],
        ...(entry.unset && entry.unset.length > 0 ? { unset: [...entry.unset] } : {}),
      }
    case 'put':
      return { t: 'put', op, r, id, value: entry.value ?? { json: null } }
    case 'create':
      return { t: 'put', op, r, id, value: entry.value ?? { json: null }, create: true }
  }
}
