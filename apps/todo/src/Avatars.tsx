import { useValue } from '@lensync/react'
import type { Presence } from '@lensync/sync-client'

/** What each tab tells the others in the todo room. */
export type Me = { name: string; color: string }

const COLORS = ['#e8590c', '#2f9e44', '#1971c2', '#9c36b5', '#c2255c', '#0c8599']

/** This browser's guest name and color, kept in localStorage. */
function guest(): Me {
  const saved = localStorage.getItem('lensync-todo-guest')
  if (saved) return JSON.parse(saved) as Me
  const me: Me = {
    name: `guest-${crypto.randomUUID().slice(0, 4)}`,
    color: COLORS[Math.floor(Math.random() * COLORS.length)] ?? '#1971c2',
  }
  localStorage.setItem('lensync-todo-guest', JSON.stringify(me))
  return me
}

/** This tab's state in the room. */
export const me = guest()

/** The others, re-rendered alone when someone comes, goes or changes. */
function Others({ room }: { room: Presence<Me> }) {
  const others = useValue(room.others)
  return (
    <span className="others" data-testid="avatars">
      {others.map(peer => (
        <span
          key={peer.client}
          className="avatar"
          data-testid="avatar"
          title={peer.state.name}
          style={{ background: peer.state.color }}
        >
          {peer.state.name
            .replace(/^guest-/, '')
            .slice(0, 2)
            .toUpperCase()}
        </span>
      ))}
    </span>
  )
}

/** Who is on the todo page: me, then the others in joining order (the room `App` joined over the page's socket). */
export function Avatars({ room }: { room: Presence<Me> }) {
  return (
    <div className="presence">
      <span
        className="avatar me"
        data-testid="my-avatar"
        title={`${me.name} (you)`}
        style={{ background: me.color }}
      >
        {me.name
          .replace(/^guest-/, '')
          .slice(0, 2)
          .toUpperCase()}
      </span>
      <Others room={room} />
    </div>
  )
}
