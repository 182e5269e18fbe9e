// The public API of @lensync/protocol, as an explicit list (sorted by module: biome's organizeImports).
export type { ClientWire } from './ClientWire.ts'
export { createClientWire } from './ClientWire.ts'
export type { Serializer } from './codec.ts'
export { defaultSerializer, findForbiddenKey, findForbiddenKeyInEncoded, isPlainObject } from './codec.ts'
export {
  CloseCodes,
  FORBIDDEN_KEYS,
  LATEST_PROTOCOL_VERSION,
  MAX_ENTITY_HANDLES,
  MAX_NAME_LENGTH,
  MAX_PATH_DEPTH,
  MAX_VALUE_DEPTH,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
} from './constants.ts'
export type {
  EncodedChangeBody,
  EncodedConflict,
  EncodedPresencePeer,
  EncodedSnapItem,
  RejectTarget,
} from './encode.ts'
export {
  encodeAck,
  encodeChange,
  encodeCollectionSnap,
  encodeEntitySnap,
  encodeError,
  encodeGone,
  encodePresenceGone,
  encodePresencePeer,
  encodePresenceSnap,
  encodeReauth,
  encodeReject,
  encodeWelcome,
  splitChange,
  splitGone,
} from './encode.ts'
export type { FrameDecoder } from './FrameDecoder.ts'
export { createFrameDecoder } from './FrameDecoder.ts'
export type {
  AckMessage,
  AuthMessage,
  ChangeMessage,
  ClientMessage,
  CollectionSnapMessage,
  ConflictPolicy,
  DelMessage,
  Encoded,
  EntitySnapMessage,
  ErrorCode,
  ErrorMessage,
  FieldConflict,
  FieldPath,
  FieldSet,
  GoneMessage,
  HelloMessage,
  Issue,
  OpId,
  PatchMessage,
  PresenceGoneMessage,
  PresenceJoinMessage,
  PresenceLeaveMessage,
  PresencePeer,
  PresencePeerMessage,
  PresenceSetMessage,
  PresenceSnapMessage,
  PutMessage,
  ReauthMessage,
  RejectCode,
  RejectMessage,
  ServerMessage,
  SnapItem,
  SubMessage,
  UnsubMessage,
  WelcomeMessage,
} from './messages.ts'
export type { ProtocolErrorCode, ProtocolErrorDetails } from './ProtocolError.ts'
export { ProtocolError } from './ProtocolError.ts'
export { parseClientMessage, parseFrame } from './parseClientMessage.ts'
export type { ParsedServerMessage } from './parseServerMessage.ts'
export { parseServerMessage } from './parseServerMessage.ts'
export type { FieldChange, FieldDiff } from './paths.ts'
export { applyFieldChanges, deepEqual, diffFields, setIn, unsetIn } from './paths.ts'
export type { CompactChange, CompactRender, ServerWire } from './ServerWire.ts'
export {
  compactBroadcast,
  compactChangeOf,
  createServerWire,
  negotiateVersion,
  renderCompactChange,
} from './ServerWire.ts'
export type { StandardResult, StandardSchemaV1 } from './standardSchema.ts'
export { isStandardSchema, plainIssues } from './standardSchema.ts'
export type { ValueProblem } from './valueShape.ts'
export { findValueProblem } from './valueShape.ts'
