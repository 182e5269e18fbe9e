/**
 * One entity's value in a sync's store before and after a change.
 * `undefined` means not in the store (a `syncList` item added or removed).
 *
 * @internal
 */
export interface EntityEdit {
  /** The resource id of the entity. */
  readonly id: string
  readonly before: unknown
  readonly after: unknown
  /** For a `syncList` item added or removed: its position in the list that had it. */
  readonly index?: number
}

/**
 * What a sync tells an undo manager about the values in its store.
 *
 * @internal
 */
export interface EditListener {
  /** Edits this client made through the synced store (in the order the store saw them). */
  local(edits: readonly EntityEdit[]): void
  /**
   * Values the sync put into the store itself: a remote change, a snapshot,
   * the cache, another tab's outbox, a rejected write reverted, a conflict
   * resolved to theirs. None of these is this client's edit.
   */
  shown(edits: readonly EntityEdit[]): void
  /** The sync moved to another entity (a `syncWith` id change): what came before no longer applies. */
  reset(): void
  /** The sync stopped. */
  ended(): void
}

/**
 * The listeners of one sync's store changes, split into this client's edits
 * and everything else. Syncs report only while someone listens (`active`),
 * so a sync without an undo manager does no extra work.
 *
 * @internal
 */
export class EditFeed {
  private readonly listeners = new Set<EditListener>()
  private closed = false

  /** Whether anyone listens (the sync skips collecting edits otherwise). */
  get active(): boolean {
    return this.listeners.size > 0
  }

  /**
   * Adds a listener.
   * @returns A disposer that removes it. After the sync stopped, the listener gets `ended()` at once.
   */
  watch(listener: EditListener): () => void {
    if (this.closed) {
      listener.ended()
      return () => {}
    }
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  /** Reports this client's edits. */
  local(edits: readonly EntityEdit[]): void {
    if (edits.length === 0) return
    for (const listener of [...this.listeners]) listener.local(edits)
  }

  /** Reports values the sync put into the store. */
  shown(edits: readonly EntityEdit[]): void {
    if (edits.length === 0) return
    for (const listener of [...this.listeners]) listener.shown(edits)
  }

  /** Reports that the sync moved to another entity. */
  reset(): void {
    for (const listener of [...this.listeners]) listener.reset()
  }

  /** Reports that the sync stopped, and drops every listener. */
  close(): void {
    if (this.closed) return
    this.closed = true
    const listeners = [...this.listeners]
    this.listeners.clear()
    for (const listener of listeners) listener.ended()
  }
}

/**
 * A write an undo manager asks a sync to make through its store, as an
 * ordinary local edit: `value` `undefined` removes a `syncList` item;
 * `index` places an item added back.
 *
 * @internal
 */
export interface EntityWrite {
  readonly id: string
  readonly value: unknown
  readonly index?: number
}

/**
 * What `undoManager` needs from a sync (`syncWith` and `syncList` have it).
 *
 * @internal
 */
export interface UndoTarget {
  /** @internal The sync's store changes. */
  readonly _edits: EditFeed
  /**
   * @internal The value the store shows for `id` and its position (0 for
   * `syncWith`), or `undefined` when the store does not hold it.
   */
  _shownEntity(id: string): { value: unknown; index: number } | undefined
  /** @internal Writes values through the store, in one update (reported as `local` edits). */
  _writeEntities(writes: readonly EntityWrite[]): void
}

/**
 * Whether `sync` can be undone (a `syncWith` or `syncList` of this package).
 *
 * @internal
 */
export function isUndoTarget(sync: unknown): sync is UndoTarget {
  const candidate = sync as Partial<UndoTarget> | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate._edits instanceof EditFeed &&
    typeof candidate._shownEntity === 'function' &&
    typeof candidate._writeEntities === 'function'
  )
}
