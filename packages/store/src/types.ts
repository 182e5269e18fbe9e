import type { ReadonlySignal } from '@preact/signals-core'
import type { LENS } from './Lens.ts'
import type { SubStore } from './SubStore.ts'

/**
 * A functional reference from a parent value `P` to a part `C` of it: read it
 * with `get`, write it immutably with `set`.
 *
 * Composition is `andThen`, deliberately not `then`: an object with a `then`
 * method is a thenable, and `await` or an `async` return would swallow it.
 */
export interface Lens<P, C> {
  /** Path segment of this lens (`'address.street'`); `''` for lenses that do not name a field. */
  readonly id: string
  /**
   * Reads the part out of the parent.
   * @param parent - The whole value.
   * @returns The part this lens focuses on.
   */
  get(parent: P): C
  /**
   * Writes the part into a copy of the parent; untouched branches keep their identity.
   * @param parent - The whole value (not modified).
   * @param value - The new part.
   * @returns The new whole value (`parent` itself when `value` is already there).
   */
  set(parent: P, value: C): P
  /**
   * Composes this lens with one that goes deeper.
   * @param other - A lens (or a `lenses<T>()` path) from `C` to `D`.
   * @returns A lens from `P` to `D` whose id joins both ids with `.`.
   */
  andThen<D>(other: LensLike<C, D>): Lens<P, D>
}

/** Types a typed path never descends into (they are treated as single values). */
type PathLeaf =
  | string
  | number
  | boolean
  | bigint
  | symbol
  | null
  | undefined
  | Function
  | Date
  | RegExp
  | ReadonlyMap<unknown, unknown>
  | ReadonlySet<unknown>
  | readonly unknown[]
  | Promise<unknown>

/** `then` is never a field of a path: it would make the path a thenable. Symbol keys are not fields either. */
type PathKey<K> = K extends symbol ? never : K extends 'then' ? never : K

type PathFields<P, C> = [C] extends [PathLeaf]
  ? {}
  : [C] extends [object]
    ? { readonly [K in keyof C as PathKey<K>]-?: Path<P, C[K]> }
    : {}

/**
 * A typed field path made by {@link lenses}: every property access is a field
 * (including `id`, `get`, `set`, `path`, `andThen`), so a path is not itself a
 * {@link Lens}. Everything that takes a lens also takes a path; `lensOf(path)`
 * turns it into a `Lens`. Nullable, array, Map/Set and Date fields end the
 * path: use `mapNull`, `mapByIndex`/`mapByElement` or `mapByKey` from there.
 */
export type Path<P, C> = { readonly [LENS]: Lens<P, C> } & PathFields<P, C>

/** A {@link Lens} or a {@link Path}: what `store.map`, `lensOf` and `andThen` accept. */
export type LensLike<P, C> = Lens<P, C> | Path<P, C>

/** Element type of an array type (`never` for anything else). */
export type ElementOf<T> = T extends readonly (infer E)[] ? E : never

/** Key type of a Map or of a record / object type. */
export type KeyOf<T> = T extends ReadonlyMap<infer K, unknown> ? K : Extract<keyof T, string | number>

/** Value type at key `K` of a Map or of a record / object type. */
export type ValueAt<T, K> = T extends ReadonlyMap<unknown, infer V> ? V : K extends keyof T ? T[K] : never

/** Identifies an element of a list, for {@link lensForElement} and `mapByElement`. */
export type IdOf<E> = (element: E) => string | number

/** Called with every error a store meets: thrown or rejected handlers, lens errors, throwing effects. */
export type ErrorHandler = (error: unknown, store: Store<unknown>) => void

/** Options of {@link storeOf} / `new RootStore`. */
export interface StoreOptions {
  /** Id of the root store; sub-store ids extend it (`'person.address.street'`). Default: `'store-<n>'`. */
  readonly id?: string
  /** Receives every handler error; the store keeps working. Default: `console.error`. */
  readonly onError?: ErrorHandler
}

/**
 * What a {@link Handler} is called with: its action, or for a handler without
 * one (`Handler<void>`, `Handler<undefined>`) an optional argument of any type
 * that the handler ignores, so that `button.addEventListener('click', birthday)`
 * and `handledBy(clicks, birthday)` type-check.
 */
export type HandlerArgs<A> = [A] extends [void] ? [ignored?: unknown] : [action: A]

/**
 * A handler: a plain function `(action) => void` with its store attached, so it
 * can be passed as an event listener. A handler without an action
 * (`Handler<void>`) accepts any argument (an event, a stream's value) and ignores
 * it; a handler with one (`Handler<string>`) takes exactly its action.
 *
 * It returns `undefined` when it was applied synchronously, and a `Promise<void>`
 * when its function is async or it had to wait behind an async handler of the
 * same root store. That promise resolves once the handler has been applied (or
 * its error reported); it never rejects.
 *
 * @example
 * const birthday = person.handle(p => ({ ...p, age: p.age + 1 }))   // Handler<void>
 * button.addEventListener('click', birthday)
 */
// `any` so that a `Handler<A, Person>` is also a `Handler<A>`: a store is invariant in its value type.
// biome-ignore lint/suspicious/noExplicitAny: see above
export interface Handler<A, T = any> {
  /**
   * Runs the handler.
   * @param args - The action; for `Handler<void>` nothing, or anything (ignored).
   * @returns `undefined`, or a promise when the handler is async or queued.
   */
  (...args: HandlerArgs<A>): void | Promise<void>
  /** The store this handler updates. */
  readonly store: Store<T>
}

/** A {@link Handler} whose function can emit events, delivered on {@link EmittingHandler.events}. */
// biome-ignore lint/suspicious/noExplicitAny: as for Handler
export interface EmittingHandler<A, E, T = any> extends Handler<A, T> {
  /** What the handler emitted; emitting while nobody subscribes loses the event. */
  readonly events: Stream<E>
}

/** The function given to `handleAndEmit`. */
export type EmittingHandlerFn<T, A, E> = (value: T, action: A, emit: (event: E) => void) => T | Promise<T>

/**
 * A typed reactive store (fritz2's `Store`): a root store or a sub-store made
 * with `map` and friends. Implemented by {@link RootStore} and {@link SubStore}.
 */
export interface Store<T> {
  /** The root id and the lens ids joined with `.` (empty ids skipped): `'person.address.street'`. */
  readonly id: string
  /** Where this store sits in its root: `''` for a root, `'.address.street'` for a sub-store. */
  readonly path: string
  /** The current value, read without tracking. */
  readonly current: T
  /** The value as a signal; notifies only when the value (or this sub-store's slice) changes identity. */
  readonly data: ReadonlySignal<T>
  /** Replaces the value. On a root store, exactly the given value is stored (no copy). */
  readonly update: Handler<T, T>
  /**
   * Makes a handler from a function of the current value (and an action) to the new value.
   * @param fn - Returns the new value, or a promise of it (an async handler).
   * @returns The handler.
   */
  handle<A = void>(fn: (value: T, action: A) => T | Promise<T>): Handler<A, T>
  /**
   * Like `handle`, and the function may `emit` events to `handler.events`.
   * @param fn - Receives the value, the action and `emit`; returns the new value.
   * @returns The handler, with `events`.
   */
  handleAndEmit<A = void, E = unknown>(fn: EmittingHandlerFn<T, A, E>): EmittingHandler<A, E, T>
  /**
   * A handler that only emits events and leaves the value unchanged.
   * @param fn - Receives the value, the action and `emit`.
   * @returns The handler, with `events`.
   */
  handleOnlyEmit<A = void, E = unknown>(
    fn: (value: T, action: A, emit: (event: E) => void) => void | Promise<void>,
  ): EmittingHandler<A, E, T>
  /**
   * A sub-store focused through a lens or a `lenses<T>()` path.
   * @param lens - A lens or path from `T`.
   * @returns The sub-store (the same one for the same lens object).
   */
  map<C>(lens: LensLike<T, C>): SubStore<C>
  /** Alias of {@link Store.map}. */
  sub<C>(lens: LensLike<T, C>): SubStore<C>
  /**
   * The sub-store of the list element that has the same id as `element`.
   * @param element - An element of the list (only its id matters).
   * @param idOf - Identifies elements.
   * @returns The sub-store; its id segment is the element's id.
   */
  mapByElement(element: ElementOf<T>, idOf: IdOf<ElementOf<T>>): SubStore<ElementOf<T>>
  /**
   * The sub-store of the list element at `index`.
   * @param index - A position in the list.
   * @returns The sub-store; its id segment is the index.
   */
  mapByIndex(index: number): SubStore<ElementOf<T>>
  /**
   * The sub-store of the entry at `key` of a record or Map.
   * @param key - An existing key.
   * @returns The sub-store; its id segment is the key.
   */
  mapByKey<K extends KeyOf<T>>(key: K): SubStore<ValueAt<T, K>>
  /**
   * A non-null view of a nullable value: `null`/`undefined` read as `defaultValue`,
   * writing `defaultValue` (`===`) writes `null`.
   * @param defaultValue - What `null` looks like.
   * @returns The sub-store (id segment `''`).
   */
  mapNull(defaultValue: NonNullable<T>): SubStore<NonNullable<T>>
}

/**
 * A push stream of events. Signals are for state; streams are for events.
 * `for await` iteration buffers at most `bufferSize` (default 1024) events that
 * the loop has not taken yet; past that the oldest are dropped.
 */
export interface Stream<T> extends AsyncIterable<T> {
  /**
   * Calls `next` with every later event (no replay) and `onEnd` when the stream ends.
   * @param next - Receives each event.
   * @param onEnd - Called once when the stream ends (at once if it already has).
   * @returns A disposer that unsubscribes.
   */
  subscribe(next: (value: T) => void, onEnd?: () => void): () => void
  /**
   * A stream of `fn(event)` for every event.
   * @param fn - Maps an event.
   * @returns The mapped stream (lazy: subscribes to this one while it has subscribers).
   */
  map<U>(fn: (value: T) => U): Stream<U>
  /**
   * A stream of the events that pass `predicate`.
   * @param predicate - Keeps an event when it returns true.
   * @returns The filtered stream.
   */
  filter<S extends T>(predicate: (value: T) => value is S): Stream<S>
  filter(predicate: (value: T) => boolean): Stream<T>
}

/** Options of {@link createStream}. */
export interface StreamOptions {
  /** Events a `for await` loop may fall behind by before the oldest are dropped. Default 1024. */
  readonly bufferSize?: number
  /** Receives errors thrown by subscribers (the other subscribers still get the event). Default `console.error`. */
  readonly onError?: (error: unknown) => void
}

/** What {@link createStream} returns. */
export interface StreamController<T> {
  /** The stream to hand out. */
  readonly stream: Stream<T>
  /** Delivers an event to the current subscribers (lost when there are none); ignored after `end`. */
  readonly emit: (value: T) => void
  /** Ends the stream: iterations finish, subscribers get `onEnd` and are dropped. Idempotent. */
  readonly end: () => void
}

/** Something `handledBy` can connect: a stream, a signal (its changes) or an async iterable. */
export type Source<T> = Stream<T> | ReadonlySignal<T> | AsyncIterable<T>

/** Options of {@link history}. */
export interface HistoryOptions<T> {
  /** Most entries kept (the current value included); the oldest drop out. Default: unlimited. */
  readonly capacity?: number
  /** When a new value counts as equal to the newest entry (and is not pushed). Default `Object.is`. */
  readonly equals?: (a: T, b: T) => boolean
}

/** The undo history of a store, made by {@link history}. */
export interface History<T> {
  /** Oldest first; the last entry is the newest (normally the store's current value). */
  readonly entries: ReadonlySignal<readonly T[]>
  /** Whether `back()` can go back: `entries.length > 1`. */
  readonly available: ReadonlySignal<boolean>
  /**
   * Removes the newest entry and returns the new newest; the store is not touched
   * (undo is `store.update(h.back())`). With one entry, returns it and keeps it.
   * @returns The entry to go back to.
   */
  back(): T
  /** Keeps only the newest entry. */
  clear(): void
  /** Stops recording. */
  dispose(): void
}

/** A validation message about the field at `path` (as in `store.path`: `''`, `'.address.street'`). */
export interface Message {
  /**
   * The field the message is about, in the form of `store.path` (`''` for the whole
   * value, `'.address.street'`); build it with `inspector.map(lens).path`.
   */
  readonly path: string
  /** What to show the user, e.g. `'Name is required'`. */
  readonly text: string
}

/** What a validation rule gets to find paths: `inspector.map(L.name).path` is `'.name'`. */
export interface Inspector<T> {
  /** The value being validated (at this path). */
  readonly data: T
  /** The path of `data`, relative to the validated store's root. */
  readonly path: string
  /**
   * The inspector of a part of the value.
   * @param lens - A lens or path from `T`.
   * @returns An inspector whose `path` extends this one's.
   */
  map<C>(lens: LensLike<T, C>): Inspector<C>
}

/** A validation rule: the messages for a value. */
export type ValidationRule<T, M extends Message = Message> = (
  value: T,
  inspector: Inspector<T>,
) => readonly M[]

/** What {@link validate} returns. */
export interface Validation<M extends Message = Message> {
  /** The messages of the latest change (empty until the first change). */
  readonly messages: ReadonlySignal<readonly M[]>
  /** True when there are no messages. */
  readonly valid: ReadonlySignal<boolean>
  /**
   * The messages about a store's part: its path or anything below it.
   * @param store - A sub-store of the validated store (or its `path`).
   * @returns The filtered messages, as a signal.
   */
  messagesFor(store: { readonly path: string } | string): ReadonlySignal<readonly M[]>
  /**
   * Validates the current value now (e.g. on submit) and publishes the messages.
   * @returns The messages.
   */
  check(): readonly M[]
  /** Stops validating changes. */
  dispose(): void
}
