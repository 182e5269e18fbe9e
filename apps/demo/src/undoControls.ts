import { effect } from '@lensync/store'
import { type Sync, undoManager } from '@lensync/sync-client'
import { h } from './dom.ts'

/** Edits closer together than this form one undo step (typing a word). */
const captureTimeout = 500

/**
 * Undo and Redo of this tab's own edits of `sync`'s store, as buttons and as
 * keys: `undoManager(sync, { captureTimeout: 500, capacity: 100 })` records
 * only edits made here, so Undo never reverts what another tab or person
 * did, and leaves alone a field someone else changed since.
 *
 * Keys: inside `form`, Ctrl+Z (⌘Z) is Undo and Ctrl+Shift+Z or Ctrl+Y (⌘⇧Z)
 * is Redo, always — the browser's own text-field undo is turned off there
 * (`preventDefault`), because it would replay stale text over synced values
 * as if typed. Outside the form (chat, my name) the keys keep their usual
 * meaning.
 *
 * A step never spans two fields: moving focus inside the form ends the
 * current step (the manager's clock is advanced by `captureTimeout`), so
 * "type a name, then an age" is two Undos however fast it was typed.
 * @param form - The form whose keys and focus are watched.
 * @returns The Undo and Redo buttons, and a disposer.
 */
export function undoControls(form: HTMLElement, sync: Sync): { buttons: HTMLElement[]; dispose: () => void } {
  let focusMoves = 0
  const undo = undoManager(sync, {
    captureTimeout,
    capacity: 100,
    now: () => Date.now() + focusMoves * captureTimeout,
  })
  const onFocus = () => {
    focusMoves++
  }
  form.addEventListener('focusin', onFocus)

  const undoButton = h(
    'button',
    { class: 'secondary', 'data-testid': 'undo', type: 'button', title: 'Undo your last edit (Ctrl+Z)' },
    'Undo',
  )
  const redoButton = h(
    'button',
    { class: 'secondary', 'data-testid': 'redo', type: 'button', title: 'Redo (Ctrl+Shift+Z or Ctrl+Y)' },
    'Redo',
  )
  undoButton.addEventListener('click', () => undo.undo())
  redoButton.addEventListener('click', () => undo.redo())
  const disposeButtons = effect(() => {
    undoButton.disabled = !undo.canUndo.value
    redoButton.disabled = !undo.canRedo.value
  })

  const onKey = (event: KeyboardEvent) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.isComposing) return
    const key = event.key.toLowerCase()
    const action =
      key === 'z' ? (event.shiftKey ? 'redo' : 'undo') : key === 'y' && !event.shiftKey ? 'redo' : undefined
    if (!action) return
    event.preventDefault()
    if (action === 'undo') undo.undo()
    else undo.redo()
  }
  form.addEventListener('keydown', onKey)

  return {
    buttons: [undoButton, redoButton],
    dispose: () => {
      form.removeEventListener('focusin', onFocus)
      form.removeEventListener('keydown', onKey)
      disposeButtons()
      undo.stop()
    },
  }
}
