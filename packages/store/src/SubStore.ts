import { computed, type ReadonlySignal, type Signal } from '@preact/signals-core'
import { _BaseStore } from './BaseStore.ts'
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
  readonly _rootState: Signal<unknown>
  /** @internal */
  readonly _rootLens: Lens<unknown, T>
  /** @internal The store `data` is computed from: the nearest ancestor reached by field paths only. */
  readonly _anchor: _BaseStore<unknown>
  /** @internal From the anchor's value to this store's. */
  readonly _anchorLens: Lens<unknown, T>
  private _data: ReadonlySignal<T> | undefined

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
    this._rootState = parent._rootState
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
    return this._rootLens.get(this._rootState.peek())
  }

  /** @internal */
  _write(value: T): void {
    // When `data` exists it is almost always up to date (whoever created it reads it), so
    // this cheap check skips walking and copying for a value that is already there.
    const data = this._data
    if (data !== undefined && data.peek() === value) return
    const state = this._rootState
    state.value = this._rootLens.set(state.peek(), value)
  }

  protected _child<C>(lens: Lens<T, C>): SubStore<C> {
    return new SubStore<C>(this as unknown as _BaseStore<unknown>, lens as Lens<unknown, C>)
  }
}
