/**
 * A local edit of a field that reached the server after another client had
 * changed that field, at a revision this client had not seen when it made
 * the edit (typically: an edit made offline). Reported on `sync.conflicts`
 * of `syncWith` and `syncList`, also for an edit sent from a cache's outbox
 * after a reload or by another tab.
 *
 * @example
 * sync.conflicts.subscribe(c =>
 *   toast(`${c.by ?? 'Someone'} changed ${c.path} of ${c.id} while you were offline`))
 */
export interface Conflict {
  /**
   * The resource id of the entity the field belongs to: the synced entity
   * (`syncWith`) or the list item (`syncList`).
   */
  readonly id: string
  /** The field, as a store path: `'.name'`, `'.address.street'`; `''` for the whole value. */
  readonly path: string
  /** The value this client's write set (`undefined` when it removed the field). */
  readonly mine: unknown
  /** The other client's value, decoded (`undefined` when the field was absent). */
  readonly theirs: unknown
  /** The revision of the other client's write. */
  readonly rev: number
  /** Who made it, when the server has an `attribution` option. */
  readonly by?: string
  /**
   * What the store shows now: `'mine'` (overwrite: this client's value
   * was applied), `'theirs'` (keep-theirs: it was not), `'merged'` (the
   * merge function's value was written on top of theirs).
   */
  readonly resolution: 'mine' | 'theirs' | 'merged'
}

/**
 * What a sync does when its write of a field meets another client's newer
 * write of it (see {@link Conflict}):
 * - `'overwrite'` (default): this client's value is applied (server order);
 * - `'keep-theirs'`: it is not; the store shows theirs;
 * - a function: gets the conflict (`resolution: 'merged'`) and returns the
 *   value to write on top of theirs, as a new edit of that field.
 */
export type OnConflict = 'overwrite' | 'keep-theirs' | ((conflict: Conflict) => unknown)
