import './installDom.ts'
import { useStore, useSyncList, useSyncWith, useValue } from '@lensync/react'
import { lenses, type Store, storeOf } from '@lensync/store'
import { type Sync, syncWith } from '@lensync/sync-client'
import { act, render, screen, waitFor } from '@testing-library/react'
import { StrictMode } from 'react'
import { describe, expect, it } from 'vitest'
import {
  countingWebSocket,
  fixtures,
  type Person,
  PersonResource,
  person,
  type Todo,
  TodoResource,
  testSocket,
} from './support.ts'

const f = fixtures()
const L = lenses<Person>()

function Status({ sync, testId = 'status' }: { sync: Sync; testId?: string }) {
  const status = useValue(sync.status)
  const pending = useValue(sync.pending)
  return (
    <span data-testid={testId}>
      {status} {pending}
    </span>
  )
}

async function expectText(testId: string, text: string) {
  await waitFor(() => expect(screen.getByTestId(testId).textContent).toBe(text))
}

describe('useSyncWith / useSyncList', () => {
  it('opens one WebSocket under StrictMode for every sync of the page, and closes it on unmount', async () => {
    const server = await f.server()
    const counting = countingWebSocket()
    const socket = testSocket(server.url, counting.WebSocket)
    const p = person()
    const todos = storeOf<Todo[]>([{ id: 't1', title: 'Write tests', done: false }])
    let handle: Sync | undefined
    function App() {
      const personSync = useSyncWith(p, socket, PersonResource)
      const todoSync = useSyncList(todos, socket, TodoResource)
      handle = personSync
      return (
        <>
          <Status sync={personSync} testId="person" />
          <Status sync={todoSync} testId="todos" />
        </>
      )
    }
    const { unmount } = render(
      <StrictMode>
        <App />
      </StrictMode>,
    )
    await expectText('person', 'synced 0')
    await expectText('todos', 'synced 0')
    expect(counting.sockets).toHaveLength(1)
    // One subscription each: the simulated remount reused the running syncs.
    const subs = counting.messages().filter(m => m.t === 'sub')
    expect(subs.map(m => m.r).sort()).toEqual(['person', 'todo'])
    expect(server.hub.connections).toBe(1)

    unmount()
    await waitFor(() => expect(counting.sockets[0]?.readyState).toBe(WebSocket.CLOSED))
    expect(handle?.status.value).toBe('offline')
    const frames = counting.sent.length
    p.map(L.name).update('Edited after unmount')
    todos.update([])
    await Promise.resolve()
    await waitFor(() => expect(server.hub.connections).toBe(0))
    expect(counting.sent).toHaveLength(frames)
    expect(counting.sockets).toHaveLength(1)
  })

  it('starts in an effect: the first render shows connecting, flush() waits for the start', async () => {
    const server = await f.server()
    const socket = testSocket(server.url)
    const p = person('p-flush')
    const seen: string[] = []
    let flushed: Promise<void> | undefined
    function App() {
      const sync = useSyncWith(p, socket, PersonResource)
      seen.push(sync.status.peek())
      flushed ??= sync.flush()
      return <Status sync={sync} />
    }
    render(<App />)
    expect(seen[0]).toBe('connecting')
    await act(() => flushed)
    await expectText('status', 'synced 0')
  })

  it('stops the sync when the component unmounts: status offline, nothing sent any more', async () => {
    const server = await f.server()
    const counting = countingWebSocket()
    const socket = testSocket(server.url, counting.WebSocket)
    const p = person('p-unmount')
    let handle: Sync | undefined
    function Form() {
      handle = useSyncWith(p, socket, PersonResource)
      const [name, setName] = useStore(p.map(L.name))
      return <input data-testid="name" value={name} onChange={e => setName(e.target.value)} />
    }
    function Page({ show }: { show: boolean }) {
      return show ? <Form /> : <p>gone</p>
    }
    const { rerender } = render(<Page show />)
    await waitFor(() => expect(handle?.status.value).toBe('synced'))
    act(() => p.map(L.name).update('Sent'))
    await act(() => handle?.flush())

    rerender(<Page show={false} />)
    expect(handle?.status.value).toBe('offline')
    await expect(handle?.flush()).rejects.toMatchObject({ code: 'STOPPED' })
    await waitFor(() => expect(counting.sockets[0]?.readyState).toBe(WebSocket.CLOSED))
    const frames = counting.sent.length
    p.map(L.name).update('Not sent')
    await Promise.resolve()
    expect(counting.sent).toHaveLength(frames)

    // The server has the last edit made while mounted, not the one after.
    const other = storeOf<Person>({ _id: 'p-unmount', name: '', age: 0 })
    const probe = syncWith(other, testSocket(server.url), PersonResource)
    f.cleanups.push(() => probe.stop())
    await probe.flush()
    expect(other.current.name).toBe('Sent')
  })

  it('re-renders only the component whose slice a remote change touched', async () => {
    const server = await f.server()
    const socket = testSocket(server.url)
    const mine = person('p-remote', 'Ada', 36)
    const renders = { app: 0, name: 0, age: 0 }
    let handle: Sync | undefined
    function Name() {
      renders.name++
      return <span data-testid="name">{useValue(mine.map(L.name))}</span>
    }
    function Age() {
      renders.age++
      return <span data-testid="age">{useValue(mine.map(L.age))}</span>
    }
    function App() {
      renders.app++
      handle = useSyncWith(mine, socket, PersonResource)
      return (
        <>
          <Name />
          <Age />
        </>
      )
    }
    render(<App />)
    await waitFor(() => expect(handle?.status.value).toBe('synced'))

    // Another client (plain sync-client, no React) changes the age.
    const theirs = storeOf<Person>({ _id: 'p-remote', name: '', age: 0 })
    const other = syncWith(theirs, testSocket(server.url), PersonResource)
    f.cleanups.push(() => other.stop())
    await other.flush()
    expect(theirs.current).toEqual({ _id: 'p-remote', name: 'Ada', age: 36 })
    const before = { ...renders }
    theirs.map(L.age).update(37)
    await expectText('age', '37')
    expect(renders).toEqual({ app: before.app, name: before.name, age: before.age + 1 })

    theirs.map(L.name).update('Grace')
    await expectText('name', 'Grace')
    expect(renders).toEqual({ app: before.app, name: before.name + 1, age: before.age + 1 })
  })

  it('shares one sync between components asking for the same store, socket and resource', async () => {
    const server = await f.server()
    const counting = countingWebSocket()
    const socket = testSocket(server.url, counting.WebSocket)
    const p = person('p-shared')
    const handles: Sync[] = []
    function Part({ id }: { id: string }) {
      const sync = useSyncWith(p, socket, PersonResource)
      if (!handles.includes(sync)) handles.push(sync)
      return <Status sync={sync} testId={id} />
    }
    function Page({ both }: { both: boolean }) {
      return (
        <>
          <Part id="a" />
          {both && <Part id="b" />}
        </>
      )
    }
    const { rerender } = render(<Page both />)
    await expectText('a', 'synced 0')
    await expectText('b', 'synced 0')
    expect(counting.messages().filter(m => m.t === 'sub')).toHaveLength(1)

    // One of them unmounts: the other keeps syncing.
    rerender(<Page both={false} />)
    await Promise.resolve()
    expect(handles[1]?.status.value).toBe('offline')
    expect(handles[0]?.status.value).toBe('synced')
    expect(counting.messages().filter(m => m.t === 'unsub')).toHaveLength(0)
    act(() => p.map(L.age).update(50))
    await act(() => handles[0]?.flush())
    expect(counting.sockets).toHaveLength(1)
  })

  it('moves to a new sync when an argument changes, on the same WebSocket', async () => {
    const server = await f.server()
    const counting = countingWebSocket()
    const socket = testSocket(server.url, counting.WebSocket)
    const a = person('p-a', 'A')
    const b = person('p-b', 'B')
    function Form({ store }: { store: Store<Person> }) {
      const sync = useSyncWith(store, socket, PersonResource)
      const name = useValue(store.map(L.name))
      return (
        <>
          <Status sync={sync} />
          <span data-testid="name">{name}</span>
        </>
      )
    }
    const { rerender } = render(<Form store={a} />)
    await expectText('status', 'synced 0')
    rerender(<Form store={b} />)
    await expectText('name', 'B')
    await expectText('status', 'synced 0')
    const messages = counting.messages()
    expect(messages.filter(m => m.t === 'unsub').map(m => m.id)).toEqual(['p-a'])
    expect(messages.filter(m => m.t === 'sub').map(m => m.id)).toEqual(['p-a', 'p-b'])
    expect(counting.sockets).toHaveLength(1)
  })

  it('forwards the errors of the sync it holds', async () => {
    const server = await f.server()
    const socket = testSocket(server.url)
    const list = storeOf<Todo[]>([])
    let handle: Sync | undefined
    function App() {
      handle = useSyncList(list, socket, TodoResource)
      return null
    }
    render(<App />)
    await waitFor(() => expect(handle?.status.value).toBe('synced'))
    const codes: string[] = []
    const off = handle?.errors.subscribe(e => codes.push(e.code))
    // An item without a valid id is reported, not synced.
    list.update([{ id: '', title: 'no id', done: false }])
    await waitFor(() => expect(codes).toContain('BAD_MESSAGE'))
    off?.()
  })
})
