import type { Store } from '@lensync/store'
import { type Resource, type Session, type Socket, type Sync, syncList } from '@lensync/sync-client'
import { useManagedSync } from './useManagedSync.ts'

/**
 * Keeps a list store equal to every entity of a resource (`syncList`) while
 * the component is mounted. Lifetime, sharing and StrictMode behave as in
 * {@link useSyncWith}: started in an effect, stopped on unmount, one sync per
 * store, socket and resource for the whole page.
 *
 * @param store - A `Store<T[]>`; items are keyed by `resource.id`.
 * @param target - A `Socket` (every sync over it shares one connection) or a `Session`.
 * @param resource - The resource of the items.
 * @returns The sync (`status`, `pending`, `errors`, `flush()`, `stop()`).
 * @example
 * const TodoResource = resource<Todo>({ name: 'todo', id: t => t.id })
 * const todos = storeOf<Todo[]>([])
 * const add = todos.handle((list, title: string) => [...list, { id: crypto.randomUUID(), title, done: false }])
 *
 * function TodoApp() {
 *   const sync = useSyncList(todos, socket, TodoResource)
 *   const list = useValue(todos)
 *   return (
 *     <>
 *       <Indicator sync={sync} />
 *       <ul>{list.map(t => <TodoItem key={t.id} todo={todos.mapByElement(t, t => t.id)} />)}</ul>
 *       <button onClick={() => add('New')}>Add</button>
 *     </>
 *   )
 * }
 */
export function useSyncList<T>(store: Store<T[]>, target: Socket | Session, resource: Resource<T>): Sync {
  return useManagedSync<Store<T[]>, T>(syncList, store, target, resource)
}
