import type { FieldPath, Serializer } from '@lensync/protocol'
import { _decodedValue, type EntityState, type WriteMessage } from './decideWrite.ts'

/**
 * @internal
 * A field path as `authorize` and `onChange` see it: the property names
 * joined with dots behind a leading dot, like the store's paths
 * (`['address', 'street']` → `'.address.street'`); the empty path (the whole
 * value) is `''`. A key that itself contains a dot is not escaped.
 */
export function _dottedPath(path: FieldPath): string {
  let text = ''
  for (const key of path) text += `.${key}`
  return text
}

/**
 * @internal
 * The field paths a write changes, for `authorize`'s `paths`:
 * - `patch`: every `set` path, then every `unset` path not already listed;
 * - `put`: the top-level fields of the new value, then those of the entity's
 *   current value (`base`) that the put removes; a value that is not a plain
 *   object (an array, a string …) is the whole value, `''`;
 * - `del`: none (`[]`): a delete is its own permission, `op: 'delete'`.
 *
 * @param message - The write.
 * @param base - The entity's current state as the hub knows it (puts only;
 *   `undefined` or `text: null` when absent).
 * @param serializer - Decodes `base` (its decoded value is kept on it).
 */
export function _writePaths(
  message: WriteMessage,
  base: EntityState | undefined,
  serializer: Serializer,
): readonly string[] {
  if (message.t === 'del') return NONE
  const paths = new Set<string>()
  if (message.t === 'patch') {
    for (const [path] of message.set) paths.add(_dottedPath(path))
    for (const path of message.unset ?? []) paths.add(_dottedPath(path))
    return [...paths]
  }
  topLevel(message.value.json, paths)
  if (base !== undefined && base.text !== null) {
    const kept = new Set(paths)
    const removed = new Set<string>()
    topLevel(_decodedValue(base, serializer), removed)
    for (const path of removed) if (!kept.has(path)) paths.add(path)
  }
  return [...paths]
}

/** Adds the top-level fields of a value (`''` for one that is not a plain object). */
function topLevel(value: unknown, into: Set<string>): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !isPlain(value)) {
    into.add('')
    return
  }
  for (const key of Object.keys(value)) into.add(`.${key}`)
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

const NONE: readonly string[] = Object.freeze([])
