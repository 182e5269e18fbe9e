import { usePresence, useSyncList, useValue } from '@lensync/react'
import { type FormEvent, useState } from 'react'
import { Avatars, type Me, me } from './Avatars.tsx'
import { socket } from './connection.ts'
import { Indicator } from './Indicator.tsx'
import { InspectorButton } from './InspectorButton.tsx'
import { TodoItem } from './TodoItem.tsx'
import { addTodo, clearDone, type Filter, setAllDone, TodoResource, todos, visible } from './todos.ts'

const filters: readonly Filter[] = ['all', 'active', 'done']

/** The shared todo list: every tab that opens this page edits the same list. */
export function App() {
  const sync = useSyncList(todos, socket, TodoResource)
  // Who is on the page (the avatars), joined here so the inspector shows the room too.
  const room = usePresence<Me>(socket, 'todo', me)
  const list = useValue(todos)
  const [filter, setFilter] = useState<Filter>('all')
  const [text, setText] = useState('')

  const add = (event: FormEvent) => {
    event.preventDefault()
    const title = text.trim()
    if (!title) return
    addTodo(title)
    setText('')
  }
  const left = list.filter(t => !t.done).length
  const shown = visible(list, filter)

  return (
    <>
      <header className="top">
        <div className="brand">
          <strong>lensync</strong> <span>todos — open this page in two tabs</span>
        </div>
        <Avatars room={room} />
        <div className="tools">
          <Indicator sync={sync} />
          <InspectorButton sync={sync} room={room} />
        </div>
      </header>
      <main className="card">
        <form className="add" onSubmit={add}>
          <input
            type="checkbox"
            className="toggle-all"
            checked={list.length > 0 && left === 0}
            disabled={list.length === 0}
            onChange={e => setAllDone(e.target.checked)}
            aria-label="Mark all done"
            data-testid="toggle-all"
          />
          <input
            className="new"
            value={text}
            onChange={e => setText(e.target.value)}
            placeholder="What needs to be done?"
            autoComplete="off"
            aria-label="New todo"
            data-testid="new-todo"
          />
          <button type="submit" className="primary" data-testid="add-todo">
            Add
          </button>
        </form>
        <ul className="list" data-testid="todo-list">
          {shown.map(todo => (
            <TodoItem key={todo.id} todo={todo} />
          ))}
        </ul>
        {list.length === 0 && <p className="empty">Nothing to do. Add something above.</p>}
        <footer className="footer">
          <span data-testid="left">
            {left} {left === 1 ? 'item' : 'items'} left
          </span>
          <nav className="filters" aria-label="Filter">
            {filters.map(f => (
              <button
                key={f}
                type="button"
                className={f === filter ? 'selected' : ''}
                aria-pressed={f === filter}
                onClick={() => setFilter(f)}
                data-testid={`filter-${f}`}
              >
                {f}
              </button>
            ))}
          </nav>
          <button
            type="button"
            className="clear"
            onClick={clearDone}
            disabled={left === list.length}
            data-testid="clear-done"
          >
            Clear done
          </button>
        </footer>
      </main>
    </>
  )
}
