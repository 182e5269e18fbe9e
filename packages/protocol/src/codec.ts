import superjson from 'superjson'
import { FORBIDDEN_KEYS } from './constants.ts'
import type { Encoded } from './messages.ts'
import { decodeRich, encodeRich } from './richCodec.ts'

/**
 * Turns entity values into wire envelopes and back. Any implementation must
 * round-trip: `deserialize(JSON.parse(JSON.stringify(serialize(v))))` equals `v`.
 */
export interface Serializer {
  serialize(value: unknown): Encoded
  deserialize(encoded: Encoded): unknown
}

const objectProto = Object.prototype

// True when JSON alone round-trips `value` exactly, so superjson (4–6× slower
// on Node 20) can be skipped. Anything superjson would annotate — Date, Map,
// Set, BigInt, undefined, -0, NaN, ±Infinity, class instances — fails here.
function isPlainJson(value: unknown, depth: number): boolean {
  if (depth > 64) return false
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0)
    case 'object': {
      if (value === null) return true
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false
        return true
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== objectProto && proto !== null) return false
      for (const key in value) {
        if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false
      }
      return true
    }
    default:
      return false
  }
}

/**
 * The default serializer: superjson's format, with two fast paths that
 * produce exactly what superjson would: plain JSON data (`{ json }`, no
 * `meta`), and values whose rich parts are only Date, Set, Map, BigInt,
 * `undefined`, NaN, ±Infinity and -0 (see `richCodec.ts`). superjson itself
 * runs only for the rest (class instances, RegExp, Error, URL, shared
 * references …).
 */
export const defaultSerializer: Serializer = {
  serialize(value) {
    if (isPlainJson(value, 0)) return { json: value }
    return encodeRich(value) ?? (superjson.serialize(value) as Encoded)
  },
  deserialize(encoded) {
    if (encoded.meta === undefined || encoded.meta === null) return encoded.json
    const fast = decodeRich(encoded)
    if (fast) return fast.value
    return superjson.deserialize(encoded as Parameters<typeof superjson.deserialize>[0])
  },
}

/**
 * Finds a key that could reach a prototype (`__proto__`, `constructor`,
 * `prototype`) anywhere in parsed JSON data.
 *
 * @param data - Parsed JSON (objects, arrays, primitives).
 * @returns The offending key, or `undefined` when the data is safe.
 */
export function findForbiddenKey(data: unknown, depth = 0): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined
  if (depth > 100) return '(nesting deeper than 100)'
  if (Array.isArray(data)) {
    for (const item of data) {
      const bad = findForbiddenKey(item, depth + 1)
      if (bad !== undefined) return bad
    }
    return undefined
  }
  for (const key of Object.keys(data)) {
    if (FORBIDDEN_KEYS.has(key)) return key
    const bad = findForbiddenKey((data as Record<string, unknown>)[key], depth + 1)
    if (bad !== undefined) return bad
  }
  return undefined
}

/**
 * Checks a whole envelope: forbidden keys in `json`, and in `meta`, whose
 * paths are dotted strings (`"a.__proto__.b"`) that superjson would follow.
 *
 * @returns The offending key, or `undefined` when the envelope is safe.
 */
export function findForbiddenKeyInEncoded(encoded: Encoded): string | undefined {
  const bad = findForbiddenKey(encoded.json)
  if (bad !== undefined || encoded.meta === undefined || encoded.meta === null) return bad
  return findForbiddenSegment(encoded.meta, 0)
}

// superjson's meta names fields by dotted paths, in keys (`values`) and in
// strings (`referentialEqualities`); a substring test would also refuse
// harmless names such as `constructorId`, so each path segment is compared.
function findForbiddenSegment(meta: unknown, depth: number): string | undefined {
  if (typeof meta === 'string') {
    for (const segment of meta.split('.')) if (FORBIDDEN_KEYS.has(segment)) return segment
    return undefined
  }
  if (typeof meta !== 'object' || meta === null) return undefined
  if (depth > 100) return '(nesting deeper than 100)'
  if (Array.isArray(meta)) {
    for (const item of meta) {
      const bad = findForbiddenSegment(item, depth + 1)
      if (bad !== undefined) return bad
    }
    return undefined
  }
  for (const key of Object.keys(meta)) {
    const bad =
      findForbiddenSegment(key, depth + 1) ??
      findForbiddenSegment((meta as Record<string, unknown>)[key], depth + 1)
    if (bad !== undefined) return bad
  }
  return undefined
}

/** True when `value` is a plain object (`{}` literal or null-prototype), not an array, Date, Map, class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === objectProto || proto === null
}
