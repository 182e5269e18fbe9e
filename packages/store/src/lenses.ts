import { _PathLens, LENS } from './Lens.ts'
import type { Path } from './types.ts'

interface PathNode {
  readonly lens: _PathLens<unknown, unknown>
  children: Map<string, unknown> | undefined
}

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
    let children = node.children
    if (children === undefined) children = node.children = new Map()
    let child = children.get(key)
    if (child === undefined) {
      child = makePath([...node.lens.keys, key])
      children.set(key, child)
    }
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

function makePath(keys: readonly string[]): unknown {
  const node: PathNode = { lens: new _PathLens(keys), children: undefined }
  return new Proxy(node, traps)
}

/**
 * Typed field paths by property access, nested, with no code generation:
 * `lenses<Person>().address.street` reads and writes `person.address.street`.
 * Every property is a field (`id`, `get`, `set`, `path`, `andThen` included), except
 * `then`, which no path has, so a path is never a thenable. Paths are cached, so the
 * same field gives the same path (and `store.map` the same sub-store), even across
 * `lenses<T>()` calls.
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
const root = makePath([])
