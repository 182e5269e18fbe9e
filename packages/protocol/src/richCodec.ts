import type { Encoded } from './messages.ts'

// A fast path for superjson's format, for the rich values entities usually
// hold: Date, Set, Map, BigInt, undefined, NaN, ±Infinity and -0 inside plain
// objects and arrays. It produces exactly what `superjson.serialize` produces
// (same JSON, same `meta`, same key order) and reads it back as
// `superjson.deserialize` does, at a fraction of the cost (superjson walks
// every value through its rule table, copies the whole tree and rebuilds
// annotations with path arrays). Anything else — class instances, RegExp,
// Error, URL, typed arrays, symbols, invalid Dates, sparse arrays, an object,
// BigInt or NaN met twice (superjson records referential equalities),
// forbidden keys, deep nesting — is left to superjson: `encodeRich` and
// `decodeRich` then return `undefined`.

/** superjson's annotation tree: `[type]`, `[type, inner]`, or `{ path: tree }`. */
type Tree = [string] | [string, PathTree] | PathTree
interface PathTree {
  [path: string]: Tree
}
type Annotations = Tree | undefined

const objectProto = Object.prototype
const MAX_DEPTH = 64
/** Thrown inside the walk when the value needs superjson. */
const GIVE_UP: unique symbol = Symbol('lensync.richCodec.giveUp')

function escapeKey(key: string): string {
  return key.indexOf('\\') === -1 && key.indexOf('.') === -1
    ? key
    : key.replace(/\\/g, '\\\\').replace(/\./g, '\\.')
}

function isForbidden(key: string): boolean {
  return key === '__proto__' || key === 'constructor' || key === 'prototype'
}

class Encoder {
  /** The annotations of the value the last `walk()` returned (read right after each call). */
  annotations: Annotations = undefined
  /** Every object, BigInt and NaN met (what superjson tracks for referential equality), to notice one met twice. */
  private readonly seen = new Set<unknown>()

  /** Returns the JSON form of `value` and leaves its annotations in `this.annotations`. */
  walk(value: unknown, depth: number): unknown {
    this.annotations = undefined
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value
      case 'number':
        if (Number.isFinite(value) && !Object.is(value, -0)) return value
        this.annotations = ['number']
        if (Number.isNaN(value)) {
          // superjson does not count NaN as a primitive: it tracks it like an object, and two NaNs are "the same".
          this.once(value)
          return 'NaN'
        }
        return value === 0 ? '-0' : value > 0 ? 'Infinity' : '-Infinity'
      case 'undefined':
        this.annotations = ['undefined']
        return null
      case 'bigint':
        this.once(value)
        this.annotations = ['bigint']
        return value.toString()
      case 'object':
        return value === null ? value : this.walkObject(value, depth)
      default:
        throw GIVE_UP
    }
  }

  private once(value: unknown): void {
    if (this.seen.has(value)) throw GIVE_UP
    this.seen.add(value)
  }

  private walkObject(value: object, depth: number): unknown {
    if (depth > MAX_DEPTH) throw GIVE_UP
    this.once(value)
    if (Array.isArray(value)) return this.walkItems(value, depth, undefined)
    const proto = Object.getPrototypeOf(value)
    if (proto === objectProto || proto === null)
      return this.walkFields(value as Record<string, unknown>, depth)
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw GIVE_UP
      this.annotations = ['Date']
      return value.toISOString()
    }
    // A Set's values and a Map's entries ([key, value] arrays) are fresh arrays, walked as superjson walks arrays.
    if (value instanceof Set) return this.walkItems([...value], depth, 'set')
    if (value instanceof Map) return this.walkItems([...value], depth, 'map')
    throw GIVE_UP
  }

  // Children that come back unchanged (plain data) are kept; a container is
  // copied only once a child had to be transformed.
  private walkItems(items: readonly unknown[], depth: number, type: 'set' | 'map' | undefined): unknown {
    let out: unknown[] | undefined = type === undefined ? undefined : (items as unknown[])
    let inner: PathTree | undefined
    for (let i = 0; i < items.length; i++) {
      if (!(i in items)) throw GIVE_UP
      const item = items[i]
      const value = this.walk(item, depth + 1)
      if (value !== item) {
        out ??= items.slice()
        out[i] = value
      }
      if (this.annotations !== undefined) inner = addInner(inner, String(i), this.annotations)
    }
    this.annotations = type === undefined ? inner : inner === undefined ? [type] : [type, inner]
    return out ?? items
  }

  private walkFields(fields: Record<string, unknown>, depth: number): unknown {
    let out: Record<string, unknown> | undefined
    let inner: PathTree | undefined
    for (const key in fields) {
      if (isForbidden(key)) throw GIVE_UP
      const field = fields[key]
      const value = this.walk(field, depth + 1)
      if (value !== field) {
        out ??= { ...fields }
        out[key] = value
      }
      if (this.annotations !== undefined) inner = addInner(inner, key, this.annotations)
    }
    this.annotations = inner
    return out ?? fields
  }
}

// As superjson's walker: a child's own annotation goes under its escaped key,
// a plain child's annotations are flattened under `key.` + their paths.
function addInner(inner: PathTree | undefined, key: string, tree: Tree): PathTree {
  const target = inner ?? {}
  const escaped = escapeKey(key)
  if (Array.isArray(tree)) target[escaped] = tree
  else for (const path of Object.keys(tree)) target[`${escaped}.${path}`] = tree[path] as Tree
  return target
}

/**
 * Encodes `value` exactly as `superjson.serialize` would, when it holds only
 * the types this fast path knows.
 *
 * @param value - Any value.
 * @returns The envelope, or `undefined` when superjson must do it.
 * @internal
 */
export function encodeRich(value: unknown): Encoded | undefined {
  const encoder = new Encoder()
  let json: unknown
  try {
    json = encoder.walk(value, 0)
  } catch (error) {
    if (error === GIVE_UP) return undefined
    throw error
  }
  const values = encoder.annotations
  return values === undefined ? { json } : { json, meta: { values, v: 1 } }
}

// ——— decoding ———

/** superjson's path syntax (version 1): segments joined by `.`, with `\.` and `\\` escapes. */
function parsePath(path: string): string[] {
  if (path.indexOf('\\') === -1) return path.indexOf('.') === -1 ? [path] : path.split('.')
  const segments: string[] = []
  let segment = ''
  for (let i = 0; i < path.length; i++) {
    const char = path[i]
    if (char === '\\') {
      const next = path[i + 1]
      if (next !== '\\' && next !== '.') throw GIVE_UP
      segment += next
      i++
    } else if (char === '.') {
      segments.push(segment)
      segment = ''
    } else segment += char
  }
  segments.push(segment)
  return segments
}

function untransform(type: string, value: unknown): unknown {
  switch (type) {
    case 'undefined':
      return undefined
    case 'Date':
      if (typeof value !== 'string') throw GIVE_UP
      return new Date(value)
    case 'set':
      if (!Array.isArray(value)) throw GIVE_UP
      return new Set(value)
    case 'map':
      if (!Array.isArray(value)) throw GIVE_UP
      return new Map(value as [unknown, unknown][])
    case 'bigint':
      if (typeof value !== 'string') throw GIVE_UP
      return BigInt(value)
    case 'number':
      if (typeof value !== 'string') throw GIVE_UP
      return Number(value)
    default:
      throw GIVE_UP
  }
}

/**
 * Applies an annotation tree to parsed JSON, copying each container on the
 * way to an annotated value once (the envelope is never changed: a caller
 * may hand the same one to several readers).
 */
class Decoder {
  /** Containers this decoder made, which it may change in place. */
  private readonly own = new Set<unknown>()

  tree(value: unknown, tree: Tree): unknown {
    if (Array.isArray(tree)) {
      const [type, inner] = tree
      if (typeof type !== 'string') throw GIVE_UP
      return untransform(type, inner === undefined ? value : this.inner(value, inner))
    }
    if (typeof tree !== 'object' || tree === null) throw GIVE_UP
    return this.inner(value, tree)
  }

  private inner(value: unknown, inner: PathTree): unknown {
    let out = value
    for (const path of Object.keys(inner)) out = this.at(out, parsePath(path), 0, inner[path] as Tree)
    return out
  }

  private at(container: unknown, path: readonly string[], index: number, tree: Tree): unknown {
    if (index === path.length) return this.tree(container, tree)
    const key = path[index] as string
    if (isForbidden(key)) throw GIVE_UP
    if (Array.isArray(container)) {
      const at = Number(key)
      if (!Number.isInteger(at) || at < 0 || at >= container.length) throw GIVE_UP
      const target = this.owned(container, () => container.slice())
      target[at] = this.at(container[at], path, index + 1, tree)
      return target
    }
    if (typeof container !== 'object' || container === null || !Object.hasOwn(container, key)) throw GIVE_UP
    const source = container as Record<string, unknown>
    const target = this.owned(source, () => ({ ...source }))
    target[key] = this.at(source[key], path, index + 1, tree)
    return target
  }

  private owned<C>(container: C, copy: () => C): C {
    if (this.own.has(container)) return container
    const made = copy()
    this.own.add(made)
    return made
  }
}

/**
 * Decodes an envelope exactly as `superjson.deserialize` would, when its
 * `meta` holds only value annotations of the types this fast path knows.
 * The envelope is not changed.
 *
 * @param encoded - An envelope with `meta`.
 * @returns `{ value }`, or `undefined` when superjson must do it.
 * @internal
 */
export function decodeRich(encoded: Encoded): { value: unknown } | undefined {
  const meta = encoded.meta as { values?: unknown; referentialEqualities?: unknown; v?: unknown } | undefined
  if (typeof meta !== 'object' || meta === null || meta.v !== 1 || meta.referentialEqualities !== undefined)
    return undefined
  for (const key of Object.keys(meta)) if (key !== 'values' && key !== 'v') return undefined
  if (meta.values === undefined) return { value: encoded.json }
  try {
    return { value: new Decoder().tree(encoded.json, meta.values as Tree) }
  } catch (error) {
    if (error === GIVE_UP) return undefined
    throw error
  }
}
