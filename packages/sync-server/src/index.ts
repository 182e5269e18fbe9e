export { App } from './App.ts'
export type { CloseCodeName } from './CloseReason.ts'
export { CloseReason } from './CloseReason.ts'
export { createApp } from './createApp.ts'
export type { CreateSyncServerOptions } from './createSyncServer.ts'
export { createSyncServer } from './createSyncServer.ts'
export { binaryFrame, PreparedMessage, prepareMessage, textFrame } from './frame.ts'
export { createSyncHub } from './hub/createSyncHub.ts'
export type {
  EntityState,
  WriteConflict,
  WriteContext,
  WriteDecision,
  WriteLimits,
  WriteMessage,
  Writer,
} from './hub/decideWrite.ts'
export { decideWrite } from './hub/decideWrite.ts'
export type { PrincipalPredicate } from './hub/disconnectMatching.ts'
export type { FieldStamp } from './hub/fieldRevisions.ts'
export { HubClient } from './hub/HubClient.ts'
export type { ExpiringSession } from './hub/SessionExpiry.ts'
export { SharedFrame } from './hub/SharedFrame.ts'
export { SyncHub } from './hub/SyncHub.ts'
export { defaultSyncLimits } from './hub/syncOptions.ts'
export type {
  Authenticate,
  Authorize,
  AuthorizeRequest,
  ChangeEvent,
  EntityChange,
  ErrorLimitOptions,
  HubConnection,
  OnChange,
  RateLimitOptions,
  ResourceConfig,
  SyncRouteHandler,
  SyncRouteOptions,
  SyncServer,
  SyncServerOptions,
} from './hub/syncTypes.ts'
export { defaultAppOptions } from './options.ts'
export { localPresenceBus } from './presence/localPresenceBus.ts'
export { createPresenceRooms, PresenceRooms } from './presence/PresenceRooms.ts'
export { defaultPresenceOptions } from './presence/presenceOptions.ts'
export type { RedisPresenceBusOptions } from './presence/redisPresenceBus.ts'
export { defaultRedisPresenceBusOptions, redisPresenceBus } from './presence/redisPresenceBus.ts'
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
} from './presence/types.ts'
export type { ServerErrorCode, ServerErrorDetails } from './ServerError.ts'
export { ClosedReceiveError, ServerError } from './ServerError.ts'
export { ServerSession } from './ServerSession.ts'
export { sendMany } from './sendMany.ts'
export type { MemoryStorageOptions } from './storage/memoryStorage.ts'
export { memoryStorage } from './storage/memoryStorage.ts'
export type { PostgresStorageOptions } from './storage/postgresStorage.ts'
export { defaultPostgresStorageOptions, postgresStorage } from './storage/postgresStorage.ts'
export type { RedisStorageOptions } from './storage/redisStorage.ts'
export { defaultRedisStorageOptions, redisStorage } from './storage/redisStorage.ts'
export type {
  AppliedWrite,
  ChangeListener,
  CommitResult,
  CommittedChange,
  ListCursor,
  ListedEntity,
  ListOptions,
  ListPage,
  MaybePromise,
  Storage,
  StorageWrite,
  StoredEntity,
} from './storage/Storage.ts'
export type { SqliteStorageOptions } from './storage/sqliteStorage.ts'
export { DEFAULT_DATA_FILE, sqliteStorage } from './storage/sqliteStorage.ts'
export { syncRoute } from './syncRoute.ts'
export { testApplication } from './testApplication.ts'
export type {
  AppOptions,
  BinaryFrame,
  Frame,
  HttpContext,
  HttpHandler,
  HttpResponseInit,
  HttpResult,
  ListenAddress,
  ListenOptions,
  Logger,
  OutgoingData,
  ResolvedAppOptions,
  RouteParams,
  TestClient,
  TestConversation,
  TestHttpResponse,
  TestIncoming,
  TestOutgoing,
  TestWebSocketOptions,
  TextFrame,
  Timers,
  WebSocketHandler,
} from './types.ts'
export type { UpgradeRequest } from './UpgradeRequest.ts'
