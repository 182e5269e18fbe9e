import { defaultSerializer, MAX_NAME_LENGTH } from '@lensync/protocol'
import { ConnectionError } from '../errors.ts'
import type { Session } from '../Session.ts'
import type { Socket } from '../Socket.ts'
import { connectionFor } from '../SyncConnection.ts'
import { PresenceRoom } from './PresenceRoom.ts'
import type { Presence, PresenceChannel, PresenceOptions } from './types.ts'

/** The default throttle of presence updates, in milliseconds. */
export const DEFAULT_PRESENCE_THROTTLE = 50

/**
 * Joins a presence room: who else is here, and what they are doing (a
 * cursor, the field they edit). Ephemeral — nothing is stored. My state is
 * `self`, a store: update it and the change is sent, throttled, the latest
 * one always. After a reconnect the room is joined again with the current
 * state; members who stayed are not reported as joining again.
 *
 * The room rides the socket's one shared connection, with its syncs: a page
 * with syncs and rooms over one socket opens one WebSocket. One room of a
 * name per socket at a time (the server knows one member per connection).
 *
 * @param socket - The socket (or session) whose shared connection presence rides.
 * @param room - The room's name, e.g. `'person/p1'` (the server's `authorize` gets it as `resource`).
 * @param initial - My first state.
 * @param options - `throttle` (ms, default 50), `serializer` (default superjson's format), `timers`.
 * @returns The room: `self`, `others`, `joins`, `leaves`, `errors`, `stop()`.
 * @throws ConnectionError `BAD_OPTION` for a bad room name or option, or a room of that name
 *   already joined over this socket.
 * @example
 * type Me = { name: string; color: string; field?: string }
 * const room = presence<Me>(socket, 'person/p1', { name: 'Ada', color: '#d33' })
 * input.onfocus = () => room.self.update({ ...room.self.current, field: 'name' })
 * effect(() => renderAvatars(room.others.value))
 */
export function presence<P>(
  socket: Socket | Session,
  room: string,
  initial: P,
  options: PresenceOptions = {},
): Presence<P> {
  const settings = resolve(socket, room, options)
  return new PresenceRoom<P>(connectionFor(socket).presence.acquire(room), room, initial, settings)
}

/**
 * @internal
 * {@link presence} over a given channel: the room's logic without a socket
 * (the room's unit tests).
 */
export function _presenceOver<P>(
  channel: PresenceChannel,
  room: string,
  initial: P,
  options: PresenceOptions = {},
): PresenceRoom<P> {
  return new PresenceRoom<P>(channel, room, initial, resolve(undefined, room, options))
}

function resolve(socket: Socket | Session | undefined, room: string, options: PresenceOptions) {
  if (typeof room !== 'string' || room === '' || room.length > MAX_NAME_LENGTH)
    throw bad(`presence(): room must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`)
  if (typeof options !== 'object' || options === null)
    throw bad('presence(): options must be an object such as { throttle: 50 }')
  const throttle = options.throttle ?? DEFAULT_PRESENCE_THROTTLE
  if (typeof throttle !== 'number' || !Number.isFinite(throttle) || throttle < 0)
    throw bad(`presence(): throttle must be a number of milliseconds >= 0, got ${String(throttle)}`)
  const serializer = options.serializer ?? defaultSerializer
  if (typeof serializer?.serialize !== 'function' || typeof serializer.deserialize !== 'function')
    throw bad('presence(): serializer must have serialize() and deserialize()')
  const socketTimers =
    socket === undefined ? undefined : 'options' in socket ? socket.options.timers : socket._options.timers
  const timers = options.timers ?? socketTimers ?? globalTimers
  if (typeof timers.setTimeout !== 'function' || typeof timers.clearTimeout !== 'function')
    throw bad('presence(): timers must have setTimeout and clearTimeout')
  return { throttle, serializer, timers }
}

// Looked up when used, so fake timers installed later still apply.
const globalTimers = {
  setTimeout: (callback: () => void, ms: number): unknown => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle: unknown): void => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
}

function bad(message: string): ConnectionError {
  return new ConnectionError('BAD_OPTION', message)
}
