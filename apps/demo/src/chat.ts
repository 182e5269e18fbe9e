import { storeOf } from '@lensync/store'
import { resource, type Sync, syncList } from '@lensync/sync-client'
import { socket } from './connection.ts'
import { h } from './dom.ts'

/** One chat line: a message, or a join/leave notice (as the Ktor and fritz2 chat samples). */
export type ChatMessage = {
  id: string
  user: string
  text: string
  kind: 'message' | 'join' | 'leave'
  at: Date
}

const MessageResource = resource<ChatMessage>({ name: 'chat-message', id: m => m.id })

function newId(): string {
  return `${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`
}

/** This tab's user name, kept across reloads of the tab. */
function userName(): string {
  const saved = sessionStorage.getItem('lensync-demo-user')
  if (saved) return saved
  const name = `guest-${crypto.randomUUID().slice(0, 4)}`
  sessionStorage.setItem('lensync-demo-user', name)
  return name
}

/** Mounts the chat room into `root`; returns its sync. */
export function mountChat(root: HTMLElement): Sync {
  const me = userName()
  const messages = storeOf<ChatMessage[]>([], { id: 'chat' })
  const sync = syncList(messages, socket, MessageResource)
  const post = messages.handle((list, line: Omit<ChatMessage, 'id' | 'at' | 'user'>) => [
    ...list,
    { id: newId(), user: me, at: new Date(), ...line },
  ])

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
    h('p', { class: 'me' }, 'You are ', h('strong', { 'data-testid': 'me' }, me)),
    log,
    form,
  )

  messages.data.subscribe(list => {
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4
    log.replaceChildren(
      ...[...list]
        .sort((a, b) => a.at.getTime() - b.at.getTime())
        .map(m =>
          m.kind === 'message'
            ? h(
                'li',
                { 'data-testid': 'chat-line' },
                h('span', { class: 'who' }, m.user),
                m.text,
                h('span', { class: 'at' }, m.at.toLocaleTimeString()),
              )
            : h(
                'li',
                { class: 'notice', 'data-testid': 'chat-notice' },
                `${m.user} ${m.kind === 'join' ? 'joined' : 'left'}`,
              ),
        ),
    )
    if (atBottom) log.scrollTop = log.scrollHeight
  })

  form.addEventListener('submit', event => {
    event.preventDefault()
    const text = input.value.trim()
    if (!text) return
    input.value = ''
    post({ kind: 'message', text })
  })
  // Announce once the history is in, so the notice lands after it.
  void sync.flush().then(
    () => post({ kind: 'join', text: '' }),
    () => {},
  )
  addEventListener('pagehide', () => post({ kind: 'leave', text: '' }))
  return sync
}
