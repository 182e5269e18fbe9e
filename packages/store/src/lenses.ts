import { _PathLens, LENS } from './Lens.ts'
import type { Path } from './types.ts'

interface PathNode {
  readonly lens: _PathLens<unknown, unknown>
  /** Held so that the cache entry of a live path survives: its parent (and its parent's children). */
  readonly parent: object | undefined
  children: Map<string, WeakRef<object>> | undefined
  /**
   * The child returned last, held strongly: a repeated `L.address.street` then skips
   * `WeakRef.deref()` (which costs about as much as the rest of the lookup). It keeps at
   * most one extra path per live path, and a strong reference never breaks identity.
   */
  lastKey: string | undefined
  lastChild: object | undefined
}

// The cache holds paths weakly: a path into a record key (`L.byId[id]`) lives only as
// long as someone holds it, its lens or a path below it. A bound (LRU) would instead
// let a path that is still in use be evicted and made again, and two live paths to the
// same field would then differ (and give two sub-stores). With weak entries, any two
// paths to the same field that exist at the same time are the same object.

/** Drops a collected path's entry (unless the key was filled again since). */
const forget = new FinalizationRegistry<{
  readonly children: Map<string, WeakRef<object>>
  readonly key: string
  readonly ref: WeakRef<object>
}>(({ children, key, ref }) => {
  if (children.get(key) === ref) children.delete(key)
})

/**
 * The path of each path lens. A WeakMap keeps the path alive exactly as long as its lens
 * is, so a held sub-store or `lensOf(path)` result still maps back to the same path.
 */
const pathOfLens = new WeakMap<object, object>()

const inspect = Symbol.for('nodejs.util.inspect.custom')

const traps: ProxyHandler<PathNode> = {
  get(node, key) {
    if (typeof key === 'symbol') {
      if (key === LENS) return node.lens
      if (key === Symbol.toPrimitive || key === inspect) return () => `Path(${node.lens.id})`
      if (key === Symbol.toStringTag) return 'Path'
      return undefined
    }
    // `then` is not a field: a path with a callable-looking `then` would be a thenable,
    // and `await path` or returning it from an async function would never settle.
    if (key === 'then') return undefined
    if (key === node.lastKey) return node.lastChild
    let children = node.children
    if (children === undefined) children = node.children = new Map()
    let child = children.get(key)?.deref()
    if (child === undefined) {
      child = makePath([...node.lens.keys, key], pathOfLens.get(node.lens))
      const ref = new WeakRef(child)
      children.set(key, ref)
      forget.register(child, { children, key, ref })
    }
    node.lastKey = key
    node.lastChild = child
    return child
  },
  has(_node, key) {
    return key === LENS
  },
  set() {
    throw new TypeError('A lenses<T>() path is read-only: use store.map(path).update(value) to write a field')
  },
  deleteProperty() {
    throw new TypeError('A lenses<T>() path is read-only')
  },
  defineProperty() {
    throw new TypeError('A lenses<T>() path is read-only')
  },
  ownKeys() {
    return []
  },
}

function makePath(keys: readonly string[], parent: object | undefined): object {
  const node: PathNode = {
    lens: new _PathLens(keys),
    parent,
    children: undefined,
    lastKey: undefined,
    lastChild: undefined,
  }
  const path = new Proxy(node, traps)
  pathOfLens.set(node.lens, path)
  return path
}

/**
 * Typed field paths by property access, nested, with no code generation:
 * `lenses<Person>().address.street` reads and writes `person.address.street`.
 * Every property is a field (`id`, `get`, `set`, `path`, `andThen` included), except
 * `then`, which no path has, so a path is never a thenable. Paths are cached, so the
 * same field gives the same path (and `store.map` the same sub-store), even across
 * `lenses<T>()` calls; the cache holds them weakly, so paths nobody holds any more
 * (e.g. `L.byId[id]` for ids long gone) are garbage-collected.
 *
 * Writes copy each level with plain-object semantics (own enumerable properties;
 * arrays stay arrays; class instances become plain objects).
 *
 * @returns The root path; its lens is the identity (id `''`).
 * @example
 * const L = lenses<Person>()
 * person.map(L.address.street).update('Main St 1')
 * lensOf(L.name).get(somePerson)
 */
export function lenses<T>(): Path<T, T> {
  return root as Path<T, T>
}

// Paths carry no type at run time, so one tree serves every `lenses<T>()`: the same
// field path is the same object (and the same lens) wherever it was written.
const root = makePath([], undefined)
