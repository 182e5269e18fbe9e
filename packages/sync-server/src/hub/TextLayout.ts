import { isPlainObject } from '@lensync/protocol'
import { _jsonString } from './jsonString.ts'

const PREFIX = '{"json":{'
/** A key the engine orders among the integer keys, ahead of the others, instead of by insertion. */
const INTEGER_KEY = /^(?:0|[1-9][0-9]*)$/
/** More touched fields than this: the layout is made again (each one is looked up by a scan). */
const MAX_SPLICED = 32

/**
 * @internal
 * The envelope text of an entity whose `json` is an object
 * (`{"json":{…}}`, or `{"json":{…},"meta":…}`: exactly `JSON.stringify` of
 * the envelope) and where each top-level field's `"key":value` starts in
 * it. A patch then makes its text from the fields it touches: the
 * untouched runs are copied as they are, so a one-field patch of a 50 KB
 * record serializes one field, not 50 KB (see the sync-server README,
 * Limits). The text after the fields (`end`: `}}`, or `},"meta":…}`) is
 * given anew each time. Immutable, like the state that holds it.
 */
export class _TextLayout {
  private constructor(
    /** The envelope text. */
    readonly text: string,
    /** The value's keys, in `Object.keys` order. */
    private readonly _keys: readonly string[],
    /**
     * `_starts[i]`: where field `i`'s `"key":value` starts in `text`;
     * `_starts[n]`: one past the last field's end (where a comma after it
     * would end). Field `i` is `text.slice(_starts[i], _starts[i + 1] - 1)`.
     */
    private readonly _starts: readonly number[],
  ) {}

  /**
   * The layout of an envelope's `json`, made by serializing each top-level
   * field; `undefined` for a `json` that is not a plain object, or with a
   * field `JSON.stringify` leaves out (`undefined`, a function).
   *
   * @param value - The envelope's `json`.
   * @param end - The text after its fields: `}}`, or `},"meta":…}`.
   */
  static of(value: unknown, end: string): _TextLayout | undefined {
    if (!isPlainObject(value)) return undefined
    const keys = Object.keys(value)
    const pieces: string[] = [PREFIX]
    const starts: number[] = new Array(keys.length + 1)
    let at = PREFIX.length
    for (let i = 0; i < keys.length; i++) {
      const field = fieldText(keys[i] as string, value[keys[i] as string])
      if (field === undefined) return undefined
      if (i > 0) pieces.push(',')
      pieces.push(field)
      starts[i] = at
      at += field.length + 1
    }
    starts[keys.length] = at
    pieces.push(end)
    return new _TextLayout(pieces.join(''), keys, starts)
  }

  /**
   * The layout of `value`, which is this layout's `json` with only the
   * top-level fields `names` changed (set, replaced, removed or added, as
   * `applyFieldChanges` does). `undefined` when it cannot be made that way
   * (then serialize the envelope whole): a `value` that is not a plain
   * object, an added integer-like key (the engine orders those first), a
   * field `JSON.stringify` leaves out.
   *
   * @param value - The new envelope's `json`.
   * @param names - The top-level fields the patch set or unset (repeats allowed).
   * @param end - The text after its fields: `}}`, or `},"meta":…}`.
   */
  patched(value: unknown, names: readonly string[], end: string): _TextLayout | undefined {
    if (!isPlainObject(value)) return undefined
    if (names.length > MAX_SPLICED) return _TextLayout.of(value, end)
    const keys = this._keys
    // The touched fields of this layout (index → new text, `null`: removed), and the added ones.
    const touched: [index: number, field: string | null][] = []
    const added: [key: string, field: string][] = []
    for (let n = 0; n < names.length; n++) {
      const name = names[n] as string
      if (names.indexOf(name) < n) continue
      const index = keys.indexOf(name)
      if (!Object.hasOwn(value, name)) {
        if (index >= 0) touched.push([index, null])
        continue
      }
      const field = fieldText(name, value[name])
      if (field === undefined) return undefined
      if (index >= 0) touched.push([index, field])
      else if (INTEGER_KEY.test(name)) return undefined
      else added.push([name, field])
    }
    touched.sort((a, b) => a[0] - b[0])
    const starts = this._starts
    const text = this.text
    const nextKeys: string[] = []
    const nextStarts: number[] = []
    const pieces: string[] = [PREFIX]
    let at = PREFIX.length
    const push = (piece: string): void => {
      if (pieces.length > 1) pieces.push(',')
      pieces.push(piece)
      at += piece.length + 1
    }
    // Copies the untouched fields [from, to) as one piece.
    const copy = (from: number, to: number): void => {
      if (to <= from) return
      const start = starts[from] as number
      for (let i = from; i < to; i++) {
        nextKeys.push(keys[i] as string)
        nextStarts.push(at + (starts[i] as number) - start)
      }
      push(text.slice(start, (starts[to] as number) - 1))
    }
    let next = 0
    for (const [index, field] of touched) {
      copy(next, index)
      next = index + 1
      if (field === null) continue
      nextKeys.push(keys[index] as string)
      nextStarts.push(at)
      push(field)
    }
    copy(next, keys.length)
    for (const [key, field] of added) {
      nextKeys.push(key)
      nextStarts.push(at)
      push(field)
    }
    nextStarts.push(at)
    pieces.push(end)
    return new _TextLayout(pieces.join(''), nextKeys, nextStarts)
  }
}

/** `"key":value`, or `undefined` for a value `JSON.stringify` leaves out. */
function fieldText(key: string, value: unknown): string | undefined {
  const text = JSON.stringify(value) as string | undefined
  return text === undefined ? undefined : `${_jsonString(key)}:${text}`
}
