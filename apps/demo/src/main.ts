import { mountChat } from './chat.ts'
import { mountIndicator } from './indicator.ts'
import { mountPerson } from './person.ts'

const byId = (id: string) => document.getElementById(id) as HTMLElement

const syncs = [mountPerson(byId('person')), mountChat(byId('chat'))]
mountIndicator(document.querySelector('[data-testid="indicator"]') as HTMLElement, syncs)
