import { isPlainObject } from './codec.ts'
import type { FieldPath } from './messages.ts'

/** A decoded field change: the path and its new value. */
export type FieldChange = readonly [path: FieldPath, value: unknown]

/** The field-level difference between two values, as `diffFields` computes it. */
export interface FieldDiff {
  set: FieldChange[]
  unset: FieldPath[]
}

// A shallow own-enumerable copy. On Node 20 a plain for-in copy is markedly
// faster than `{ ...o }` for objects that were themselves made by a spread.
function copyObject(source: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key in source) {
    if (key === '__proto__') assign(out, key, source[key])
    else out[key] = source[key]
  }
  return out
}

// `out[key] = v` with key `__proto__` would swap the object's prototype
// instead of making a field; an own data property is what a path means.
function assign(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
  } else target[key] = value
}

// The own field `key` of a plain object: never an inherited one (`constructor`).
function ownField(source: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(source, key) ? source[key] : undefined
}

/**
 * Returns a copy of `value` with `next` at `path`; objects along the path are
 * copied, everything else keeps its identity. Missing or non-object steps
 * become `{}`. An empty path replaces the whole value.
 */
export function setIn(value: unknown, path: FieldPath, next: unknown, from = 0): unknown {
  if (from >= path.length) return next
  const key = path[from] as string
  const base = isPlainObject(value) ? copyObject(value) : {}
  assign(base, key, setIn(ownField(base, key), path, next, from + 1))
  return base
}

/** Returns a copy of `value` without the field at `path` (unchanged when it is not there). */
export function unsetIn(value: unknown, path: FieldPath, from = 0): unknown {
  if (from >= path.length || !isPlainObject(value)) return value
  const key = path[from] as string
  if (!Object.hasOwn(value, key)) return value
  const base = copyObject(value)
  if (from === path.length - 1) delete base[key]
  else assign(base, key, unsetIn(base[key], path, from + 1))
  return base
}

/**
 * Applies decoded field changes (sets in order, then unsets) to `value`
 * immutably, with the semantics of `setIn`/`unsetIn` applied one by one:
 * missing or non-object steps become `{}`, an empty path replaces the whole
 * value, untouched objects keep their identity.
 *
 * It runs in time linear in the total length of the paths: each object along
 * the paths is copied at most once per call, and later entries write into
 * that copy (one by one, 40,000 sets on one object would copy it 40,000 times).
 *
 * @param value - The current value (not modified).
 * @param set - Field assignments, applied in order.
 * @param unset - Fields to remove, after the sets.
 * @returns The new value.
 */
export function applyFieldChanges(
  value: unknown,
  set: readonly FieldChange[],
  unset: readonly FieldPath[] = [],
): unknown {
  // Objects made by this call: the only ones it may write into.
  const fresh = new Set<object>()
  const writable = (source: unknown): Record<string, unknown> => {
    if (typeof source === 'object' && source !== null && fresh.has(source))
      return source as Record<string, unknown>
    const copy = isPlainObject(source) ? copyObject(source) : {}
    fresh.add(copy)
    return copy
  }
  let out = value
  for (const [path, next] of set) {
    if (path.length === 0) {
      out = next
      continue
    }
    const root = writable(out)
    let node = root
    const last = path.length - 1
    for (let i = 0; i < last; i++) {
      const key = path[i] as string
      const child = writable(ownField(node, key))
      assign(node, key, child)
      node = child
    }
    assign(node, path[last] as string, next)
    out = root
  }
  for (const path of unset) {
    if (path.length === 0 || !hasPath(out, path)) continue
    const root = writable(out)
    let node = root
    const last = path.length - 1
    for (let i = 0; i < last; i++) {
      const key = path[i] as string
      const child = writable(node[key])
      assign(node, key, child)
      node = child
    }
    delete node[path[last] as string]
    out = root
  }
  return out
}

// Whether every step of `path` is an own field of a plain object.
function hasPath(value: unknown, path: FieldPath): boolean {
  let current = value
  for (const key of path) {
    if (!isPlainObject(current) || !Object.hasOwn(current, key)) return false
    current = current[key]
  }
  return true
}

/**
 * Structural equality for entity data: plain objects and arrays by content,
 * Dates by time, Maps and Sets by entries, everything else by `Object.is`.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false
    return true
  }
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime()
  if (a instanceof Set) {
    if (!(b instanceof Set) || a.size !== b.size) return false
    for (const item of a) if (!b.has(item)) return false
    return true
  }
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false
    for (const [key, item] of a) if (!b.has(key) || !deepEqual(item, b.get(key))) return false
    return true
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) if (!Object.hasOwn(b, key) || !deepEqual(a[key], b[key])) return false
  return true
}

/**
 * The field-level changes that turn `prev` into `next`. Plain objects are
 * descended into; arrays, Dates, Maps, Sets and primitives are compared
 * structurally and replaced whole. Identical sub-objects are skipped at once,
 * so a store update made through lenses costs only the changed path.
 * A root-level replacement is reported as one change with the empty path.
 */
export function diffFields(prev: unknown, next: unknown): FieldDiff {
  const diff: FieldDiff = { set: [], unset: [] }
  collect(prev, next, [], diff)
  return diff
}

function collect(prev: unknown, next: unknown, path: string[], diff: FieldDiff): void {
  if (prev === next) return
  if (isPlainObject(prev) && isPlainObject(next)) {
    for (const key in next) {
      if (!Object.hasOwn(prev, key)) diff.set.push([[...path, key], next[key]])
      else collect(prev[key], next[key], [...path, key], diff)
    }
    for (const key in prev) if (!Object.hasOwn(next, key)) diff.unset.push([...path, key])
    return
  }
  if (!deepEqual(prev, next)) diff.set.push([path, next])
}
