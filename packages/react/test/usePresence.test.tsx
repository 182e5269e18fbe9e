import './installDom.ts'
import { usePresence, useValue } from '@lensync/react'
import { type Peer, type Presence, presence } from '@lensync/sync-client'
import { act, render, screen, waitFor } from '@testing-library/react'
import { StrictMode } from 'react'
import { describe, expect, it } from 'vitest'
import { countingWebSocket, fixtures, testSocket } from './support.ts'

type Me = { name: string; field?: string }

const f = fixtures()

/** Another tab in the room, outside React. */
function otherTab(url: string, name: string): Presence<Me> {
  const room = presence<Me>(testSocket(url), 'todo', { name })
  f.cleanups.push(() => room.stop())
  return room
}

const names = (peers: readonly Peer<Me>[]) => peers.map(p => p.state.name).join(',')

function Avatars({ room, renders }: { room: Presence<Me>; renders?: string[] }) {
  const others = useValue(room.others)
  renders?.push('avatars')
  return <span data-testid="avatars">{names(others)}</span>
}

async function expectAvatars(text: string) {
  await waitFor(() => expect(screen.getByTestId('avatars').textContent).toBe(text))
}

describe('usePresence', () => {
  it('joins once under StrictMode, over the one WebSocket, and shows the others', async () => {
    const server = await f.server()
    const counting = countingWebSocket()
    const socket = testSocket(server.url, counting.WebSocket)
    const bob = otherTab(server.url, 'Bob')
    function App() {
      const room = usePresence<Me>(socket, 'todo', { name: 'Ada' })
      return <Avatars room={room} />
    }
    render(
      <StrictMode>
        <App />
      </StrictMode>,
    )
    await expectAvatars('Bob')
    await waitFor(() => expect(names(bob.others.value)).toBe('Ada'))
    expect(counting.sockets).toHaveLength(1)
    expect(counting.messages().filter(m => m.t === 'pjoin')).toEqual([
      { t: 'pjoin', room: 'todo', state: { json: { name: 'Ada' } } },
    ])
    expect(counting.messages().filter(m => m.t === 'pleave')).toEqual([])
  })

  it('leaves when the component unmounts, and the WebSocket closes', async () => {
    const server = await f.server()
    const counting = countingWebSocket()
    const socket = testSocket(server.url, counting.WebSocket)
    const bob = otherTab(server.url, 'Bob')
    const left: Peer<Me>[] = []
    bob.leaves.subscribe(peer => void left.push(peer))
    function App() {
      const room = usePresence<Me>(socket, 'todo', { name: 'Ada' })
      return <Avatars room={room} />
    }
    const { unmount } = render(<App />)
    await waitFor(() => expect(names(bob.others.value)).toBe('Ada'))
    unmount()
    await waitFor(() => expect(bob.others.value).toEqual([]))
    expect(left.map(p => p.state)).toEqual([{ name: 'Ada' }])
    await waitFor(() => expect(counting.sockets[0]?.readyState).toBe(WebSocket.CLOSED))
  })

  it('a change in others re-renders only the component that reads them', async () => {
    const server = await f.server()
    const socket = testSocket(server.url)
    const renders: string[] = []
    let handle: Presence<Me> | undefined
    function App() {
      const room = usePresence<Me>(socket, 'todo', { name: 'Ada' })
      handle = room
      renders.push('app')
      return <Avatars room={room} renders={renders} />
    }
    render(<App />)
    const bob = otherTab(server.url, 'Bob')
    await expectAvatars('Bob')
    renders.length = 0

    otherTab(server.url, 'Cy')
    await expectAvatars('Bob,Cy')
    bob.self.update({ name: 'Bob', field: 'title' })
    await waitFor(() => expect(handle?.others.value[0]?.state.field).toBe('title'))
    bob.stop()
    await expectAvatars('Cy')
    expect(renders.length).toBeGreaterThan(0)
    expect(renders.every(r => r === 'avatars')).toBe(true)
  })

  it("sends the component's self: an update reaches the others", async () => {
    const server = await f.server()
    const socket = testSocket(server.url)
    const bob = otherTab(server.url, 'Bob')
    let handle: Presence<Me> | undefined
    function App() {
      handle = usePresence<Me>(socket, 'todo', { name: 'Ada' })
      return <Avatars room={handle} />
    }
    render(<App />)
    await waitFor(() => expect(names(bob.others.value)).toBe('Ada'))
    act(() => handle?.self.update({ name: 'Ada', field: 'title' }))
    await waitFor(() => expect(bob.others.value[0]?.state).toEqual({ name: 'Ada', field: 'title' }))
  })

  it('shows nobody before the effect ran (first render, server)', () => {
    const socket = testSocket('ws://127.0.0.1:1/sync')
    const seen: string[] = []
    function App() {
      const room = usePresence<Me>(socket, 'todo', { name: 'Ada' })
      seen.push(names(room.others.peek()))
      return null
    }
    const { unmount } = render(<App />)
    expect(seen[0]).toBe('')
    unmount()
  })
})
