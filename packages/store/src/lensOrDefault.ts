import { _FnLens } from './Lens.ts'
import type { Lens } from './types.ts'

/**
 * A non-null view of a nullable value: `null` or `undefined` read as `defaultValue`,
 * and writing `defaultValue` (compared with `===`) writes `null` back. Its id is `''`.
 *
 * @param defaultValue - What a missing value looks like.
 * @returns A lens from the nullable value to the non-null one.
 * @example
 * const nick = person.map(L.nickname).map(lensOrDefault(''))   // '' ⇄ null
 */
export function lensOrDefault<T>(defaultValue: T): Lens<T | null, T> {
  return new _FnLens<T | null, T>(
    '',
    value => value ?? defaultValue,
    (_parent, value) => (value === defaultValue ? null : value),
  )
}

/**
 * Alias of {@link lensOrDefault}, named like the store method `store.mapNull(default)`.
 *
 * @param defaultValue - What a missing value looks like.
 * @returns A lens from the nullable value to the non-null one.
 */
export const mapNull: <T>(defaultValue: T) => Lens<T | null, T> = lensOrDefault
