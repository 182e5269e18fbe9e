import type { ReadonlySignal } from '@preact/signals-core'
import { lensForElement, lensForIndex, lensForKey } from './collectionLenses.ts'
import { _HANDLE, type _HandlerFn, type _HandlerQueue, _ONLY_EMIT, _UPDATE } from './HandlerQueue.ts'
import { _toLens } from './Lens.ts'
import { lensOrDefault } from './lensOrDefault.ts'
import { createStream } from './Stream.ts'
import type { SubStore } from './SubStore.ts'
import type {
  ElementOf,
  EmittingHandler,
  EmittingHandlerFn,
  Handler,
  IdOf,
  KeyOf,
  Lens,
  LensLike,
  Store,
  ValueAt,
} from './types.ts'

function checkFunction(fn: unknown, where: string): void {
  if (typeof fn !== 'function') throw new TypeError(`${where} needs a function, got ${typeof fn}`)
}

/**
 * What sub-stores need from their root store: its value, read without
 * `peek()`, and the one place that writes it.
 *
 * @internal
 */
export interface _RootCell {
  /** The root's current value (kept beside the signal, see `RootStore._write`). */
  readonly _value: unknown
  /** Counts the root's writes, so a sub-store knows when a slice it read is still current. */
  readonly _version: number
  /** Stores a new root value and notifies. */
  _write(value: unknown): void
}

/**
 * What root stores and sub-stores share: handlers, the queue, and making sub-stores.
 * Not part of the API (construct stores with `storeOf`); kept out of stripInternal
 * because the published `RootStore` and `SubStore` declarations extend it.
 */
export abstract class _BaseStore<T> implements Store<T> {
  abstract readonly id: string
  abstract readonly path: string
  abstract readonly data: ReadonlySignal<T>
  abstract readonly current: T
  readonly update: Handler<T, T>
  /** @internal The root store: every write of the tree lands there. */
  abstract readonly _root: _RootCell
  /** @internal The lens from the root value to this store's value; `null` for the root. */
  abstract readonly _rootLens: Lens<unknown, T> | null
  /** @internal The root store's handler queue. */
  readonly _queue: _HandlerQueue
  private _children: WeakMap<object, SubStore<unknown>> | undefined

  /** @internal Stores are made by `storeOf` and `map`, never by this constructor. */
  constructor(queue: _HandlerQueue) {
    this._queue = queue
    const update = (value: T): void | Promise<void> => {
      const queue = this._queue
      if (!queue.idle) return queue.run(this, undefined, value, undefined, _UPDATE)
      try {
        this._write(value)
      } catch (error) {
        queue.report(error, this)
      }
    }
    // A `Handler<void>` takes any argument (see HandlerArgs); at run time every handler takes one.
    this.update = Object.assign(update, { store: this as Store<T> }) as Handler<T, T>
  }

  /** @internal Stores a new value for this store (through its lens for a sub-store). */
  abstract _write(value: T): void

  /** @internal Makes a sub-store (each class knows how; no import cycle through this file). */
  protected abstract _child<C>(lens: Lens<T, C>): SubStore<C>

  handle<A = void>(fn: (value: T, action: A) => T | Promise<T>): Handler<A, T> {
    checkFunction(fn, 'store.handle(fn)')
    const handler = (action: A): void | Promise<void> =>
      this._queue.run(this, fn as _HandlerFn, action, undefined, _HANDLE)
    return Object.assign(handler, { store: this as Store<T> }) as Handler<A, T>
  }

  handleAndEmit<A = void, E = unknown>(fn: EmittingHandlerFn<T, A, E>): EmittingHandler<A, E, T> {
    checkFunction(fn, 'store.handleAndEmit(fn)')
    return this._emitting<A, E>(fn as _HandlerFn, _HANDLE)
  }

  handleOnlyEmit<A = void, E = unknown>(
    fn: (value: T, action: A, emit: (event: E) => void) => void | Promise<void>,
  ): EmittingHandler<A, E, T> {
    checkFunction(fn, 'store.handleOnlyEmit(fn)')
    return this._emitting<A, E>(fn as _HandlerFn, _ONLY_EMIT)
  }

  private _emitting<A, E>(
    fn: _HandlerFn,
    mode: typeof _HANDLE | typeof _ONLY_EMIT,
  ): EmittingHandler<A, E, T> {
    const { stream, emit } = createStream<E>()
    const handler = (action: A): void | Promise<void> =>
      this._queue.run(this, fn, action, emit as (event: unknown) => void, mode)
    return Object.assign(handler, { store: this as Store<T>, events: stream }) as EmittingHandler<A, E, T>
  }

  map<C>(lens: LensLike<T, C>): SubStore<C> {
    const resolved = _toLens(lens, 'store.map(lens)')
    // The same lens gives the same sub-store: paths are cached, so `store.map(L.name)`
    // in a render function does not pile up sub-stores.
    let children = this._children
    if (children === undefined) children = this._children = new WeakMap()
    let child = children.get(resolved) as SubStore<C> | undefined
    if (child === undefined) {
      child = this._child(resolved)
      children.set(resolved, child as SubStore<unknown>)
    }
    return child
  }

  sub<C>(lens: LensLike<T, C>): SubStore<C> {
    return this.map(lens)
  }

  mapByElement(element: ElementOf<T>, idOf: IdOf<ElementOf<T>>): SubStore<ElementOf<T>> {
    return this._child(lensForElement(element, idOf) as unknown as Lens<T, ElementOf<T>>)
  }

  mapByIndex(index: number): SubStore<ElementOf<T>> {
    return this._child(lensForIndex(index) as unknown as Lens<T, ElementOf<T>>)
  }

  mapByKey<K extends KeyOf<T>>(key: K): SubStore<ValueAt<T, K>> {
    return this._child(lensForKey<object>(key as never) as unknown as Lens<T, ValueAt<T, K>>)
  }

  mapNull(defaultValue: NonNullable<T>): SubStore<NonNullable<T>> {
    return this._child(lensOrDefault(defaultValue) as unknown as Lens<T, NonNullable<T>>)
  }
}
