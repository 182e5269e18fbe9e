import type { ReadonlySignal } from '@lensync/store'

/** Options of {@link undoManager}. */
export interface UndoManagerOptions {
  /**
   * Edits made less than this many ms after the previous recorded edit join
   * its step (typing a word is one step). `0` makes every edit a step of its
   * own. A finite number ≥ 0.
   * @default 500
   */
  captureTimeout?: number
  /**
   * The most steps kept to undo; past it the oldest is dropped. A positive
   * integer, or `Infinity`.
   * @default 100
   */
  capacity?: number
  /**
   * The clock, in ms, that `captureTimeout` is measured with (tests).
   * @default () => Date.now() (looked up on each edit, so fake timers work)
   */
  now?: () => number
}

/**
 * Undo and redo of this client's own edits of a `syncWith` or `syncList`
 * store, made by {@link undoManager}.
 */
export interface UndoManager {
  /** Whether a step is there to undo (a step whose every field others changed since is dropped at once). */
  readonly canUndo: ReadonlySignal<boolean>
  /** Whether an undone step is there to redo. */
  readonly canRedo: ReadonlySignal<boolean>
  /**
   * Writes back, for each field of the last step, the value it had before,
   * leaving alone the fields another client changed since; a step left with
   * nothing to write is dropped and the one below tried. The write is an
   * ordinary edit: synced, cached, undoable offline.
   * @returns Whether anything changed.
   */
  undo(): boolean
  /**
   * Applies the last undone step again, by the same rule.
   * @returns Whether anything changed.
   */
  redo(): boolean
  /** Forgets every step (both stacks). */
  clear(): void
  /** Stops recording and forgets every step; `undo()` and `redo()` then return false. */
  stop(): void
}
