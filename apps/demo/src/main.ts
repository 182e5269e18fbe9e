import { mountChat } from './chat.ts'
import { mountIndicator } from './indicator.ts'
import { mountInspectorButton } from './inspector.ts'
import { mountPerson } from './person.ts'
import { joinPresence, mountAvatars } from './presence.ts'

const byId = (id: string) => document.getElementById(id) as HTMLElement

// Who is here and which field each of them edits; over the syncs' one WebSocket.
const room = joinPresence()
mountAvatars(byId('presence'), room)
const syncs = [mountPerson(byId('person'), room), mountChat(byId('chat'), room)]
mountIndicator(document.querySelector('[data-testid="indicator"]') as HTMLElement, syncs)
mountInspectorButton(document.querySelector('header.top') as HTMLElement, syncs, room)
