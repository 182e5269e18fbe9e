import { defaultSerializer } from '@lensync/protocol'
// The presence unit is not re-exported by the package index until the hub
// routes presence envelopes to it; then this becomes '@lensync/sync-server'.
import {
  createPresenceRooms,
  type PresenceRooms,
  type PresenceRoomsOptions,
} from '../../src/presence/index.ts'

/** A fake connection: what it was sent, parsed. */
export interface FakeMember {
  readonly client: string
  readonly name: string
  readonly inbox: Array<{ t: string } & Record<string, unknown>>
}

let connections = 0

/** A connection of client `client` (a new object per call: a reconnect is a new connection). */
export function member(client: string): FakeMember {
  return { client, name: `${client}#${++connections}`, inbox: [] }
}

/** Takes (and clears) what `m` was sent. */
export function drain(m: FakeMember): Array<{ t: string } & Record<string, unknown>> {
  return m.inbox.splice(0)
}

/** A state's envelope, as the client's serializer makes it. */
export function state(value: unknown) {
  return defaultSerializer.serialize(value)
}

/** Rooms whose `send` files each envelope into the member's inbox. */
export function rooms(options: Partial<PresenceRoomsOptions<FakeMember>> = {}): PresenceRooms<FakeMember> {
  return createPresenceRooms<FakeMember>({
    send: (m, text) => void m.inbox.push(JSON.parse(text)),
    ...options,
  })
}
