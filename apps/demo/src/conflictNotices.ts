import type { Stream } from '@lensync/store'
import type { Conflict } from '@lensync/sync-client'
import { h } from './dom.ts'

/** A field the notices can name and restore, keyed by its store path (`'.name'`). */
export interface ConflictField {
  /** Its visible name: "Name". */
  readonly label: string
  /** Writes a value into it (a local edit, synced like any other). */
  readonly write: (value: unknown) => void
  /** Where focus goes when its last notice closes (the field's input). */
  readonly focusTarget?: HTMLElement
}

/**
 * Shows one notice per conflict on `conflicts` (an edit of this tab, usually
 * made offline, that met another client's newer value): which field, whose
 * value it met (`conflict.by`, else "someone's"), both values, a **Restore
 * theirs** button that writes `conflict.theirs` back into the field, and a
 * **Dismiss** button. Notices stack in arrival order; a newer conflict of
 * the same field replaces its older notice (whose "theirs" is stale). They
 * are plain buttons, so Tab reaches them; Escape inside a notice dismisses
 * it, and focus then moves to the next notice or back to the field.
 * @param root - The container (an `aria-live` region is made inside it).
 * @param conflicts - `sync.conflicts`.
 * @param fields - The fields by store path; `''` for the whole record.
 * @returns A disposer that unsubscribes and removes the notices.
 */
export function mountConflictNotices(
  root: HTMLElement,
  conflicts: Stream<Conflict>,
  fields: Readonly<Record<string, ConflictField>>,
): () => void {
  const list = h('div', {
    class: 'conflicts',
    'data-testid': 'conflicts',
    'aria-live': 'polite',
    'aria-label': 'Conflicts',
  })
  root.append(list)
  const byPath = new Map<string, HTMLElement>()

  const close = (path: string, notice: HTMLElement) => {
    if (byPath.get(path) === notice) byPath.delete(path)
    const hadFocus = notice.contains(document.activeElement)
    const next = (notice.nextElementSibling ?? notice.previousElementSibling) as HTMLElement | null
    notice.remove()
    if (!hadFocus) return
    const target = next?.querySelector('button') ?? fieldFor(fields, path)?.field.focusTarget
    target?.focus()
  }

  const show = (conflict: Conflict) => {
    const found = fieldFor(fields, conflict.path)
    const label = found?.field.label ?? (conflict.path || 'the record')
    const who = conflict.by ? `${conflict.by}’s` : 'someone’s'
    const message =
      conflict.resolution === 'theirs'
        ? `Your edit of ${label} was dropped: ${who} newer value stays`
        : `Your edit of ${label} replaced ${who} newer value`
    const notice = h(
      'div',
      {
        class: 'conflict',
        role: 'group',
        'aria-label': `Conflict on ${label}`,
        'data-testid': 'conflict-notice',
        'data-path': conflict.path,
      },
      h('p', { class: 'conflict-text', 'data-testid': 'conflict-text' }, message),
      h(
        'p',
        { class: 'conflict-values' },
        `yours: ${describe(conflict.mine)} · theirs: ${describe(conflict.theirs)}`,
      ),
    )
    const actions = h('div', { class: 'conflict-actions' })
    // Restoring theirs only makes sense where the store does not show theirs
    // already, for a field we can write (not a nested part of one).
    if (found?.exact && conflict.resolution !== 'theirs' && conflict.theirs !== undefined) {
      const restore = h(
        'button',
        { type: 'button', class: 'secondary', 'data-testid': 'conflict-restore' },
        'Restore theirs',
      )
      restore.addEventListener('click', () => {
        found.field.write(conflict.theirs)
        close(conflict.path, notice)
      })
      actions.append(restore)
    }
    const dismiss = h(
      'button',
      { type: 'button', class: 'secondary', 'data-testid': 'conflict-dismiss' },
      'Dismiss',
    )
    dismiss.addEventListener('click', () => close(conflict.path, notice))
    actions.append(dismiss)
    notice.append(actions)
    notice.addEventListener('keydown', event => {
      if (event.key !== 'Escape') return
      event.preventDefault()
      close(conflict.path, notice)
    })

    const older = byPath.get(conflict.path)
    if (older) older.replaceWith(notice)
    else list.append(notice)
    byPath.set(conflict.path, notice)
  }

  const unsubscribe = conflicts.subscribe(show)
  return () => {
    unsubscribe()
    list.remove()
  }
}

/** The field a conflict path belongs to: itself (`exact`), or the nearest field above it. */
function fieldFor(
  fields: Readonly<Record<string, ConflictField>>,
  path: string,
): { field: ConflictField; exact: boolean } | undefined {
  const exact = fields[path]
  if (exact) return { field: exact, exact: true }
  let best: string | undefined
  for (const key of Object.keys(fields)) {
    if (key !== '' && path.startsWith(`${key}.`) && (best === undefined || key.length > best.length))
      best = key
  }
  const above = best === undefined ? undefined : fields[best]
  return above ? { field: above, exact: false } : undefined
}

/** A value as a short text for the notice. */
function describe(value: unknown): string {
  if (value === undefined) return '(none)'
  if (value === null || value === '') return '(empty)'
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? '(invalid date)' : value.toISOString().slice(0, 10)
  if (Array.isArray(value)) return value.length === 0 ? '(empty)' : value.map(v => describe(v)).join(', ')
  const text =
    typeof value === 'string'
      ? `“${value}”`
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value)
  return text.length > 60 ? `${text.slice(0, 59)}…` : text
}
