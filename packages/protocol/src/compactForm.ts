import type { Encoded, FieldPath, FieldSet } from './messages.ts'

// The pieces protocol version 2 writes more compactly than version 1, shared
// by its encoders and decoders of both directions:
// - a field path of one step is its name (`"status"`), a longer one an array;
// - a value is its JSON inline; superjson's `meta`, when a value has one,
//   travels beside it (`"m"`), for a list as `[index, meta]` pairs;
// - an entity is a handle (a number the server gave it on this connection)
//   or `[resource, id]`.
// Decoders only reshape: the result is a version 1 envelope, checked by the
// version 1 parsers, so both versions share one set of rules and errors.

const str = JSON.stringify

/** Whether an envelope is written in version 2's compact form (it has no `t`). @internal */
export function _isCompact(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && !('t' in raw)
}

/**
 * The one type key of a compact envelope among `keys`.
 *
 * @returns The key, `undefined` when none is present, `null` when several are.
 * @internal
 */
export function _typeKey(raw: Record<string, unknown>, keys: readonly string[]): string | null | undefined {
  let found: string | undefined
  for (const key of keys) {
    if (!Object.hasOwn(raw, key)) continue
    if (found !== undefined) return null
    found = key
  }
  return found
}

/** A path in compact form: its one step as a string, else the array. @internal */
export function _compactPathText(path: FieldPath): string {
  return path.length === 1 ? str(path[0]) : str(path)
}

/** A compact path back to an array (anything else is passed on for the version 1 parser to refuse). @internal */
export function _expandPath(path: unknown): unknown {
  return typeof path === 'string' ? [path] : path
}

/** `[path, value, …]` and the metas of the values that have one, as JSON texts. @internal */
export function _compactSetText(set: readonly FieldSet[]): { set: string; metas: string } {
  let text = ''
  let metas = ''
  for (let i = 0; i < set.length; i++) {
    const [path, value] = set[i] as FieldSet
    text += `${i === 0 ? '' : ','}${_compactPathText(path)},${str(value.json)}`
    if (value.meta !== undefined && value.meta !== null)
      metas += `${metas ? ',' : ''}[${i},${str(value.meta)}]`
  }
  return { set: `[${text}]`, metas: metas ? `[${metas}]` : '' }
}

/** `[path, …]` in compact form. @internal */
export function _compactPathsText(paths: readonly FieldPath[]): string {
  let text = ''
  for (let i = 0; i < paths.length; i++)
    text += `${i === 0 ? '' : ','}${_compactPathText(paths[i] as FieldPath)}`
  return `[${text}]`
}

/** Thrown while reshaping a compact envelope; caught by the decoder and turned into its error. @internal */
export class _Malformed extends Error {}

/**
 * The metas of a list (`[[index, meta], …]`) by index; `undefined` when absent.
 *
 * @param count - The list's length: an index must be below it.
 * @internal
 */
export function _metasByIndex(
  metas: unknown,
  count: number,
  field: string,
): Map<number, unknown> | undefined {
  if (metas === undefined) return undefined
  if (!Array.isArray(metas)) throw new _Malformed(`${field} must be a list of [index, meta] pairs`)
  const out = new Map<number, unknown>()
  for (const pair of metas) {
    const index = Array.isArray(pair) && pair.length === 2 ? pair[0] : undefined
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count)
      throw new _Malformed(`${field} must be a list of [index, meta] pairs with an index of the list`)
    out.set(index, (pair as unknown[])[1])
  }
  return out
}

/** A value's envelope from its inline JSON and its meta. @internal */
export function _envelope(json: unknown, meta: unknown): Encoded {
  return meta === undefined ? { json } : { json, meta }
}

/** A compact `[path, value, …]` list (with its metas) as version 1 `[path, envelope]` pairs. @internal */
export function _expandSet(list: unknown, metas: unknown, field: string): unknown {
  if (list === undefined) return []
  if (!Array.isArray(list) || list.length % 2 !== 0)
    throw new _Malformed(`${field} must be a list of path, value, path, value …`)
  const count = list.length / 2
  const byIndex = _metasByIndex(metas, count, `${field} metas (m)`)
  const set: unknown[] = new Array(count)
  for (let i = 0; i < count; i++)
    set[i] = [_expandPath(list[2 * i]), _envelope(list[2 * i + 1], byIndex?.get(i))]
  return set
}

/** A compact list of paths as version 1 paths (anything but a list is passed on). @internal */
export function _expandPaths(list: unknown): unknown {
  return Array.isArray(list) ? list.map(_expandPath) : list
}

/** The key of an entity in a handle table. @internal */
export function _entityKey(r: string, id: string): string {
  return `${r}\u0000${id}`
}

/** Whether a value can be an entity handle: a safe integer ≥ 1. @internal */
export function _isHandle(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1
}

/**
 * The JSON text of a value envelope (`{"json":…,"meta"?:…}`, as the server
 * stores it) split into its value's JSON text and its meta's (`undefined`
 * without one). Text written by `JSON.stringify` of a `{ json }` envelope is
 * cut without parsing; anything else (a meta, other spacing or key order) is
 * parsed.
 * @internal
 */
export function _splitEnvelopeText(text: string): { json: string; meta: string | undefined } {
  // An object key "meta" anywhere would contain this; without it there is no meta.
  if (text.startsWith('{"json":') && text.endsWith('}') && !text.includes('"meta"'))
    return { json: text.slice(8, -1), meta: undefined }
  const envelope = JSON.parse(text) as { json: unknown; meta?: unknown }
  const meta = envelope.meta === undefined || envelope.meta === null ? undefined : str(envelope.meta)
  return { json: str(envelope.json === undefined ? null : envelope.json), meta }
}
