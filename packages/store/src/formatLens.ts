import { _FnLens } from './Lens.ts'
import type { Lens } from './types.ts'

/**
 * A lens that shows a value as a string and parses it back, e.g. a number in an
 * `<input>`. Its id is `''`, so it adds nothing to a sub-store's id or path.
 *
 * @param format - The value as a string.
 * @param parse - The value of a string; may throw to refuse it (a handler error, value unchanged).
 * @returns A lens from the value to its string.
 * @example
 * const percent = formatLens<number>(n => `${n * 100}%`, s => Number.parseFloat(s) / 100)
 */
export function formatLens<P>(format: (value: P) => string, parse: (text: string) => P): Lens<P, string> {
  if (typeof format !== 'function' || typeof parse !== 'function')
    throw new TypeError('formatLens(format, parse) needs two functions')
  return new _FnLens<P, string>('', format, (_parent, text) => parse(text))
}

function parseNumber(text: string): number {
  // `Number('')` is 0; an empty field is "not a number" rather than zero.
  return text.trim() === '' ? Number.NaN : Number(text)
}

/**
 * Ready-made {@link formatLens}es for `<input>` values:
 * - `asString.number`: `String(n)`; parsing uses `Number()`, so text that is not a number
 *   (or blank) becomes `NaN` for validation to report.
 * - `asString.boolean`: `'true'`/`'false'`; only `'true'` parses as `true`.
 *
 * @example
 * const age = person.map(L.age).map(asString.number)   // SubStore<string>
 */
export const asString: { readonly number: Lens<number, string>; readonly boolean: Lens<boolean, string> } = {
  number: formatLens<number>(String, parseNumber),
  boolean: formatLens<boolean>(String, text => text === 'true'),
}
