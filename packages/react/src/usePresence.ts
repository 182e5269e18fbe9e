import {
  type Presence,
  type PresenceOptions,
  presence,
  type Session,
  type Socket,
} from '@lensync/sync-client'
import { useEffect, useState } from 'react'
import { ComponentPresence } from './ComponentPresence.ts'
import { acquire } from './syncRegistry.ts'

/**
 * Joins the presence room `room` over `target` while the component is
 * mounted (`presence()` of `@lensync/sync-client`): joined in an effect after
 * the first commit, left when the component unmounts or the socket or room
 * changes.
 *
 * StrictMode-safe: its simulated unmount/remount keeps the same room (the
 * leave waits a microtask and is called off by the remount), so the room is
 * joined once and the page still opens one WebSocket per socket — the room
 * rides the connection of the socket's syncs. Components asking for the same
 * room over the same socket share it (its state is the one set last).
 *
 * The returned room exists from the first render: `others` is empty until the
 * effect ran (and on the server). Its `self` belongs to the component: update
 * it (`room.self.update({ ...me, field: 'title' })`) and the room sends it,
 * throttled. Read `others` with {@link useValue} in the component that shows
 * them, so only that component re-renders when someone comes, goes or moves.
 *
 * `initial` and `options` are read when the room is joined; later values are
 * ignored (update `self` instead). Create the socket outside the component.
 *
 * @param target - A `Socket` (`websocket(url)`) or a `Session`.
 * @param room - The room's name, e.g. `'todo'` or `` `person/${id}` ``.
 * @param initial - My first state, e.g. `{ name, color }`.
 * @param options - `throttle` (ms, default 50), `serializer`, `timers`.
 * @returns The room: `self`, `others`, `joins`, `leaves`, `errors`, `stop()`.
 * @example
 * function Avatars({ room }: { room: Presence<Me> }) {
 *   const others = useValue(room.others)
 *   return <ul>{others.map(p => <li key={p.client} style={{ color: p.state.color }}>{p.state.name}</li>)}</ul>
 * }
 * function Header({ me }: { me: Me }) {
 *   const room = usePresence(socket, 'todo', me)
 *   return <Avatars room={room} />
 * }
 */
export function usePresence<P>(
  target: Socket | Session,
  room: string,
  initial: P,
  options?: PresenceOptions,
): Presence<P> {
  const [handle] = useState(() => new ComponentPresence<P>(initial))
  const [settings] = useState(() => options)
  useEffect(() => {
    handle.attach(
      acquire([usePresence, target, room], () => presence<P>(target, room, handle.self.current, settings)),
    )
    return () => handle.detach()
  }, [handle, target, room, settings])
  return handle
}
