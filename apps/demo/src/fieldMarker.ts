import { effect, type ReadonlySignal } from '@lensync/store'
import type { FieldStatus } from '@lensync/sync-client'
import { h } from './dom.ts'

const titles: Record<Exclude<FieldStatus, 'synced'>, string> = {
  pending: 'Your edit of this field waits for the server',
  rejected: 'The server refused your edit of this field; it shows the server’s value again',
}

/**
 * A small marker beside a field's label showing where this tab's edits of it
 * stand (`sync.fieldStatus(...)`): "pending" until the server acknowledged
 * them, "rejected" after it refused one, nothing (hidden) when synced. Its
 * text is the status word, so screen readers and tests read what the eye
 * sees, and its title says what it means. It is deliberately not a live
 * region: announcing "pending" on every keystroke would drown the form.
 * @param testId - Its `data-testid`.
 * @param status - The field's status signal.
 * @returns The marker element and a disposer.
 */
export function fieldMarker(
  testId: string,
  status: ReadonlySignal<FieldStatus>,
): { el: HTMLElement; dispose: () => void } {
  const el = h('span', { class: 'field-marker', 'data-testid': testId })
  const dispose = effect(() => {
    const value = status.value
    el.dataset.status = value
    if (value === 'synced') {
      el.textContent = ''
      el.removeAttribute('title')
      el.hidden = true
    } else {
      el.textContent = value
      el.title = titles[value]
      el.hidden = false
    }
  })
  return { el, dispose }
}
