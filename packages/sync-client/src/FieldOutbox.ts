import type { FieldPath } from '@lensync/protocol'
import { setIn, unsetIn } from '@lensync/protocol'

/**
 * One local field edit: set `path` to `value`, or remove it (`unset`).
 * Immutable: once an edit is part of a sent write, its content never changes.
 *
 * @internal
 */
export interface FieldEdit {
  readonly path: FieldPath
  readonly value: unknown
  readonly unset: boolean
}

const pathKey = (path: FieldPath): string => path.join('\u0000')

function isPrefix(prefix: FieldPath, path: FieldPath): boolean {
  if (prefix.length > path.length) return false
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false
  return true
}

/**
 * Whether two paths address overlapping data (one is a prefix of the other).
 *
 * @internal
 */
export function overlaps(a: FieldPath, b: FieldPath): boolean {
  return a.length <= b.length ? isPrefix(a, b) : isPrefix(b, a)
}

/**
 * `base` with `edits` applied in order.
 *
 * @internal
 */
export function applyEdits(base: unknown, edits: Iterable<FieldEdit>): unknown {
  let value = base
  for (const edit of edits)
    value = edit.unset ? unsetIn(value, edit.path) : setIn(value, edit.path, edit.value)
  return value
}

/**
 * The local field edits of one entity not sent yet, coalesced per field:
 * only the newest value of a field is kept, so work done offline is bounded
 * by the entity's size, not by the number of edits. Edits keep the order in
 * which their fields were last edited, and one field is never both part of a
 * pending whole value and a separate edit (an ancestor absorbs it).
 *
 * Pure bookkeeping. Edits taken out ({@link take}) become the content of a
 * write and are never changed again.
 *
 * @internal
 */
export class FieldOutbox {
  private readonly edits = new Map<string, FieldEdit>()

  /** How many fields are waiting. */
  get size(): number {
    return this.edits.size
  }

  /** The waiting edits, in order. */
  values(): IterableIterator<FieldEdit> {
    return this.edits.values()
  }

  /**
   * Records an edit, replacing an older edit of the same field. A waiting
   * edit of an ancestor absorbs it; waiting edits of descendants are dropped
   * (the new value covers them).
   */
  add(edit: FieldEdit): void {
    const { path } = edit
    for (const [key, older] of this.edits) {
      if (older.path.length < path.length && !older.unset && isPrefix(older.path, path)) {
        const rest = path.slice(older.path.length)
        const value = edit.unset ? unsetIn(older.value, rest) : setIn(older.value, rest, edit.value)
        this.edits.set(key, { path: older.path, value, unset: false })
        return
      }
    }
    for (const [key, older] of this.edits) {
      if (older.path.length > path.length && isPrefix(path, older.path)) this.edits.delete(key)
    }
    const key = pathKey(path)
    this.edits.delete(key) // re-insert: the outbox keeps the order of the last edits
    this.edits.set(key, edit)
  }

  /** Records several edits in order. */
  addAll(edits: Iterable<FieldEdit>): void {
    for (const edit of edits) this.add(edit)
  }

  /**
   * Records older edits beneath the waiting ones: where a waiting edit
   * touches the same field, the waiting (newer) one wins.
   */
  addUnder(older: Iterable<FieldEdit>): void {
    const newer = this.take()
    this.addAll(older)
    this.addAll(newer)
  }

  /** Removes and returns every waiting edit, in order. */
  take(): FieldEdit[] {
    const all = [...this.edits.values()]
    this.edits.clear()
    return all
  }

  /** Drops every waiting edit. */
  clear(): void {
    this.edits.clear()
  }
}
