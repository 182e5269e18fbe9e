import { useStore } from '@lensync/react'
import { type KeyboardEvent, useState } from 'react'
import { removeTodo, T, type Todo, todoStore } from './todos.ts'

/**
 * One row. It reads its own sub-store (followed by id), so an edit of one item
 * re-renders that row only. Double-click the title to edit it; Enter or
 * leaving the field saves, Escape cancels.
 */
export function TodoItem({ todo: initial }: { todo: Todo }) {
  // One sub-store per row for its lifetime (the row is keyed by id).
  const [todo] = useState(() => todoStore(initial))
  const { id } = initial
  const [done, setDone] = useStore(todo.map(T.done))
  const [title, setTitle] = useStore(todo.map(T.title))
  const [draft, setDraft] = useState<string | null>(null)

  const save = () => {
    if (draft === null) return
    const text = draft.trim()
    setDraft(null)
    if (text === '') removeTodo(id)
    else if (text !== title) setTitle(text)
  }
  const onKey = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter') save()
    else if (event.key === 'Escape') setDraft(null)
  }

  return (
    <li className={done ? 'todo done' : 'todo'} data-testid="todo-item" data-done={done}>
      <input
        type="checkbox"
        className="toggle"
        checked={done}
        onChange={e => setDone(e.target.checked)}
        aria-label={`Mark "${title}" ${done ? 'not done' : 'done'}`}
        data-testid="todo-toggle"
      />
      {draft === null ? (
        <button
          type="button"
          className="title"
          onDoubleClick={() => setDraft(title)}
          title="Double-click to edit"
          data-testid="todo-title"
        >
          {title}
        </button>
      ) : (
        <input
          className="edit"
          value={draft}
          onChange={e => setDraft(e.target.value)}
          onKeyDown={onKey}
          onBlur={save}
          // biome-ignore lint/a11y/noAutofocus: the field appears because the user asked to edit
          autoFocus
          aria-label="Edit todo"
          data-testid="todo-edit"
        />
      )}
      <button
        type="button"
        className="delete"
        onClick={() => removeTodo(id)}
        aria-label={`Delete "${title}"`}
        data-testid="todo-delete"
      >
        ×
      </button>
    </li>
  )
}
