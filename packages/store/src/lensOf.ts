import { _FnLens, _toLens } from './Lens.ts'
import type { Lens, Path } from './types.ts'

/**
 * Makes a lens by hand, or turns a `lenses<T>()` path into a {@link Lens}.
 *
 * @param id - The lens id (its path segment; `''` for a lens that does not name a field).
 * @param get - Reads the part out of the parent.
 * @param set - Returns a copy of the parent with the part replaced.
 * @returns The lens.
 * @example
 * const name = lensOf<Person, string>('name', p => p.name, (p, name) => ({ ...p, name }))
 * const street = lensOf(lenses<Person>().address.street)   // Lens<Person, string>
 */
export function lensOf<P, C>(id: string, get: (parent: P) => C, set: (parent: P, value: C) => P): Lens<P, C>
/**
 * @param path - A `lenses<T>()` path (or a lens, returned as is).
 * @returns The path's lens.
 */
export function lensOf<P, C>(path: Path<P, C> | Lens<P, C>): Lens<P, C>
export function lensOf<P, C>(
  idOrPath: string | Path<P, C> | Lens<P, C>,
  get?: (parent: P) => C,
  set?: (parent: P, value: C) => P,
): Lens<P, C> {
  if (typeof idOrPath !== 'string') return _toLens(idOrPath, 'lensOf(path)')
  if (typeof get !== 'function' || typeof set !== 'function')
    throw new TypeError(`lensOf('${idOrPath}', get, set) needs a get and a set function`)
  return new _FnLens(idOrPath, get, set)
}
