import { computed, type ReadonlySignal } from '@preact/signals-core'
import { _BaseStore, type _RootCell } from './BaseStore.ts'
import { _compose, _joinIds, _PathLens } from './Lens.ts'
import type { Lens } from './types.ts'

/**
 * A store focused on a part of its parent through a lens (fritz2's `SubStore`),
 * made by `map`/`sub`, `mapByElement`, `mapByIndex`, `mapByKey` or `mapNull`.
 * It holds no state: reads go through the lens from the root value, writes go
 * through to the root immutably (untouched branches keep their identity), and
 * its handlers share the root store's queue. Its `data` is a `computed` over the
 * parent's, so it notifies only when its own slice changes identity.
 *
 * @example
 * const street = person.map(L.address.street)
 * street.id     // 'person.address.street'
 * street.path   // '.address.street'
 * street.update('Main St 1')
 */
export class SubStore<T> extends _BaseStore<T> {
  readonly id: string
  readonly path: string
  /** @internal */
  readonly _root: _RootCell
  /** @internal */
  readonly _rootLens: Lens<unknown, T>
  /** @internal The store `data` is computed from: the nearest ancestor reached by field paths only. */
  readonly _anchor: _BaseStore<unknown>
  /** @internal From the anchor's value to this store's. */
  readonly _anchorLens: Lens<unknown, T>
  private _data: ReadonlySignal<T> | undefined
  /** The root `_version` at which `_seenSlice` was read (-1: never). */
  private _seenVersion = -1
  /** This store's part of the root value at `_seenVersion`: repeated reads and no-op writes skip the walk. */
  private _seenSlice: T | undefined = undefined

  /**
   * Prefer `parent.map(lens)`, which also reuses the sub-store of a lens.
   * @param parent - The store to focus into.
   * @param lens - From the parent's value to this store's.
   */
  constructor(parent: _BaseStore<unknown>, lens: Lens<unknown, T>) {
    super(parent._queue)
    // Field paths are cheap to re-read, so a chain of them computes from one ancestor
    // (one computed per sub-store, not one per level); any other lens (find by id,
    // index, key, default) gets its own computed over its parent, so that a change
    // elsewhere in the root stops at the parent and never re-runs that lens.
    if (lens instanceof _PathLens && parent instanceof SubStore && parent._anchorLens instanceof _PathLens) {
      this._anchor = parent._anchor
      this._anchorLens = _compose(parent._anchorLens, lens)
    } else {
      this._anchor = parent
      this._anchorLens = lens
    }
    this._root = parent._root
    this._rootLens = parent._rootLens === null ? lens : _compose(parent._rootLens, lens)
    this.id = _joinIds(parent.id, lens.id)
    this.path = lens.id === '' ? parent.path : `${parent.path}.${lens.id}`
  }

  /** This part of the parent's value, as a signal that notifies only when the part changes. */
  get data(): ReadonlySignal<T> {
    let data = this._data
    if (data === undefined) {
      const anchor = this._anchor
      const lens = this._anchorLens
      data = this._data = computed(() => lens.get(anchor.data.value))
    }
    return data
  }

  /** This part of the root's current value, read without tracking (throws the lens's error if it cannot be reached). */
  get current(): T {
    return this._slice()
  }

  /** @internal */
  _write(value: T): void {
    if (this._slice() === value) return
    const root = this._root
    const lens = this._rootLens
    root._write(lens.set(root._value, value))
    // A field path reads back exactly what it wrote (other lenses, e.g. a format lens, may not).
    if (lens instanceof _PathLens) {
      this._seenVersion = root._version
      this._seenSlice = value
    }
  }

  private _slice(): T {
    const root = this._root
    if (root._version === this._seenVersion) return this._seenSlice as T
    const slice = this._rootLens.get(root._value)
    this._seenVersion = root._version
    this._seenSlice = slice
    return slice
  }

  protected _child<C>(lens: Lens<T, C>): SubStore<C> {
    return new SubStore<C>(this as unknown as _BaseStore<unknown>, lens as Lens<unknown, C>)
  }
}
