// Entity sync
export { syncWith } from './syncWith.ts'
export { syncList } from './syncList.ts'
export { resource } from './resource.ts'
export type { Resource, ResourceOptions } from './resource.ts'
export type { Sync, SyncStatus } from './syncTypes.ts'
export { SyncError } from './SyncError.ts'
export type { SyncErrorCode, SyncErrorDetails } from './SyncError.ts'
export { isStandardSchema, plainIssues } from './standardSchema.ts'
export type { StandardResult, StandardSchemaV1 } from './standardSchema.ts'

// Wire protocol (shared with @lensync/sync-server)
export { FORBIDDEN_KEYS, PROTOCOL_NAME, PROTOCOL_VERSION, SyncCloseCodes } from './protocol.ts'
export type {
  AckMessage,
  ChangeMessage,
  ClientMessage,
  CollectionSnapMessage,
  DelMessage,
  Encoded,
  EntitySnapMessage,
  ErrorCode,
  ErrorMessage,
  FieldPath,
  FieldSet,
  GoneMessage,
  HelloMessage,
  Issue,
  OpId,
  PatchMessage,
  PutMessage,
  RejectCode,
  RejectMessage,
  ServerMessage,
  SnapItem,
  SubMessage,
  UnsubMessage,
  WelcomeMessage,
} from './protocol.ts'
export { defaultSerializer, findForbiddenKey, findForbiddenKeyInEncoded, isPlainObject } from './codec.ts'
export type { Serializer } from './codec.ts'
export { applyFieldChanges, deepEqual, diffFields, getIn, setIn, unsetIn } from './paths.ts'
export type { FieldChange, FieldDiff } from './paths.ts'

// Transport (websocket, Socket, Session)
