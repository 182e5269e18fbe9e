import { lenses, type Store, storeOf } from '@lensync/store'
import { resource } from '@lensync/sync-client'

/** One item of the shared list. `at` (creation time) gives every tab the same order. */
export type Todo = { id: string; title: string; done: boolean; at: number }

/** Which items the list shows. */
export type Filter = 'all' | 'active' | 'done'

export const TodoResource = resource<Todo>({ name: 'todo', id: t => t.id })

/** The whole list, synced with `useSyncList` in `App`. */
export const todos = storeOf<Todo[]>([], { id: 'todos' })

/** Typed field paths of a todo: `T.title`, `T.done`. */
export const T = lenses<Todo>()

const newId = (): string => `${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`

// Handlers are made once, here, not in components: plain functions with a stable identity.
export const addTodo = todos.handle((list, title: string) => [
  ...list,
  { id: newId(), title, done: false, at: Date.now() },
])
export const removeTodo = todos.handle((list, id: string) => list.filter(t => t.id !== id))
export const clearDone = todos.handle(list => list.filter(t => !t.done))
export const setAllDone = todos.handle((list, done: boolean) =>
  list.map(t => (t.done === done ? t : { ...t, done })),
)

/** The sub-store of one item, followed by id wherever it moves in the list. */
export const todoStore = (todo: Todo): Store<Todo> => todos.mapByElement(todo, t => t.id)

/** The items to show, oldest first (the same order in every tab). */
export function visible(list: readonly Todo[], filter: Filter): Todo[] {
  return list
    .filter(t => (filter === 'all' ? true : filter === 'done' ? t.done : !t.done))
    .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))
}
