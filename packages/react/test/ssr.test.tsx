import { useStore, useSyncList, useSyncWith, useValue } from '@lensync/react'
import { lenses, storeOf } from '@lensync/store'
import { websocket } from '@lensync/sync-client'
import { renderToString } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { type Person, PersonResource, person, type Todo, TodoResource } from './support.ts'

const L = lenses<Person>()

describe('server rendering', () => {
  it('renders the current values and starts no sync, no connection', () => {
    let constructed = 0
    class NoWebSocket {
      constructor() {
        constructed++
        throw new Error('no connection may be opened while rendering on the server')
      }
    }
    const socket = websocket('ws://127.0.0.1:1/sync', { WebSocket: NoWebSocket as never })
    const p = person('p-ssr', 'Ada', 36)
    const todos = storeOf<Todo[]>([{ id: 't1', title: 'Render me', done: true }])
    function App() {
      const sync = useSyncWith(p, socket, PersonResource)
      useSyncList(todos, socket, TodoResource)
      const status = useValue(sync.status)
      const [name] = useStore(p.map(L.name))
      const list = useValue(todos)
      return (
        <main>
          <span>{status}</span>
          <span>{name}</span>
          <ul>
            {list.map(t => (
              <li key={t.id}>{t.title}</li>
            ))}
          </ul>
        </main>
      )
    }
    const html = renderToString(<App />)
    expect(html).toBe('<main><span>connecting</span><span>Ada</span><ul><li>Render me</li></ul></main>')
    expect(constructed).toBe(0)
  })
})
