import { deepEqual, diffFields, type FieldPath, isPlainObject, setIn, unsetIn } from '@lensync/protocol'
import type { EntityEdit } from './EditFeed.ts'

/**
 * A field's value at one moment: present with a value, or absent (a field
 * not set; for the whole entity, an item not in the list).
 *
 * @internal
 */
export type Slot = { readonly kind: 'present'; readonly value: unknown } | { readonly kind: 'absent' }

const absent: Slot = { kind: 'absent' }

/**
 * One field of a step: its value before this client's edits and after them.
 * The empty path is the whole entity (a `syncList` item added or removed).
 *
 * @internal
 */
export interface UndoField {
  readonly id: string
  readonly path: FieldPath
  before: Slot
  after: Slot
  /** Where a whole item stood in the list (to put it back there). */
  index?: number
}

/**
 * What one undo (or redo) writes back: fields no two of which lie on one
 * path of one entity (merging keeps them apart).
 *
 * @internal
 */
export interface UndoStep {
  fields: UndoField[]
}

/**
 * The field at `path` of `value`; `value` `undefined` at the root is an
 * entity that is not there.
 *
 * @internal
 */
export function slotAt(value: unknown, path: FieldPath): Slot {
  if (value === undefined && path.length === 0) return absent
  let current = value
  for (const name of path) {
    if (!isPlainObject(current) || !Object.hasOwn(current, name)) return absent
    current = current[name]
  }
  return { kind: 'present', value: current }
}

/** @internal Whether two slots hold the same value. */
export function sameSlot(a: Slot, b: Slot): boolean {
  if (a.kind === 'absent' || b.kind === 'absent') return a.kind === b.kind
  return deepEqual(a.value, b.value)
}

/** @internal `value` with `slot` written at `path` (the empty path replaces it; absent there: `undefined`). */
export function withSlot(value: unknown, path: FieldPath, slot: Slot): unknown {
  if (path.length === 0) return slot.kind === 'present' ? slot.value : undefined
  return slot.kind === 'present' ? setIn(value, path, slot.value) : unsetIn(value, path)
}

/** @internal Whether `prefix` is `path` or above it. */
export function isPrefix(prefix: FieldPath, path: FieldPath): boolean {
  return prefix.length <= path.length && prefix.every((name, i) => name === path[i])
}

/** @internal Whether one path is the other or lies above it (writing one changes the other). */
export function related(a: FieldPath, b: FieldPath): boolean {
  return a.length <= b.length ? isPrefix(a, b) : isPrefix(b, a)
}

/**
 * The fields an entity change touched: the whole entity when it came or
 * went, else the paths `diffFields` finds.
 *
 * @internal
 */
export function changedPaths(edit: EntityEdit): FieldPath[] {
  if (edit.before === undefined || edit.after === undefined) return edit.before === edit.after ? [] : [[]]
  const diff = diffFields(edit.before, edit.after)
  return [...diff.set.map(([path]) => path), ...diff.unset]
}

/**
 * Adds a local edit to a step: a field already in it (or a field above it)
 * keeps its first `before` and takes the new `after`; a new field above
 * fields already there takes their place, with their `before` values put
 * back into its own, so the step still leads back to where it began.
 *
 * @internal
 */
export function mergeEdit(step: UndoStep, edit: EntityEdit): void {
  for (const path of changedPaths(edit)) {
    const fields = step.fields
    const covering = fields.find(field => field.id === edit.id && isPrefix(field.path, path))
    if (covering) {
      covering.after = slotAt(edit.after, covering.path)
      continue
    }
    let before = slotAt(edit.before, path)
    const below = fields.filter(field => field.id === edit.id && isPrefix(path, field.path))
    // Innermost last, so a field under another covered one is written after it.
    for (const field of below.sort((a, b) => a.path.length - b.path.length)) {
      const rest = field.path.slice(path.length)
      before = {
        kind: 'present',
        value: withSlot(before.kind === 'present' ? before.value : {}, rest, field.before),
      }
    }
    step.fields = fields.filter(field => !below.includes(field))
    step.fields.push({
      id: edit.id,
      path,
      before,
      after: slotAt(edit.after, path),
      ...(path.length === 0 && edit.index !== undefined ? { index: edit.index } : {}),
    })
  }
}

/**
 * A bounded stack of steps: past `capacity` the oldest is dropped. It also
 * drops fields that another client changed, and steps left empty by that.
 *
 * @internal
 */
export class UndoStack {
  private readonly steps: UndoStep[] = []

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.steps.length
  }

  /** The newest step, if any. */
  get top(): UndoStep | undefined {
    return this.steps[this.steps.length - 1]
  }

  push(step: UndoStep): void {
    this.steps.push(step)
    if (this.steps.length > this.capacity) this.steps.shift()
  }

  pop(): UndoStep | undefined {
    return this.steps.pop()
  }

  clear(): void {
    this.steps.length = 0
  }

  /** Whether a step has a field of entity `id`. */
  refers(id: string): boolean {
    return this.steps.some(step => step.fields.some(field => field.id === id))
  }

  /**
   * Forgets the fields of entity `id` that lie on any of `paths` (another
   * client changed them), and the steps left without fields.
   */
  forget(id: string, paths: readonly FieldPath[]): void {
    for (const step of this.steps)
      step.fields = step.fields.filter(
        field => field.id !== id || !paths.some(path => related(path, field.path)),
      )
    for (let i = this.steps.length - 1; i >= 0; i--)
      if (this.steps[i]?.fields.length === 0) this.steps.splice(i, 1)
  }
}
