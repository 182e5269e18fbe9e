import type { FieldPath } from '@lensync/protocol'
import { _jsonString } from './jsonString.ts'

/**
 * Who wrote a field last: one stamp per write, shared by every field it wrote.
 * `rev` is `0` until that write is committed (then the hub fills it in).
 */
export interface FieldStamp {
  /** The revision of the write; `0` while it is not committed. */
  rev: number
  /** The writer's client id; `null` for a write without one (it matches no other write). */
  readonly client: string | null
  /** `attribution(principal)` of the writer, when the server has `attribution`. */
  readonly by: string | undefined
  /** @internal While its write is committed: its index in the storage batch. */
  slot: number
}

/**
 * @internal
 * The field revisions of an entity: for each field path written, the stamp of
 * its last write. Keys are {@link _fieldKey}s. Both maps are in write order
 * (a field written again moves to the end).
 */
export interface _FieldRevisions {
  /** Fields in the value. */
  readonly present: ReadonlyMap<string, FieldStamp>
  /** Fields a write removed (an `unset`, a put that left them out); at most {@link _MAX_REMOVED} (and {@link _MAX_REMOVED_CHARS}). */
  readonly removed: ReadonlyMap<string, FieldStamp>
  /** Whether a key may have a field above it other than the whole value (then a write may replace it). */
  readonly nested: boolean
}

/** @internal One field a write sets (`present`) or removes. */
export interface _WrittenField {
  readonly key: string
  readonly path: FieldPath
  readonly present: boolean
}

/**
 * @internal
 * How many removed fields an entity keeps stamps of (the oldest go first):
 * enough to catch an offline edit that brings back a field someone removed,
 * bounded for an entity used as a map whose keys come and go.
 */
export const _MAX_REMOVED = 64

/** @internal At most this many characters of removed fields' keys are kept (the oldest go first). */
export const _MAX_REMOVED_CHARS = 16_384

/** @internal No field revisions: old data, a new entity, or a tombstone. Every field is unknown. */
export const _NO_REVISIONS: _FieldRevisions = Object.freeze({
  present: new Map<string, FieldStamp>(),
  removed: new Map<string, FieldStamp>(),
  nested: false,
})

/** Whether a key is more than one name deep, or the whole value (a dot after the first, maybe escaped: then "maybe"). */
function deep(key: string): boolean {
  return key === '' || key.indexOf('.', 1) !== -1
}

/**
 * @internal
 * A field path as a key of {@link _FieldRevisions}: `.` before each property
 * name, with `\` and `.` inside names escaped by `\` (so `['a.b']` and
 * `['a', 'b']` differ); the whole value is `''`.
 */
export function _fieldKey(path: FieldPath): string {
  let key = ''
  for (const name of path)
    key += `.${name.includes('.') || name.includes('\\') ? name.replace(/[\\.]/g, '\\$&') : name}`
  return key
}

/** @internal Whether field `above` contains field `below` (and is not the same field). */
export function _isAbove(above: string, below: string): boolean {
  if (above === '') return below !== ''
  // A complete key ends on a whole name, so the next character of a longer key is a separator.
  return below.length > above.length && below.startsWith(above) && below[above.length] === '.'
}

/** Whether `key` or a field above it is in `keys`. */
function coveredBy(key: string, keys: ReadonlySet<string>): boolean {
  if (keys.has(key)) return true
  if (key === '') return false
  if (keys.has('')) return true
  for (let i = 1; i < key.length; i++) {
    const c = key[i]
    if (c === '\\') i++
    else if (c === '.' && keys.has(key.slice(0, i))) return true
  }
  return false
}

/**
 * @internal
 * The newest stamp of another writer, newer than `base`, on each written
 * field, a field above it or a field below it (present or removed): the
 * fields of the write that conflict.
 *
 * @param base - The entity revision the writer's view had.
 * @param client - The writer's client id (`null`: none; then every stamp is another's).
 * @returns Written key → the conflicting stamp; empty when none.
 */
export function _conflictingStamps(
  revisions: _FieldRevisions,
  written: readonly _WrittenField[],
  base: number,
  client: string | null,
): ReadonlyMap<string, FieldStamp> {
  let found: Map<string, FieldStamp> | undefined
  found = checkStamps(revisions.present, written, base, client, found)
  found = checkStamps(revisions.removed, written, base, client, found)
  return found ?? NO_STAMPS
}

/** {@link _conflictingStamps} over one map of fields; `found` is made at the first conflict. */
function checkStamps(
  fields: ReadonlyMap<string, FieldStamp>,
  written: readonly _WrittenField[],
  base: number,
  client: string | null,
  found: Map<string, FieldStamp> | undefined,
): Map<string, FieldStamp> | undefined {
  for (const [key, stamp] of fields) {
    // rev 0: staged, not committed, so no client has seen it.
    if ((stamp.rev !== 0 && stamp.rev <= base) || (client !== null && stamp.client === client)) continue
    for (const field of written) {
      if (field.key !== key && !_isAbove(field.key, key) && !_isAbove(key, field.key)) continue
      found ??= new Map<string, FieldStamp>()
      const held = found.get(field.key)
      if (!held || newer(stamp, held)) found.set(field.key, stamp)
    }
  }
  return found
}

/** No conflicting stamps (shared; never written to). */
const NO_STAMPS: ReadonlyMap<string, FieldStamp> = new Map()

function newer(a: FieldStamp, than: FieldStamp): boolean {
  if (a.rev === 0) return than.rev !== 0
  return than.rev !== 0 && a.rev > than.rev
}

/**
 * @internal
 * The field revisions after a write: the written fields get its stamp (at
 * the end), the fields below them lose theirs (the write replaced them), the
 * others keep theirs. Removed fields beyond {@link _MAX_REMOVED} (or whose
 * keys pass {@link _MAX_REMOVED_CHARS} together) are forgotten, oldest first.
 */
export function _stampWrite(
  revisions: _FieldRevisions,
  written: readonly _WrittenField[],
  stamp: FieldStamp,
): _FieldRevisions {
  let nested = revisions.nested
  let removes = revisions.removed.size > 0
  for (const field of written) {
    if (deep(field.key)) nested = true
    if (!field.present) removes = true
  }
  let present: Map<string, FieldStamp>
  let removed: Map<string, FieldStamp>
  if (!nested) {
    // Only top-level fields, here and written: nothing is below a written field.
    present = copyUnwritten(revisions.present, written)
    // Nothing removed before or now: the (never written) empty map is kept.
    if (!removes) return { present: stampAll(present, written, stamp), removed: revisions.removed, nested }
    removed = copyUnwritten(revisions.removed, written)
  } else {
    const keys = new Set<string>()
    for (const field of written) keys.add(field.key)
    present = new Map<string, FieldStamp>()
    removed = new Map<string, FieldStamp>()
    for (const [key, held] of revisions.present) if (!coveredBy(key, keys)) present.set(key, held)
    for (const [key, held] of revisions.removed) if (!coveredBy(key, keys)) removed.set(key, held)
    nested = false
    for (const key of present.keys()) if (deep(key)) nested = true
    for (const key of removed.keys()) if (deep(key)) nested = true
    for (const key of keys) if (deep(key)) nested = true
  }
  for (const field of written) {
    // A field set and unset by one patch ends removed (unsets come after sets).
    present.delete(field.key)
    removed.delete(field.key)
    if (field.present) present.set(field.key, stamp)
    else removed.set(field.key, stamp)
  }
  let chars = 0
  for (const key of removed.keys()) chars += key.length
  for (const key of removed.keys()) {
    if (removed.size <= _MAX_REMOVED && chars <= _MAX_REMOVED_CHARS) break
    removed.delete(key)
    chars -= key.length
  }
  return { present, removed, nested }
}

/** Written fields looked up by scanning before {@link copyUnwritten} makes a set of them. */
const SCANNED_FIELDS = 8

/**
 * A copy of a map of fields without the written ones (which the caller puts
 * at the end): quicker than copying the whole map and deleting them.
 */
function copyUnwritten(
  fields: ReadonlyMap<string, FieldStamp>,
  written: readonly _WrittenField[],
): Map<string, FieldStamp> {
  const copy = new Map<string, FieldStamp>()
  if (fields.size === 0) return copy
  if (written.length > SCANNED_FIELDS) {
    const keys = new Set(written.map(field => field.key))
    for (const [key, held] of fields) if (!keys.has(key)) copy.set(key, held)
    return copy
  }
  for (const [key, held] of fields) if (!isWritten(key, written)) copy.set(key, held)
  return copy
}

function isWritten(key: string, written: readonly _WrittenField[]): boolean {
  for (const field of written) if (field.key === key) return true
  return false
}

/** Gives the written fields, all present, the write's stamp (at the end). */
function stampAll(
  present: Map<string, FieldStamp>,
  written: readonly _WrittenField[],
  stamp: FieldStamp,
): Map<string, FieldStamp> {
  for (const field of written) {
    present.delete(field.key)
    present.set(field.key, stamp)
  }
  return present
}

/**
 * @internal
 * Reads stored field revisions; `null`, or text that is not field
 * revisions, is {@link _NO_REVISIONS} (every field unknown).
 *
 * The stored form is one JSON object: `w`, the writes (`[rev, client, by?]`,
 * `client` `null` for a write without a client id), and `f` / `x`, the
 * present / removed fields (key → index in `w`), in write order:
 * `{"w":[[12,"tab-1","Ada"],[15,"tab-2"]],"f":{".name":0,".age":1},"x":{".nick":1}}`.
 */
export function _parseFieldRevisions(text: string | null | undefined): _FieldRevisions {
  if (!text) return _NO_REVISIONS
  try {
    const stored = JSON.parse(text) as { w?: unknown; f?: unknown; x?: unknown }
    if (!Array.isArray(stored.w)) return _NO_REVISIONS
    const stamps: FieldStamp[] = stored.w.map(write => {
      const [rev, client, by] = write as [unknown, unknown, unknown]
      return {
        rev: typeof rev === 'number' && rev > 0 ? rev : 0,
        client: typeof client === 'string' ? client : null,
        by: typeof by === 'string' ? by : undefined,
        slot: -1,
      }
    })
    const fields = (source: unknown): Map<string, FieldStamp> => {
      const map = new Map<string, FieldStamp>()
      if (typeof source !== 'object' || source === null) return map
      for (const [key, index] of Object.entries(source)) {
        const stamp = typeof index === 'number' ? stamps[index] : undefined
        // A stamp without a revision tells nothing: the field is unknown.
        if (stamp && stamp.rev > 0) map.set(key, stamp)
      }
      return map
    }
    const present = fields(stored.f)
    const removed = fields(stored.x)
    let nested = false
    for (const key of present.keys()) if (deep(key)) nested = true
    for (const key of removed.keys()) if (deep(key)) nested = true
    return { present, removed, nested }
  } catch {
    return _NO_REVISIONS
  }
}

/**
 * @internal
 * The stored form of field revisions (see {@link _parseFieldRevisions}), or
 * `undefined` when there are none. A stamp whose write is not committed yet
 * is written as the placeholder `\u0000<slot>\u0000`, its write's index in
 * the storage batch: storage puts that write's revision there (see
 * `StorageWrite.fields`); one that is in no batch (a bug) is left out.
 */
export function _fieldRevisionsText(revisions: _FieldRevisions): string | undefined {
  const { present, removed } = revisions
  if (present.size === 0 && removed.size === 0) return undefined
  const text = new RevisionsText()
  const fields = text.fields(present)
  const gone = removed.size === 0 ? '' : text.fields(removed)
  return `{"w":[${text.writes}],"f":{${fields}}${gone ? `,"x":{${gone}}` : ''}}`
}

/** Stamps looked up by scanning before {@link RevisionsText} keeps a map of them. */
const SCANNED_STAMPS = 8

/** Builds {@link _fieldRevisionsText}: the writes' list, each stamp once, as the fields name them. */
class RevisionsText {
  /** The `w` list's text so far. */
  writes = ''
  private readonly _stamps: FieldStamp[] = []
  private _index: Map<FieldStamp, number> | undefined = undefined

  /** The `"key":index` list of a map of fields, adding their stamps to {@link RevisionsText.writes}. */
  fields(map: ReadonlyMap<string, FieldStamp>): string {
    let text = ''
    for (const [key, stamp] of map) {
      const i = this._indexOf(stamp)
      if (i < 0) continue
      text += `${text ? ',' : ''}${_jsonString(key)}:${i}`
    }
    return text
  }

  /** The stamp's index in the writes, added when new; `-1` for one in no batch (left out). */
  private _indexOf(stamp: FieldStamp): number {
    const stamps = this._stamps
    let i = this._index ? (this._index.get(stamp) ?? -1) : stamps.indexOf(stamp)
    if (i >= 0) return i
    if (stamp.rev === 0 && stamp.slot < 0) return -1
    i = stamps.length
    stamps.push(stamp)
    if (this._index) this._index.set(stamp, i)
    else if (stamps.length > SCANNED_STAMPS) this._index = new Map(stamps.map((s, at) => [s, at]))
    const rev = stamp.rev === 0 ? `\u0000${stamp.slot}\u0000` : String(stamp.rev)
    const by = stamp.by === undefined ? '' : `,${_jsonString(stamp.by)}`
    const client = stamp.client === null ? 'null' : _jsonString(stamp.client)
    this.writes += `${i === 0 ? '' : ','}[${rev},${client}${by}]`
    return i
  }
}
