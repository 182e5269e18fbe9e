import type { HelloMessage, Serializer, StandardSchemaV1 } from '@lensync/protocol'
import type { PresenceBus, PresenceRateOptions } from '../presence/types.ts'
import type { RedisStorageOptions } from '../storage/redisStorage.ts'
import type { Storage } from '../storage/Storage.ts'
import type { AppOptions, Logger, Timers, WebSocketHandler } from '../types.ts'
import type { UpgradeRequest } from '../UpgradeRequest.ts'
import type { PrincipalPredicate } from './disconnectMatching.ts'
import type { ExpiringSession } from './SessionExpiry.ts'
import type { SharedFrame } from './SharedFrame.ts'
import type { SyncHub } from './SyncHub.ts'

/**
 * The hub's view of one connection: all it needs to talk to a client, so the
 * hub runs without a WebSocket (tests, other transports). `syncRoute`
 * adapts a `ServerSession` to it.
 */
export interface HubConnection {
  /** A unique id (for logs). */
  readonly id: string
  /** Sends one text frame; must not throw (a closed connection drops it). */
  send(text: string): void
  /**
   * Sends a frame that several connections get unchanged (a broadcast). The
   * transport may encode `frame.text` once and cache the result in
   * `frame.cache` for the others. Optional: without it `send(frame.text)`.
   */
  sendShared?(frame: SharedFrame): void
  /** Closes the connection with a close code and a reason. */
  close(code: number, reason: string): void
  /**
   * Bytes handed to the transport and not yet sent. Optional: the hub then
   * bounds only what it queues itself (see `maxBufferedBytes`).
   */
  bufferedAmount?(): number
  /** Resolves once what was handed to the transport is sent (backpressure for long snapshots). Optional. */
  drain?(): Promise<void>
}

/** What `authorize` is asked: may `principal` do `op` on the resource (and entity)? */
export interface AuthorizeRequest {
  /** `read` for a `sub`, `write` for `put`/`patch`, `delete` for `del`, `presence` for a `pjoin`. */
  readonly op: 'read' | 'write' | 'delete' | 'presence'
  /** The resource name; for `presence`, the room. */
  readonly resource: string
  /** The entity id; `undefined` for a collection subscription. */
  readonly id: string | undefined
  /**
   * `write` only: the field paths the write changes, as dotted strings with
   * a leading dot (`'.role'`, `'.address.street'`; `''` is the whole value),
   * for field-level permissions. A `patch` lists its `set` and `unset`
   * paths; a `put` lists the top-level fields of its value and those of the
   * stored value it removes (a value that is not a plain object: `['']`).
   * A `delete` has `[]` (deleting is decided by `op`); a `read`, `undefined`.
   * Refusing a write because of one field refuses the whole write
   * (`reject FORBIDDEN`); the client reverts it.
   */
  readonly paths?: readonly string[]
}

/** Per-resource configuration of the hub. */
export interface ResourceConfig {
  /**
   * Any Standard Schema v1 (zod, valibot, arktype …). Checked on every `put`
   * and on the merged result of every `patch`; a failure is rejected with
   * `VALIDATION_FAILED` and stored nowhere. The value stored is the one the
   * client sent (a schema's transformations are not applied).
   */
  readonly schema?: StandardSchemaV1
  /**
   * Called after each committed write of the resource (an audit log, an
   * e-mail, mirroring into another system), once per write across all
   * nodes: with shared storage the node that committed the write calls it.
   * Calls of one entity come one after the other in revision order (the
   * next waits for a returned promise); other entities' calls and the hub's
   * acks never wait for it. A throw or rejection is logged with the
   * resource, entity id and revision, and never undoes the write. On
   * `close()` the hub waits up to 5 s for queued calls; a call not made
   * when the process ends is not made later (at most once).
   */
  readonly onChange?: OnChange
}

/**
 * What a committed write did, as `onChange` gets it: a `put` (its whole new
 * value), a `patch` (`set`: the paths, dotted with a leading dot as in
 * `authorize`, and their new values, in the order sent; `unset`: the paths
 * removed), or a `delete`.
 */
export type EntityChange =
  | { readonly kind: 'put'; readonly value: unknown }
  | {
      readonly kind: 'patch'
      readonly set: readonly { readonly path: string; readonly value: unknown }[]
      readonly unset: readonly string[]
    }
  | { readonly kind: 'delete' }

/** What `resources.<name>.onChange` is called with, after the write was committed. */
export interface ChangeEvent {
  /** The resource name. */
  readonly resource: string
  /** The entity id. */
  readonly id: string
  /** The revision the write got. */
  readonly rev: number
  /** The entity's value after the write (decoded); `undefined` after a delete. */
  readonly value: unknown
  /** The entity's value before the write (decoded); `undefined` when it did not exist. */
  readonly previous: unknown
  /** What the write did. */
  readonly change: EntityChange
  /** The writer's principal (what `authenticate` returned; `undefined` without it). */
  readonly principal: unknown
}

/** `resources.<name>.onChange`: may be async; its result is awaited before the entity's next call. */
export type OnChange = (event: ChangeEvent) => void | PromiseLike<void>

/** A token bucket per connection for `sub`s and writes. */
export interface RateLimitOptions {
  /** Tokens added per second. Default `200`. */
  readonly perSecond?: number
  /** Bucket size: how many may come at once. Default `1000` (a page opening many syncs). */
  readonly burst?: number
  /** Consecutive `RATE_LIMITED` rejections after which the connection is closed with 1008. Default `100`. */
  readonly closeAfter?: number
}

/** How many unusable frames a connection may send before it is closed with 1008. */
export interface ErrorLimitOptions {
  /** The error that makes this many within `windowMs` closes the connection. Default `20`. */
  readonly count?: number
  /** The window in milliseconds. Default `10_000`. */
  readonly windowMs?: number
}

/**
 * Decides who a connection is. Gets the upgrade request (headers, cookies)
 * and the client's `hello` (with `token`). A principal (anything but `null`,
 * `false`, `undefined` or a `CloseReason`) lets the connection in; `null`,
 * `false` or `undefined` close it with 4401 (unauthenticated); a
 * `CloseReason` closes it with that code and message — e.g.
 * `new CloseReason(4403, 'Account suspended')` for a known user who may not
 * connect (clients do not retry 4401 and 4403).
 *
 * A session that expires: return `{ principal, expiresAt: Date }` (exactly
 * those two keys, see {@link ExpiringSession}). Before `expiresAt` — at
 * `min(30 s, a third of the remaining time)` before it — the client is sent
 * `reauth` and answers `auth { token }` with a fresh token; `authenticate` is
 * called again with the `hello` carrying that token. What it returns then
 * replaces the principal (with a new `expiresAt`, or none: the session no
 * longer expires); a refusal, a throw, or no accepted `auth` by `expiresAt`
 * closes the connection with 4401. An `expiresAt` already past closes it at once.
 */
export type Authenticate = (request: UpgradeRequest, hello: HelloMessage) => unknown

/** Decides whether `principal` may read, write or delete; may be async. */
export type Authorize = (principal: unknown, request: AuthorizeRequest) => boolean | Promise<boolean>

/** Options of `syncRoute` (and of the {@link SyncHub} behind it). All optional. */
export interface SyncRouteOptions {
  /** Where entities live. Default `sqliteStorage({ file: dataFile })`. */
  storage?: Storage
  /** The SQLite file when no `storage` is given. Default `'./data/lensync.db'`. */
  dataFile?: string
  /** Turns entity values into wire envelopes and back; must match the clients'. Default superjson's format. */
  serializer?: Serializer
  /** This server node's id, sent in `welcome`. Default a random id. */
  node?: string
  /** When set, the first envelope must be a `hello` this accepts; otherwise close 4401. May be async. */
  authenticate?: Authenticate
  /**
   * With `authenticate`: a client id belongs to the principal that first
   * used it (in a `hello`, or as a write's `client`); another principal
   * using it is refused (close 4403, or `reject FORBIDDEN` for a write).
   * This says when two principals are the same. Default: a string or number
   * principal is itself, an object with a string or number `id` is that
   * `id`, another object is its JSON.
   */
  principalKey?: (principal: unknown) => string
  /**
   * Who a writer is, in words a user reads: `by` in the conflicts of other
   * clients' acks ("your edit replaced Ada's newer value"). Called with the
   * principal of the writer's connection at each write (connections without
   * a principal — no `authenticate` — have no `by`); stored with the field
   * revisions, so it survives restarts and is seen by every node. A throw
   * or a non-string is logged and means no `by`. Default: none.
   *
   * @example
   * attribution: principal => (principal as User).name
   */
  attribution?: (principal: unknown) => string
  /** Asked on every `sub` and write; `false` → `reject FORBIDDEN`. May be async. Default: everything allowed. */
  authorize?: Authorize
  /** Per-resource configuration (schemas). */
  resources?: Readonly<Record<string, ResourceConfig>>
  /** Whether resources missing from `resources` are accepted. Default `true`; `false` → `reject FORBIDDEN`. */
  allowUnknownResources?: boolean
  /** Largest stored entity (JSON text of its envelope) in bytes; larger → `reject TOO_LARGE`. Default `1 << 19` (512 KiB). */
  maxEntityBytes?: number
  /** Entities per page of a collection snapshot. Default `500`. */
  snapshotPageSize?: number
  /**
   * Field changes (`set` plus `unset` entries) one `patch` may carry; more →
   * `reject TOO_LARGE` (send a `put`). Default `10_000`.
   */
  maxPatchEntries?: number
  /**
   * Bytes (characters of JSON text) the hub may hold for one connection: its
   * queued envelopes plus what the transport has not sent yet. Past it the
   * connection is a slow consumer: its queue is dropped and it is closed with
   * 1013. Default `4 << 20` (4 MiB), as the app's `maxBufferedBytes`.
   */
  maxBufferedBytes?: number
  /**
   * Largest frame the hub sends, in characters: envelopes queued together
   * are batched into JSON arrays of at most this size; a single envelope
   * larger than it (a snapshot page, a big entity) goes alone. Default `1 << 20`.
   */
  maxOutgoingFrameBytes?: number
  /** Subscriptions one connection may hold; more → `reject RATE_LIMITED`. Default `1000`. */
  maxSubscriptions?: number
  /** The token bucket for every envelope (a snapshot also costs a token per 64 KiB), or `false` for none. Default `{ perSecond: 200, burst: 1000, closeAfter: 100 }`. */
  rateLimit?: RateLimitOptions | false
  /** Unusable frames allowed before close 1008. Default `{ count: 20, windowMs: 10_000 }`. */
  maxErrors?: ErrorLimitOptions
  /**
   * Origins (`'https://app.example.com'`) allowed to connect. When set, a
   * connection whose `Origin` header is not listed is closed with 4403 right
   * after the handshake. A connection without an `Origin` header is not a
   * browser's (browsers always send one) and is let through: authenticate
   * such clients. Default: any origin.
   */
  allowedOrigins?: readonly string[]
  /** Entities whose last state the hub keeps in memory. Default `10_000`. */
  cacheSize?: number
  /**
   * With `authenticate`: milliseconds a connection may stay without an
   * accepted `hello`; then it is closed with 4401. Default `10_000`.
   */
  helloTimeout?: number
  /**
   * Milliseconds a deleted entity's tombstone is kept; older ones are
   * removed from storage (by every node, about hourly, in bounded batches),
   * so deleted entities stop taking space. A collection `sub` whose `since`
   * is older than the newest removed tombstone gets a full snapshot (its
   * pages marked `full`), never an incomplete one. `false` keeps tombstones
   * for ever. Default `30 * 86_400_000` (30 days).
   */
  tombstoneTtl?: number | false
  /**
   * Milliseconds a presence member whose connection was lost without a close
   * frame (1006, ping timeout) keeps its places, so a reconnect within it
   * re-joins without a leave; with Redis also the bound within which a dead
   * node's members leave. Default `30_000`.
   */
  presenceTimeout?: number
  /** Largest presence state (UTF-8 bytes of its envelope's JSON); larger → `reject TOO_LARGE`. Default `4096`. */
  maxPresenceBytes?: number
  /** Presence rooms one connection may be in at once; more → `reject RATE_LIMITED`. Default `100`. */
  maxPresenceRooms?: number
  /**
   * The `pset` token bucket per connection, or `false` for none; updates
   * over it are coalesced (the latest goes out when a token is there), never
   * refused. `pset` costs no `rateLimit` token; `pjoin` and `pleave` do.
   * Default `{ perSecond: 40, burst: 80 }`.
   */
  presenceRate?: PresenceRateOptions | false
  /**
   * How presence rooms of several nodes see each other. Default: this node
   * alone (`localPresenceBus`); `createSyncServer` with `redis` uses
   * `redisPresenceBus` on the same Redis and prefix.
   */
  presenceBus?: PresenceBus
  /** Where storage failures and misbehaving clients are reported. Default `console`. */
  logger?: Logger
  /** The clock for rate limits, in milliseconds. Default `performance.now`. */
  now?: () => number
  /**
   * The timers of the hub: the hello timeout, the wait of a closing
   * connection for its answers, the wait for the storage feed, and the
   * flush once per tick (`setImmediate`, or `setTimeout(…, 0)` without it).
   * Default the global ones.
   */
  timers?: Timers
}

/**
 * The handler `syncRoute` returns, for `app.webSocket(path, handler)`, with
 * its hub attached.
 */
export interface SyncRouteHandler extends WebSocketHandler {
  /** The hub serving this route. */
  readonly hub: SyncHub
  /**
   * Closes every connection of this route whose principal matches with 4403
   * and `reason` (see `SyncHub.disconnect`); this node only.
   *
   * @returns How many connections are being closed.
   */
  disconnect(predicate: PrincipalPredicate, reason?: string): number
  /**
   * Drains the hub (`hub.close()`: nothing more is accepted, accepted writes
   * are committed and acknowledged, then its sessions get 1001) and closes
   * the storage when the route opened it (no `storage` option). Idempotent.
   */
  close(): Promise<void>
}

/** Options of `createSyncServer`: where to listen, storage, and every `createApp` and `syncRoute` option. */
export interface SyncServerOptions extends AppOptions, Omit<SyncRouteOptions, 'logger'> {
  /** Port; `0` picks a free one. Default `8787`. */
  port?: number
  /** Interface. Default `'127.0.0.1'`. */
  host?: string
  /** The SQLite file. Default `'./data/lensync.db'`; `':memory:'` keeps nothing on disk. */
  dataFile?: string
  /** `true`: keep entities in memory only (`memoryStorage()`); nothing survives a restart. Default `false`. */
  memory?: boolean
  /** The sync route's path. Default `'/sync'`. */
  path?: string
  /**
   * Keep entities in Redis and fan changes out between every server node on
   * it: a URL (`'redis://127.0.0.1:6379'`) or `redisStorage` options.
   * `dataFile` and `memory` are then unused. Default: none (SQLite).
   */
  redis?: string | RedisStorageOptions
}

/** A running sync server made by `createSyncServer`. */
export interface SyncServer {
  /** The port actually bound. */
  readonly port: number
  /** The sync endpoint, e.g. `'ws://127.0.0.1:8787/sync'`. */
  readonly url: string
  /** This node's id (as in `welcome`). */
  readonly node: string
  /** The hub, e.g. for its `connections` count. */
  readonly hub: SyncHub
  /**
   * Revokes connections: closes every connection whose principal matches
   * with 4403 and `reason` (default `'Forbidden'`); this node only.
   *
   * @returns How many connections are being closed.
   * @example
   * server.disconnect(principal => principal.id === 'u1', 'revoked')
   */
  disconnect(predicate: PrincipalPredicate, reason?: string): number
  /**
   * Drains and stops: from the call on nothing more is accepted (envelopes
   * that arrive are ignored; clients resend what was not answered after they
   * reconnect), the writes already accepted are committed and acknowledged,
   * then every session is closed with 1001 and storage is closed. Idempotent.
   */
  close(): Promise<void>
}
