// The presence unit of the client, as an explicit list; the package's index
// re-exports `presence` and its public types.
export { _presenceOver, DEFAULT_PRESENCE_THROTTLE, presence } from './presence.ts'
export type {
  Peer,
  Presence,
  PresenceChannel,
  PresenceClientMessage,
  PresenceOptions,
  PresenceServerMessage,
} from './types.ts'
