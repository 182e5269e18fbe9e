import { effect } from '@lensync/store'
import { type Peer, type Presence, presence } from '@lensync/sync-client'
import { socket } from './connection.ts'
import { h } from './dom.ts'

/** What every tab tells the others: who it is, and the form field it is editing. */
export type Me = { name: string; color: string; field?: string }

/** The page's presence room. */
export type Room = Presence<Me>

const NAME_KEY = 'lensync-demo-name'
const COLOR_KEY = 'lensync-demo-color'
const COLORS = ['#e8590c', '#2f9e44', '#1971c2', '#9c36b5', '#c2255c', '#0c8599', '#f08c00', '#5f3dc4']

/** A value kept in localStorage, made on first use (a random guest name, a color). */
function kept(key: string, make: () => string): string {
  const saved = localStorage.getItem(key)
  if (saved) return saved
  const made = make()
  localStorage.setItem(key, made)
  return made
}

/**
 * Joins the page's presence room, over the page's one socket (the syncs'
 * connection): a random guest name and a color, both kept in localStorage.
 */
export function joinPresence(): Room {
  const name = kept(NAME_KEY, () => `guest-${crypto.randomUUID().slice(0, 4)}`)
  const color = kept(COLOR_KEY, () => COLORS[Math.floor(Math.random() * COLORS.length)] ?? '#1971c2')
  return presence<Me>(socket, 'demo', { name, color })
}

/** Changes my name (kept for the next visit); the others see it at once. */
export function rename(room: Room, name: string): void {
  const trimmed = name.trim()
  if (!trimmed) return
  localStorage.setItem(NAME_KEY, trimmed)
  room.self.update({ ...room.self.current, name: trimmed })
}

/** Says which field I am editing (`undefined`: none). */
export function editing(room: Room, field: string | undefined): void {
  const { field: _, ...rest } = room.self.current
  room.self.update(field === undefined ? rest : { ...rest, field })
}

function avatar(peer: Pick<Peer<Me>, 'state'>, testId: string): HTMLElement {
  const initial =
    peer.state.name
      .replace(/^guest-/, '')
      .slice(0, 1)
      .toUpperCase() || '?'
  return h(
    'span',
    { class: 'avatar', 'data-testid': testId, title: peer.state.name, style: `--peer: ${peer.state.color}` },
    h('span', { class: 'avatar-dot' }, initial),
    h('span', { class: 'avatar-name' }, peer.state.name),
  )
}

/**
 * The row of avatars: me (my name in a small input I can change) and the
 * others in joining order.
 * @returns A disposer.
 */
export function mountAvatars(root: HTMLElement, room: Room): () => void {
  const input = h('input', {
    class: 'my-name',
    'data-testid': 'my-name',
    'aria-label': 'Your name',
    maxlength: '40',
  })
  input.value = room.self.current.name
  input.addEventListener('change', () => {
    rename(room, input.value)
    input.value = room.self.current.name
  })
  const others = h('span', { class: 'others', 'data-testid': 'avatars' })
  const mine = h('span', { class: 'avatar me-avatar', 'data-testid': 'my-avatar' })
  root.append(mine, input, others)
  return effect(() => {
    const me = room.self.data.value
    mine.style.setProperty('--peer', me.color)
    mine.textContent =
      me.name
        .replace(/^guest-/, '')
        .slice(0, 1)
        .toUpperCase() || '?'
    others.replaceChildren(...room.others.value.map(peer => avatar(peer, 'avatar')))
  })
}

/**
 * Outlines `wrap` in the color of whoever else is editing `field`, with their
 * names beside it; tells the others when I focus or leave it.
 * @returns A disposer.
 */
export function bindFieldPresence(room: Room, field: string, wrap: HTMLElement): () => void {
  const names = h('span', { class: 'peer-names', 'data-testid': `${field}-peers` })
  const label = wrap.querySelector('label')
  if (label) label.after(names)
  else wrap.prepend(names)
  const onFocus = () => editing(room, field)
  const onBlur = (event: FocusEvent) => {
    // Moving between the parts of one field (the tag input and its chips) is not leaving it.
    if (event.relatedTarget instanceof Node && wrap.contains(event.relatedTarget)) return
    if (room.self.current.field === field) editing(room, undefined)
  }
  wrap.addEventListener('focusin', onFocus)
  wrap.addEventListener('focusout', onBlur)
  const dispose = effect(() => {
    const here = room.others.value.filter(peer => peer.state.field === field)
    const first = here[0]
    wrap.classList.toggle('peer-editing', first !== undefined)
    if (first) wrap.style.setProperty('--peer', first.state.color)
    else wrap.style.removeProperty('--peer')
    names.replaceChildren(
      ...here.map(peer =>
        h('span', { class: 'peer-name', style: `--peer: ${peer.state.color}` }, peer.state.name),
      ),
    )
  })
  return () => {
    wrap.removeEventListener('focusin', onFocus)
    wrap.removeEventListener('focusout', onBlur)
    dispose()
  }
}
