// The public API, as an explicit list (kept sorted by module: biome's organizeImports).
// What users of the client need from the protocol: serializers and schemas
// for resource(), and the types SyncError carries. The rest of the protocol
// is @lensync/protocol's.
export type { Issue, OpId, Serializer, StandardSchemaV1 } from '@lensync/protocol'
export { defaultSerializer } from '@lensync/protocol'
export type { Conflict, OnConflict } from './Conflict.ts'
export type { IndexedDbCacheOptions } from './cache/IndexedDbCache.ts'
export { indexedDbCache } from './cache/IndexedDbCache.ts'
export type { MemoryCacheOptions } from './cache/MemoryCache.ts'
export { memoryCache } from './cache/MemoryCache.ts'
export type {
  BroadcastChannelConstructor,
  BroadcastChannelLike,
  CachedCollection,
  CachedEntity,
  CacheNotice,
  CacheState,
  CacheWriteResult,
  ClaimRule,
  CollectionUpdate,
  LockManagerLike,
  OutboxEntry,
  OutboxKind,
  OutboxQuery,
  SyncCache,
} from './cache/types.ts'
export type { ConnectionErrorCode, SendErrorCode } from './errors.ts'
export { ConnectionError, LensyncClientError, SendError } from './errors.ts'
export type { FieldRef } from './fieldPathOf.ts'
export type {
  ConnectionInfo,
  ConnectionPhase,
  EntityInspection,
  Frame,
  FrameBase,
  FrameObserver,
  IncomingFrame,
  OutgoingFrame,
  RoomInspection,
  SyncInspection,
} from './observation.ts'
export { inspectRoom, inspectSync } from './observation.ts'
export { presence } from './presence/presence.ts'
export type { Peer, Presence, PresenceOptions } from './presence/types.ts'
export type { Resource, ResourceOptions } from './resource.ts'
export { resource } from './resource.ts'
export { Session } from './Session.ts'
export { Socket, websocket } from './Socket.ts'
export type { SyncErrorCode, SyncErrorDetails } from './SyncError.ts'
export { SyncError } from './SyncError.ts'
export { syncList } from './syncList.ts'
export type {
  CachedSync,
  EntitySyncHandle,
  FieldStatus,
  ListSyncHandle,
  Sync,
  SyncListOptions,
  SyncSource,
  SyncStatus,
} from './syncTypes.ts'
export { syncWith } from './syncWith.ts'
export type {
  CloseOptions,
  ConnectOptions,
  MessageStream,
  ReconnectOptions,
  ResolvedReconnectOptions,
  SendData,
  SessionState,
  SocketOptions,
  Timers,
  Token,
  WebSocketConstructor,
  WebSocketLike,
  WebSocketOptions,
} from './types.ts'
export { undoManager } from './undoManager.ts'
export type { UndoManager, UndoManagerOptions } from './undoTypes.ts'
