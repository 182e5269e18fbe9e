import { effect, signal, storeOf } from '@lensync/store'
import { resource, type Sync, syncList } from '@lensync/sync-client'
import { socket } from './connection.ts'
import { h } from './dom.ts'
import type { Room } from './presence.ts'

/**
 * One chat message. (`kind` is always `'message'`; records stored by older
 * versions of the demo may say `'join'`/`'leave'` and are not shown: those
 * notices come from presence now.)
 */
export type ChatMessage = {
  id: string
  user: string
  text: string
  kind: 'message' | 'join' | 'leave'
  at: Date
}

/** A join/leave notice of this tab, from presence: shown here, never stored. */
type Notice = { user: string; joined: boolean; at: Date }

const MessageResource = resource<ChatMessage>({ name: 'chat-message', id: m => m.id })

function newId(): string {
  return `${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`
}

/**
 * Mounts the chat room into `root`: messages are a synced list; who joins
 * and leaves comes from the page's presence `room`. Returns its sync.
 */
export function mountChat(root: HTMLElement, room: Room): Sync {
  const messages = storeOf<ChatMessage[]>([], { id: 'chat' })
  const sync = syncList(messages, socket, MessageResource)
  const post = messages.handle((list, text: string) => [
    ...list,
    { id: newId(), user: room.self.current.name, at: new Date(), kind: 'message' as const, text },
  ])
  const notices = signal<readonly Notice[]>([])
  const notice = (user: string, joined: boolean) => {
    notices.value = [...notices.peek(), { user, joined, at: new Date() }]
  }
  room.joins.subscribe(peer => notice(peer.state.name, true))
  room.leaves.subscribe(peer => notice(peer.state.name, false))

  const me = h('strong', { 'data-testid': 'me' })
  const log = h('ul', { class: 'log', 'data-testid': 'chat-log' })
  const input = h('input', {
    class: 'compose-input',
    'data-testid': 'chat-input',
    placeholder: 'Say something…',
    autocomplete: 'off',
  })
  const send = h('button', { class: 'primary', 'data-testid': 'chat-send', type: 'submit' }, 'Send')
  const form = h('form', { class: 'compose' }, input, send)
  root.append(
    h('h2', {}, 'Chat room'),
    h('p', { class: 'hint' }, 'A synced list: every tab sees every message, late joiners see the history.'),
    h('p', { class: 'me' }, 'You are ', me),
    log,
    form,
  )

  effect(() => {
    me.textContent = room.self.data.value.name
  })
  effect(() => {
    const lines = [
      ...messages.data.value
        .filter(m => m.kind === 'message')
        .map(m => ({
          at: m.at,
          li: h(
            'li',
            { 'data-testid': 'chat-line' },
            h('span', { class: 'who' }, m.user),
            m.text,
            h('span', { class: 'at' }, m.at.toLocaleTimeString()),
          ),
        })),
      ...notices.value.map(n => ({
        at: n.at,
        li: h(
          'li',
          { class: 'notice', 'data-testid': 'chat-notice' },
          `${n.user} ${n.joined ? 'joined' : 'left'}`,
        ),
      })),
    ]
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4
    log.replaceChildren(...lines.sort((a, b) => a.at.getTime() - b.at.getTime()).map(line => line.li))
    if (atBottom) log.scrollTop = log.scrollHeight
  })

  form.addEventListener('submit', event => {
    event.preventDefault()
    const text = input.value.trim()
    if (!text) return
    input.value = ''
    post(text)
  })
  return sync
}
