import { formatLens, lenses, storeOf, validate } from '@lensync/store'
import { resource, type Sync, syncWith } from '@lensync/sync-client'
import { type ConflictField, mountConflictNotices } from './conflictNotices.ts'
import { socket } from './connection.ts'
import { bindInput, bindMessage, h } from './dom.ts'
import { fieldMarker } from './fieldMarker.ts'
import { bindFieldPresence, type Room } from './presence.ts'
import { undoControls } from './undoControls.ts'

/** The shared record both tabs edit. */
export type Person = { _id: string; name: string; age: number; birthday: Date | null; tags: string[] }

const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
const L = lenses<Person>()

// An <input type=number> shows a string; the store keeps a number. Empty or
// garbage text is NaN, which validation reports instead of silently writing 0.
const ageAsText = formatLens<number>(
  n => (Number.isNaN(n) ? '' : String(n)),
  s => (s.trim() === '' ? Number.NaN : Number(s)),
)
const dateAsText = formatLens<Date | null>(
  d => (d ? d.toISOString().slice(0, 10) : ''),
  s => (s ? new Date(`${s}T00:00:00.000Z`) : null),
)

/**
 * Mounts the person form into `root`: each field is outlined in the color of
 * whoever else in `room` is editing it and marked while this tab's edit of it
 * waits for the server; conflicts show as notices above the form. Returns its sync.
 */
export function mountPerson(root: HTMLElement, room: Room): Sync {
  const person = storeOf<Person>(
    { _id: 'demo-person', name: '', age: 0, birthday: null, tags: [] },
    { id: 'person' },
  )
  const sync = syncWith(person, socket, PersonResource)

  const checks = validate(person, (p, i) => {
    const messages: { path: string; text: string }[] = []
    if (p.name.trim() === '') messages.push({ path: i.map(L.name).path, text: 'Name is required' })
    if (!Number.isInteger(p.age) || p.age < 0 || p.age > 150)
      messages.push({ path: i.map(L.age).path, text: 'Age must be a whole number from 0 to 150' })
    if (p.birthday && p.birthday.getTime() > Date.now())
      messages.push({ path: i.map(L.birthday).path, text: 'Birthday cannot be in the future' })
    return messages
  })

  const name = h('input', { id: 'name', 'data-testid': 'name', autocomplete: 'off' })
  const age = h('input', { id: 'age', 'data-testid': 'age', type: 'number', min: '0', max: '150' })
  const birthday = h('input', { id: 'birthday', 'data-testid': 'birthday', type: 'date' })
  const tagInput = h('input', {
    id: 'tag',
    'data-testid': 'tag-input',
    placeholder: 'add a tag and press Enter',
  })
  const chips = h('div', { class: 'chips', 'data-testid': 'tags' })
  const undo = undoControls(root, sync)

  // `key` names the field in test ids (`name-marker`), `id` is its input's.
  const field = (label: string, key: string, id: string, input: HTMLElement, extra?: HTMLElement) => {
    const error = h('div', { class: 'error', 'data-testid': `${id}-error` })
    const marker = fieldMarker(`${key}-marker`, sync.fieldStatus(`.${key}`))
    const wrap = h(
      'div',
      { class: 'field' },
      h('div', { class: 'field-head' }, h('label', { for: id }, label), marker.el),
      ...(extra ? [extra] : []),
      input,
      error,
    )
    return { wrap, error }
  }
  const nameField = field('Name', 'name', 'name', name)
  const ageField = field('Age', 'age', 'age', age)
  const birthdayField = field('Birthday', 'birthday', 'birthday', birthday)
  const tagsField = field('Tags', 'tags', 'tag', tagInput, chips)
  const notices = h('div', { class: 'conflict-area' })

  root.append(
    h('h2', {}, 'Shared person'),
    h('p', { class: 'hint' }, 'Every tab edits the same record; edits of different fields merge.'),
    h(
      'p',
      { class: 'hint', 'data-testid': 'offline-hint' },
      'Works offline: stop the server, edit, even reload — the last values and your edits stay in this browser ' +
        '(IndexedDB), other tabs see them at once, and they go out when the server is back. ' +
        'The indicator counts the edits that wait.',
    ),
    notices,
    nameField.wrap,
    ageField.wrap,
    birthdayField.wrap,
    tagsField.wrap,
    h('div', { class: 'actions' }, ...undo.buttons),
  )

  const nameStore = person.map(L.name)
  const ageStore = person.map(L.age)
  const birthdayStore = person.map(L.birthday)
  const tagsStore = person.map(L.tags)
  bindInput(name, nameStore)
  bindInput(age, ageStore.map(ageAsText))
  bindInput(birthday, birthdayStore.map(dateAsText))
  bindMessage(nameField.error, nameField.wrap, checks.messagesFor(nameStore))
  bindMessage(ageField.error, ageField.wrap, checks.messagesFor(ageStore))
  bindMessage(birthdayField.error, birthdayField.wrap, checks.messagesFor(birthdayStore))
  bindFieldPresence(room, 'name', nameField.wrap)
  bindFieldPresence(room, 'age', ageField.wrap)
  bindFieldPresence(room, 'birthday', birthdayField.wrap)
  bindFieldPresence(room, 'tag', tagsField.wrap)

  // "Restore theirs" writes the other client's value back: an ordinary edit,
  // synced to every tab. Values of the wrong type (another app version) are ignored.
  const conflictFields: Record<string, ConflictField> = {
    [nameStore.path]: {
      label: 'Name',
      focusTarget: name,
      write: v => typeof v === 'string' && nameStore.update(v),
    },
    [ageStore.path]: {
      label: 'Age',
      focusTarget: age,
      write: v => typeof v === 'number' && ageStore.update(v),
    },
    [birthdayStore.path]: {
      label: 'Birthday',
      focusTarget: birthday,
      write: v => (v === null || v instanceof Date) && birthdayStore.update(v),
    },
    [tagsStore.path]: {
      label: 'Tags',
      focusTarget: tagInput,
      write: v => Array.isArray(v) && v.every(t => typeof t === 'string') && tagsStore.update(v),
    },
  }
  mountConflictNotices(notices, sync.conflicts, conflictFields)

  tagsStore.data.subscribe(tags => {
    chips.replaceChildren(
      ...tags.map(tag => {
        const remove = h('button', { type: 'button', title: `remove ${tag}` }, '×')
        remove.addEventListener('click', () => tagsStore.update(tagsStore.current.filter(t => t !== tag)))
        return h('span', { class: 'chip', 'data-testid': 'tag' }, tag, remove)
      }),
    )
  })
  tagInput.addEventListener('keydown', event => {
    if (event.key !== 'Enter') return
    const tag = tagInput.value.trim()
    tagInput.value = ''
    if (tag && !tagsStore.current.includes(tag)) tagsStore.update([...tagsStore.current, tag])
  })

  return sync
}
