import { _BaseLens, _setField } from './Lens.ts'
import { LensError } from './LensError.ts'
import type { IdOf, KeyOf, Lens, ValueAt } from './types.ts'

class ElementLens<E> extends _BaseLens<readonly E[], E> {
  readonly id: string
  private readonly _key: string | number

  constructor(
    element: E,
    private readonly _idOf: IdOf<E>,
  ) {
    super()
    this._key = _idOf(element)
    this.id = String(this._key)
  }

  private _indexIn(list: readonly E[]): number {
    let found = -1
    for (let i = 0; i < list.length; i++) {
      if (this._idOf(list[i]!) !== this._key) continue
      if (found !== -1)
        throw new LensError('AMBIGUOUS_ELEMENT', `Several list elements have the id '${this.id}'`, {
          lensId: this.id,
        })
      found = i
    }
    if (found === -1)
      throw new LensError('ELEMENT_NOT_FOUND', `No list element has the id '${this.id}'`, { lensId: this.id })
    return found
  }

  get(parent: readonly E[]): E {
    return parent[this._indexIn(parent)]!
  }

  set(parent: readonly E[], value: E): readonly E[] {
    return _setField(parent, String(this._indexIn(parent)), value)
  }
}

/**
 * A lens to the element of a list that has the same id as `element`; its id is
 * that element id. Reading or writing when no element (or several) has the id
 * throws {@link LensError} `ELEMENT_NOT_FOUND` (or `AMBIGUOUS_ELEMENT`).
 *
 * @param element - An element (only its id matters).
 * @param idOf - Identifies elements; ids are compared with `===`.
 * @returns A lens from the list to the element.
 * @example
 * todos.map(lensForElement(todo, t => t.id)).update({ ...todo, done: true })
 */
export function lensForElement<E>(element: E, idOf: IdOf<E>): Lens<E[], E> {
  if (typeof idOf !== 'function') throw new TypeError('lensForElement(element, idOf) needs an idOf function')
  return new ElementLens(element, idOf) as unknown as Lens<E[], E>
}

class IndexLens<E> extends _BaseLens<readonly E[], E> {
  readonly id: string

  constructor(private readonly _index: number) {
    super()
    this.id = String(_index)
  }

  private _check(list: readonly E[]): void {
    const i = this._index
    if (!Number.isInteger(i) || i < 0 || i >= list.length)
      throw new LensError('INDEX_OUT_OF_RANGE', `Index ${i} is out of range for a list of ${list.length}`, {
        lensId: this.id,
      })
  }

  get(parent: readonly E[]): E {
    this._check(parent)
    return parent[this._index]!
  }

  set(parent: readonly E[], value: E): readonly E[] {
    this._check(parent)
    return _setField(parent, this.id, value)
  }
}

/**
 * A lens to the element at `index`; its id is the index. Reading or writing out of
 * range (or a non-integer index) throws {@link LensError} `INDEX_OUT_OF_RANGE`; it
 * never appends.
 *
 * @param index - A position in the list.
 * @returns A lens from the list to the element.
 */
export function lensForIndex<E>(index: number): Lens<E[], E> {
  return new IndexLens<E>(index) as unknown as Lens<E[], E>
}

class KeyLens<K, V> extends _BaseLens<unknown, V> {
  readonly id: string

  constructor(private readonly _key: K) {
    super()
    this.id = String(_key)
  }

  private _missing(): LensError {
    return new LensError('KEY_NOT_FOUND', `There is no key '${this.id}'`, { lensId: this.id })
  }

  get(parent: unknown): V {
    if (parent instanceof Map) {
      if (!parent.has(this._key)) throw this._missing()
      return parent.get(this._key) as V
    }
    if (parent === null || parent === undefined || !Object.hasOwn(parent, this.id)) throw this._missing()
    return (parent as Record<string, V>)[this.id]!
  }

  set(parent: unknown, value: V): unknown {
    if (parent instanceof Map) {
      if (!parent.has(this._key)) throw this._missing()
      if (parent.get(this._key) === value) return parent
      return new Map(parent).set(this._key, value)
    }
    if (parent === null || parent === undefined || !Object.hasOwn(parent, this.id)) throw this._missing()
    return _setField(parent, this.id, value)
  }
}

/**
 * A lens to the entry at `key` of a record or a Map; its id is the key. Reading or
 * writing a key that is not there throws {@link LensError} `KEY_NOT_FOUND` (it never
 * adds keys: add them with a handler on the whole record).
 *
 * @param key - The key (a Map key, or an own property name of a record).
 * @returns A lens from the record or Map `C` to the value.
 * @example
 * const alice = lensForKey<Map<string, Person>>('alice')   // Lens<Map<string, Person>, Person>
 * const count = lensForKey<Record<string, number>>('apples') // Lens<Record<string, number>, number>
 */
export function lensForKey<C extends object>(key: KeyOf<C>): Lens<C, ValueAt<C, KeyOf<C>>> {
  return new KeyLens(key) as unknown as Lens<C, ValueAt<C, KeyOf<C>>>
}
