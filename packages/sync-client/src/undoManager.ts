import { type ReadonlySignal, type Signal, signal } from '@lensync/store'
import {
  type EditListener,
  type EntityEdit,
  type EntityWrite,
  isUndoTarget,
  type UndoTarget,
} from './EditFeed.ts'
import { SyncError } from './SyncError.ts'
import type { Sync } from './syncTypes.ts'
import {
  changedPaths,
  mergeEdit,
  sameSlot,
  slotAt,
  type UndoField,
  UndoStack,
  type UndoStep,
  withSlot,
} from './UndoStack.ts'
import type { UndoManager, UndoManagerOptions } from './undoTypes.ts'

/** The defaults of {@link UndoManagerOptions}. */
const undoDefaults = { captureTimeout: 500, capacity: 100 } as const

function resolveOptions(options: UndoManagerOptions): Required<UndoManagerOptions> {
  const { captureTimeout = undoDefaults.captureTimeout, capacity = undoDefaults.capacity, now } = options
  if (typeof captureTimeout !== 'number' || !Number.isFinite(captureTimeout) || captureTimeout < 0)
    throw new SyncError(
      'BAD_ARGUMENT',
      `undoManager(): captureTimeout must be a finite number of ms ≥ 0, got ${String(captureTimeout)}`,
    )
  if (
    typeof capacity !== 'number' ||
    !(capacity >= 1) ||
    (!Number.isInteger(capacity) && capacity !== Infinity)
  )
    throw new SyncError(
      'BAD_ARGUMENT',
      `undoManager(): capacity must be a positive integer or Infinity, got ${String(capacity)}`,
    )
  if (now !== undefined && typeof now !== 'function')
    throw new SyncError('BAD_ARGUMENT', 'undoManager(): now must be a function returning ms')
  return { captureTimeout, capacity, now: now ?? (() => Date.now()) }
}

/**
 * Records this client's edits of one sync's store in steps and writes them
 * back on `undo()` (and again on `redo()`), leaving alone what others changed.
 *
 * How it tells edits apart: the sync reports edits made through its store
 * (`local`) apart from the values it shows itself (`shown`: remote changes,
 * snapshots, the cache, other tabs). Each `shown` change removes the fields it
 * touched from every step, so a step only ever writes fields whose last
 * change this client saw was its own.
 */
class UndoEngine implements UndoManager, EditListener {
  readonly canUndo: ReadonlySignal<boolean>
  readonly canRedo: ReadonlySignal<boolean>
  private readonly _canUndo: Signal<boolean> = signal(false)
  private readonly _canRedo: Signal<boolean> = signal(false)
  private readonly undos: UndoStack
  private readonly redos: UndoStack
  private readonly options: Required<UndoManagerOptions>
  private unwatch: () => void = () => {}
  private stopped = false
  /**
   * The step later edits join while they come within `captureTimeout` of
   * `at` (the last one); none after an undo or redo, so the next edit starts a step.
   */
  private capture: { step: UndoStep; at: number } | undefined
  /**
   * The values this manager wrote, by entity id, until the sync reports them
   * as local edits (not recorded as new steps). A write reported later (the
   * store's handler queue or a `batch()` held it back) is still known by its value.
   */
  private readonly writing = new Map<string, unknown>()

  constructor(
    private readonly target: UndoTarget,
    options: Required<UndoManagerOptions>,
  ) {
    this.options = options
    this.undos = new UndoStack(options.capacity)
    this.redos = new UndoStack(options.capacity)
    this.canUndo = this._canUndo
    this.canRedo = this._canRedo
    this.unwatch = target._edits.watch(this)
  }

  local(edits: readonly EntityEdit[]): void {
    if (this.stopped) return
    const own: EntityEdit[] = []
    for (const edit of edits) {
      if (this.writing.has(edit.id) && this.writing.get(edit.id) === edit.after) {
        this.writing.delete(edit.id)
        continue
      }
      if (changedPaths(edit).length > 0) own.push(edit)
    }
    if (own.length === 0) return
    const now = this.options.now()
    const capture = this.capture
    // A step that left the stack (undone, or emptied by others' changes) takes no more edits.
    const joins =
      capture !== undefined &&
      capture.step === this.undos.top &&
      now - capture.at < this.options.captureTimeout
    const step = joins ? capture.step : { fields: [] }
    for (const edit of own) mergeEdit(step, edit)
    if (!joins && step.fields.length > 0) this.undos.push(step)
    this.capture = { step, at: now }
    this.redos.clear()
    this.changed()
  }

  shown(edits: readonly EntityEdit[]): void {
    if (this.stopped) return
    let touched = false
    for (const edit of edits) {
      if (!this.undos.refers(edit.id) && !this.redos.refers(edit.id)) continue
      const paths = changedPaths(edit)
      if (paths.length === 0) continue
      this.undos.forget(edit.id, paths)
      this.redos.forget(edit.id, paths)
      touched = true
    }
    if (touched) this.changed()
  }

  reset(): void {
    this.clear()
  }

  ended(): void {
    this.stop()
  }

  undo(): boolean {
    return this.replay(this.undos, this.redos)
  }

  redo(): boolean {
    return this.replay(this.redos, this.undos)
  }

  clear(): void {
    this.undos.clear()
    this.redos.clear()
    this.capture = undefined
    this.changed()
  }

  stop(): void {
    if (this.stopped) return
    this.clear()
    this.stopped = true
    this.writing.clear()
    this.unwatch()
  }

  /**
   * Pops steps from `from` until one writes something; its inverse goes onto `to`.
   * @returns Whether anything was written.
   */
  private replay(from: UndoStack, to: UndoStack): boolean {
    if (this.stopped) return false
    let done = false
    for (let step = from.pop(); step !== undefined && !done; step = done ? undefined : from.pop()) {
      const inverse = this.writeBack(step)
      if (inverse) {
        to.push(inverse)
        done = true
      }
    }
    // The next edit starts a step of its own: it must not merge into what was just replayed.
    this.capture = undefined
    this.changed()
    return done
  }

  /**
   * Writes each field of `step` back to its `before` value where the store
   * still shows its `after` value.
   * @returns The step that reverses what was written, or `undefined` when nothing was.
   */
  private writeBack(step: UndoStep): UndoStep | undefined {
    const byEntity = new Map<string, UndoField[]>()
    for (const field of step.fields) {
      const list = byEntity.get(field.id)
      if (list) list.push(field)
      else byEntity.set(field.id, [field])
    }
    const writes: EntityWrite[] = []
    const inverse: UndoField[] = []
    for (const [id, fields] of byEntity) {
      const shown = this.target._shownEntity(id)
      let value = shown?.value
      for (const field of fields) {
        // Edited away and back within the step: nothing to undo.
        if (sameSlot(field.before, field.after)) continue
        // Safety net: the `shown` reports already took out what others changed.
        if (!sameSlot(slotAt(shown?.value, field.path), field.after)) continue
        if (field.path.length > 0 && value === undefined) continue
        value = withSlot(value, field.path, field.before)
        const index = field.path.length === 0 && field.before.kind === 'absent' ? shown?.index : field.index
        inverse.push({
          id,
          path: field.path,
          before: field.after,
          after: field.before,
          ...(index === undefined ? {} : { index }),
        })
      }
      if (value === shown?.value) continue
      writes.push({ id, value, ...(fields[0]?.index === undefined ? {} : { index: fields[0].index }) })
    }
    if (writes.length === 0) return undefined
    for (const write of writes) this.writing.set(write.id, write.value)
    this.target._writeEntities(writes)
    // Reported synchronously in the usual case; a write held back by a batch
    // or the store's handler queue is reported within this task.
    queueMicrotask(() => {
      for (const write of writes)
        if (this.writing.get(write.id) === write.value) this.writing.delete(write.id)
    })
    return { fields: inverse }
  }

  private changed(): void {
    this._canUndo.value = this.undos.size > 0
    this._canRedo.value = this.redos.size > 0
  }
}

/**
 * Undo and redo of this client's own edits of a synced store (API.md §6).
 *
 * Records only edits made through the store of `sync` — not remote changes,
 * not values loaded from the cache or the server, not another tab's edits.
 * Edits less than `captureTimeout` ms apart form one step. `undo()` writes
 * back, for each field of the last step, the value it had before, except the
 * fields another client changed since (as far as this client has seen): those
 * are left as they are. `redo()` re-applies an undone step by the same rule;
 * a new edit clears the redo stack. Undo and redo are ordinary edits of the
 * store: synced, cached, and undoable offline. For `syncList`, undoing an
 * add removes the item and undoing a remove puts it back.
 *
 * @param sync - A running `syncWith` or `syncList`.
 * @param options - `captureTimeout` (ms, default 500), `capacity` (steps, default 100), `now` (clock).
 * @returns The manager: `canUndo`, `canRedo`, `undo()`, `redo()`, `clear()`, `stop()`.
 * @throws SyncError `BAD_ARGUMENT` for a `sync` not made by this package or an option out of range.
 * @example
 * const undo = undoManager(syncWith(person, socket, PersonResource), { captureTimeout: 500 })
 * effect(() => { undoButton.disabled = !undo.canUndo.value })
 * undoButton.onclick = () => undo.undo()
 */
export function undoManager(sync: Sync, options: UndoManagerOptions = {}): UndoManager {
  if (!isUndoTarget(sync))
    throw new SyncError(
      'BAD_ARGUMENT',
      'undoManager(): sync must be a syncWith or syncList of @lensync/sync-client',
    )
  return new UndoEngine(sync, resolveOptions(options))
}
