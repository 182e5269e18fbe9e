import { isPlainObject } from './codec.ts'
import type { FieldPath } from './protocol.ts'

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
  for (const key in source) out[key] = source[key]
  return out
}

/**
 * Reads the value at `path`, or `undefined` when a step is missing or not a plain object.
 */
export function getIn(value: unknown, path: FieldPath): unknown {
  let current = value
  for (const key of path) {
    if (!isPlainObject(current) || !Object.hasOwn(current, key)) return undefined
    current = current[key]
  }
  return current
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
  base[key] = setIn(base[key], path, next, from + 1)
  return base
}

/** Returns a copy of `value` without the field at `path` (unchanged when it is not there). */
export function unsetIn(value: unknown, path: FieldPath, from = 0): unknown {
  if (from >= path.length || !isPlainObject(value)) return value
  const key = path[from] as string
  if (!Object.hasOwn(value, key)) return value
  const base = copyObject(value)
  if (from === path.length - 1) delete base[key]
  else base[key] = unsetIn(base[key], path, from + 1)
  return base
}

/** Applies decoded field changes (sets, then unsets) to `value` immutably. */
export function applyFieldChanges(
  value: unknown,
  set: readonly FieldChange[],
  unset: readonly FieldPath[] = [],
): unknown {
  let out = value
  for (const [path, next] of set) out = setIn(out, path, next)
  for (const path of unset) out = unsetIn(out, path)
  return out
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
