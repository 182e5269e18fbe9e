// The presence unit of the client, as an explicit list. The package's index
// re-exports `presence` and its types once presence rides the shared connection.
export { _presenceOver, DEFAULT_PRESENCE_THROTTLE, presence } from './presence.ts'
export type {
  Peer,
  Presence,
  PresenceChannel,
  PresenceClientMessage,
  PresenceOptions,
  PresenceServerMessage,
} from './types.ts'
