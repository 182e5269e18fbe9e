/**
 * The lensync sync protocol, version 1: the message shapes exchanged between
 * `@lensync/sync-client` and the sync hub of `@lensync/sync-server`.
 * The prose specification is `docs/protocol.md`; this file is its typed form.
 *
 * @packageDocumentation
 */

/**
 * A value on the wire: a superjson envelope. `meta` is absent for plain JSON
 * data (the fast path), present when Dates, Maps, Sets, BigInts, `undefined`
 * or non-finite numbers need to be restored.
 */
export interface Encoded {
  json: unknown
  meta?: unknown
}

/** A field path: property names from the entity root down to the changed field. */
export type FieldPath = readonly string[]

/** One field assignment of a `patch` or `change`: the path and its encoded new value. */
export type FieldSet = readonly [path: FieldPath, value: Encoded]

/** An operation id chosen by the client, unique per connection; echoed in `ack`/`reject`. */
export type OpId = number | string

/**
 * What the server does with a field of a write that conflicts (another
 * client wrote the field after the write's `base`): `'overwrite'` (the
 * default) applies it anyway and reports the conflict in the `ack`;
 * `'keep-theirs'` leaves the field as the other client wrote it.
 */
export type ConflictPolicy = 'overwrite' | 'keep-theirs'

/** Client → server: opens the conversation (required first when the server authenticates). */
export interface HelloMessage {
  t: 'hello'
  v: number
  client: string
  token?: string
}
/** Client → server: subscribe to one entity (`id` given) or a whole collection (`id` absent). */
export interface SubMessage {
  t: 'sub'
  r: string
  id?: string
  /** Collections only: send only what changed after this resource revision. */
  since?: number
}
/** Client → server: end a subscription made with the same `r`/`id`. */
export interface UnsubMessage {
  t: 'unsub'
  r: string
  id?: string
}
/** Client → server: replace an entity's whole value (`create: true`: only if it does not exist). */
export interface PutMessage {
  t: 'put'
  op: OpId
  r: string
  id: string
  value: Encoded
  create?: boolean
  /** The client id the write belongs to when it is not the connection's (a tab sending another tab's outbox). */
  client?: string
  /**
   * The entity revision the client's view had when the edit was made: the
   * server reports (and with `'keep-theirs'` skips) each field another
   * client wrote after it. Absent: no conflict detection.
   */
  base?: number
  /** What to do with a conflicting field. Absent: `'overwrite'`. */
  onConflict?: ConflictPolicy
}
/** Client → server: set and unset fields of an existing entity. */
export interface PatchMessage {
  t: 'patch'
  op: OpId
  r: string
  id: string
  set: FieldSet[]
  unset?: FieldPath[]
  /** As {@link PutMessage.client}. */
  client?: string
  /** As {@link PutMessage.base}. */
  base?: number
  /** As {@link PutMessage.onConflict}. */
  onConflict?: ConflictPolicy
}
/** Client → server: delete an entity (leaves a tombstone). */
export interface DelMessage {
  t: 'del'
  op: OpId
  r: string
  id: string
  /** As {@link PutMessage.client}. */
  client?: string
}
/** Client → server: join a presence room with this connection's state (or replace it, when joined). */
export interface PresenceJoinMessage {
  t: 'pjoin'
  room: string
  state: Encoded
}
/** Client → server: this connection's new state in a room it joined. */
export interface PresenceSetMessage {
  t: 'pset'
  room: string
  state: Encoded
}
/** Client → server: leave a presence room. */
export interface PresenceLeaveMessage {
  t: 'pleave'
  room: string
}
/** Client → server: a fresh credential, answering `reauth` (the session's previous one expires). */
export interface AuthMessage {
  t: 'auth'
  token: string
}
/** Every message a client may send. */
export type ClientMessage =
  | HelloMessage
  | SubMessage
  | UnsubMessage
  | PutMessage
  | PatchMessage
  | DelMessage
  | PresenceJoinMessage
  | PresenceSetMessage
  | PresenceLeaveMessage
  | AuthMessage

/** Server → client: answer to `hello`. */
export interface WelcomeMessage {
  t: 'welcome'
  v: number
  client: string
  node: string
}
/** One entity in a collection snapshot. */
export interface SnapItem {
  id: string
  rev: number
  value: Encoded
}
/** Server → client: the current state of one entity (`value: null` when absent or deleted). */
export interface EntitySnapMessage {
  t: 'snap'
  r: string
  id: string
  rev: number
  value: Encoded | null
}
/**
 * Server → client: the state of a collection, possibly in several pages
 * (`more: true` on every page but the last). `rev` is the resource revision
 * the snapshot is consistent with; use it as the next `since`.
 */
export interface CollectionSnapMessage {
  t: 'snap'
  r: string
  rev: number
  items: SnapItem[]
  gone: string[]
  more?: boolean
  /**
   * The client asked with a `since` older than the server still covers
   * (tombstones compacted): this is the whole collection, not what changed —
   * an entity the client holds that is in no page is gone.
   */
  full?: boolean
}
/**
 * Server → client: a write of this connection is stored at `rev`.
 * `applied: false`: it changed nothing now — a create-only put that found the
 * entity (its `snap` came just before), a write the server had already
 * applied (a resend after a lost ack; `rev` is the revision it was applied
 * at, and the client's subscription already shows its effect or a later one),
 * or a `'keep-theirs'` write whose every field conflicted (`conflicts` lists
 * them; `rev` is the entity's current revision).
 */
export interface AckMessage {
  t: 'ack'
  op: OpId
  rev: number
  applied?: boolean
  /** The fields of the write that met another client's newer write (only for a write sent with `base`). */
  conflicts?: FieldConflict[]
}
/**
 * One field of a write that another client wrote after the write's `base`
 * (the revision the writer's view had), as reported in its `ack`.
 */
export interface FieldConflict {
  /** The path the write set or unset (for a put: a top-level field, `[]` for a value that is not an object). */
  path: FieldPath
  /** The revision of the other client's write of that field (or of a field above or below it). */
  rev: number
  /** Who made it: the server's `attribution(principal)`, when it has one. */
  by?: string
  /** The field's value before this write (the other client's); `null` when it was absent. */
  theirs: Encoded | null
  /** Whether the write's value of the field was applied (`'overwrite'`) or not (`'keep-theirs'`). */
  applied: boolean
}
/** Server → client: another connection changed an entity. Either `value` (after a put) or `set`/`unset` (after a patch). */
export interface ChangeMessage {
  t: 'change'
  r: string
  id: string
  rev: number
  value?: Encoded
  set?: FieldSet[]
  unset?: FieldPath[]
}
/** Server → client: another connection deleted an entity. */
export interface GoneMessage {
  t: 'gone'
  r: string
  id: string
  rev: number
}
/** Codes of a `reject`: a write or subscription the server refused. */
export type RejectCode =
  | 'VALIDATION_FAILED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'TOO_LARGE'
  | 'RATE_LIMITED'
  | 'BAD_FIELD'
/** One validation issue, as in Standard Schema. */
export interface Issue {
  message: string
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>
}
/** Server → client: a write (`op`), a subscription (`r`/`id`) or a presence update (`room`) was refused. */
export interface RejectMessage {
  t: 'reject'
  op?: OpId
  r?: string
  id?: string
  /** The presence room of a refused `pjoin`/`pset`. */
  room?: string
  code: RejectCode
  message: string
  issues?: Issue[]
}
/** Codes of an `error`: a frame the server could not use at all. */
export type ErrorCode = 'BAD_FRAME' | 'UNKNOWN_TYPE' | 'BAD_FIELD'
/** Server → client: a frame was unusable and skipped; the connection stays open. */
export interface ErrorMessage {
  t: 'error'
  code: ErrorCode
  message: string
}
/** One member of a presence room: its client id and its current state. */
export interface PresencePeer {
  client: string
  state: Encoded
}
/** Server → client: the other members of a room this connection joined, in joining order. */
export interface PresenceSnapMessage {
  t: 'psnap'
  room: string
  peers: PresencePeer[]
}
/** Server → client: a member joined a room, or changed its state. */
export interface PresencePeerMessage {
  t: 'ppeer'
  room: string
  client: string
  state: Encoded
}
/** Server → client: a member left a room (stopped, closed, or silent past the server's `presenceTimeout`). */
export interface PresenceGoneMessage {
  t: 'pgone'
  room: string
  client: string
}
/**
 * Server → client: the session's credential expires at `expiresAt` (ms since
 * the epoch); answer with `auth` and a fresh token before then, or the
 * connection is closed with 4401.
 */
export interface ReauthMessage {
  t: 'reauth'
  expiresAt: number
}
/** Every message a server may send. */
export type ServerMessage =
  | WelcomeMessage
  | EntitySnapMessage
  | CollectionSnapMessage
  | AckMessage
  | ChangeMessage
  | GoneMessage
  | RejectMessage
  | ErrorMessage
  | PresenceSnapMessage
  | PresencePeerMessage
  | PresenceGoneMessage
  | ReauthMessage
