// The presence unit of the sync server, as an explicit list (the package's
// index re-exports the public part; parsePresenceMessage stays internal).
export { localPresenceBus } from './localPresenceBus.ts'
export { createPresenceRooms, PresenceRooms } from './PresenceRooms.ts'
export type { PresenceMessage } from './parsePresenceMessage.ts'
export { parsePresenceMessage } from './parsePresenceMessage.ts'
export { defaultPresenceOptions } from './presenceOptions.ts'
export type { RedisPresenceBusOptions } from './redisPresenceBus.ts'
export { defaultRedisPresenceBusOptions, redisPresenceBus } from './redisPresenceBus.ts'
export type {
  PresenceAuthorize,
  PresenceBroadcast,
  PresenceBus,
  PresenceBusEvent,
  PresenceBusListener,
  PresenceBusMember,
  PresenceDisconnect,
  PresenceMember,
  PresenceOutcome,
  PresenceRateOptions,
  PresenceRejectCode,
  PresenceRoomsOptions,
  PresenceSend,
} from './types.ts'
