// The public API, as an explicit list (kept sorted by module: biome's organizeImports).
export type { Serializer } from './codec.ts'
export { defaultSerializer, findForbiddenKey, findForbiddenKeyInEncoded, isPlainObject } from './codec.ts'
export type { ConnectionErrorCode, SendErrorCode } from './errors.ts'
export { ConnectionError, LensyncClientError, SendError } from './errors.ts'
export type { ParsedServerMessage } from './parseServerMessage.ts'
export { parseServerMessage } from './parseServerMessage.ts'
export type { FieldChange, FieldDiff } from './paths.ts'
export { applyFieldChanges, deepEqual, diffFields, getIn, setIn, unsetIn } from './paths.ts'
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
export {
  FORBIDDEN_KEYS,
  MAX_PATH_DEPTH,
  MAX_VALUE_DEPTH,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  SyncCloseCodes,
} from './protocol.ts'
export type { Resource, ResourceOptions } from './resource.ts'
export { resource } from './resource.ts'
export { Session } from './Session.ts'
export { Socket, websocket } from './Socket.ts'
export type { SyncErrorCode, SyncErrorDetails } from './SyncError.ts'
export { SyncError } from './SyncError.ts'
export type { StandardResult, StandardSchemaV1 } from './standardSchema.ts'
export { isStandardSchema, plainIssues } from './standardSchema.ts'
export { syncList } from './syncList.ts'
export type { Sync, SyncListOptions, SyncStatus } from './syncTypes.ts'
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
export type { ValueProblem } from './valueShape.ts'
export { findValueProblem } from './valueShape.ts'
