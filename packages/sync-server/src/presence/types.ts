import type { Logger, Timers } from '../types.ts'

/**
 * Who takes part in presence: one connection, known by the client id of its
 * `hello` (`socket.clientId` on the client: two tabs are two members). The
 * hub passes its own connection object, so {@link PresenceRoomsOptions.send}
 * gets it back; only `client` is read.
 */
export interface PresenceMember {
  /** The client id (`hello.client`); the same id on a new connection is the same member coming back. */
  readonly client: string
}

/** Sends one envelope's JSON text to a member's connection; must not throw. */
export type PresenceSend<M extends PresenceMember> = (member: M, text: string) => void

/**
 * Sends one envelope's JSON text to several members (a `ppeer`/`pgone`
 * fan-out), so a transport can encode it once. Optional: without it
 * {@link PresenceSend} is called per member.
 */
export type PresenceBroadcast<M extends PresenceMember> = (members: readonly M[], text: string) => void

/**
 * May `member` join `room`? The hub answers with its `authorize(principal,
 * { op: 'presence', resource: room })`. `false` (or a throw) → `reject FORBIDDEN`.
 */
export type PresenceAuthorize<M extends PresenceMember> = (
  member: M,
  room: string,
) => boolean | Promise<boolean>

/** The token bucket for `pset` per connection; updates over it are coalesced, never refused. */
export interface PresenceRateOptions {
  /** Updates per second a connection may send on. Default `40` (two rooms at the client's 50 ms throttle). */
  readonly perSecond?: number
  /** How many may go out at once. Default `80`. */
  readonly burst?: number
}

/** Options of {@link createPresenceRooms}. Only `send` is required. */
export interface PresenceRoomsOptions<M extends PresenceMember> {
  /** Sends an envelope to one member's connection (the hub queues it in its outbox). */
  send: PresenceSend<M>
  /** Sends one envelope to several members. Default: `send` to each. */
  broadcast?: PresenceBroadcast<M>
  /** Asked once per `pjoin` (not per `pset`); may be async. Default: everyone may join every room. */
  authorize?: PresenceAuthorize<M>
  /** How members of other server nodes are seen. Default {@link localPresenceBus} (one node). */
  bus?: PresenceBus
  /**
   * Milliseconds a member whose connection was lost without a close frame
   * stays in its rooms, so a reconnect within it re-joins without a leave
   * and join; with Redis also the bound within which a dead node's members
   * leave. Default `30_000`.
   */
  presenceTimeout?: number
  /** Largest state (UTF-8 bytes of its envelope's JSON text); larger → `reject TOO_LARGE`. Default `4096`. */
  maxPresenceBytes?: number
  /** Rooms one connection may be in at once; more → `reject RATE_LIMITED`. Default `100`. */
  maxRooms?: number
  /** The `pset` token bucket per connection, or `false` for none. Default `{ perSecond: 40, burst: 80 }`. */
  rate?: PresenceRateOptions | false
  /** Timers for `presenceTimeout` and coalesced updates. Default the global ones, looked up when used. */
  timers?: Timers
  /** The clock of the rate limit, in milliseconds. Default `performance.now`. */
  now?: () => number
  /** Where a failing `authorize` or bus is reported. Default `console`. */
  logger?: Logger
}

/** Codes a presence envelope is refused with (sent to the member as `reject { room, code }`). */
export type PresenceRejectCode = 'FORBIDDEN' | 'TOO_LARGE' | 'RATE_LIMITED' | 'BAD_FIELD'

/**
 * What became of one `pjoin`/`pset`/`pleave`; refusals are also sent to the
 * member as a `reject`, so the caller only needs this for counting.
 */
export type PresenceOutcome =
  /** Joined (or joined again): a `psnap` went to the member. */
  | { readonly kind: 'joined' }
  /** The new state went to the others. */
  | { readonly kind: 'updated' }
  /** Over the rate: the state is kept and goes to the others when the bucket allows. */
  | { readonly kind: 'coalesced' }
  /** The same state as before: nothing was sent. */
  | { readonly kind: 'unchanged' }
  /** Left the room: a `pgone` went to the others. */
  | { readonly kind: 'left' }
  /** Nothing to do: not in the room, or the connection is gone. */
  | { readonly kind: 'ignored' }
  /** Refused; the member got `reject { room, code, message }`. */
  | { readonly kind: 'rejected'; readonly code: PresenceRejectCode; readonly message: string }

/** How a connection ended, for {@link PresenceRooms.disconnect}. */
export interface PresenceDisconnect {
  /**
   * `true` when a close frame was received or sent (a tab closed, the server
   * closed it): the member leaves every room at once. `false` for a lost
   * connection (1006, ping timeout): it stays `presenceTimeout` for a reconnect.
   */
  readonly clean: boolean
}

/** A change of one member, as nodes tell each other. States are envelope JSON texts. */
export type PresenceBusEvent =
  | { readonly kind: 'join'; readonly room: string; readonly client: string; readonly state: string }
  | { readonly kind: 'set'; readonly room: string; readonly client: string; readonly state: string }
  | { readonly kind: 'leave'; readonly room: string; readonly client: string }

/** A member of another node, in a room's snapshot. */
export interface PresenceBusMember {
  readonly client: string
  /** The node the member is connected to. */
  readonly node: string
  /** The JSON text of its state's envelope. */
  readonly state: string
}

/** What a {@link PresenceBus} tells the rooms of its node. */
export interface PresenceBusListener {
  /**
   * The members of `room` on other nodes, in joining order: the answer to
   * `watch(room)`, and again whenever the bus may have missed events (after
   * its connection came back). The rooms reconcile their view with it.
   */
  snapshot(room: string, members: readonly PresenceBusMember[]): void
  /** A member of another node joined, changed or left a watched room. */
  event(node: string, event: PresenceBusEvent): void
  /** Another node is gone (its heartbeat stopped): its members leave every room. */
  nodeGone(node: string): void
}

/**
 * How the presence rooms of several server nodes see each other's members.
 * {@link localPresenceBus} is one node alone; {@link redisPresenceBus}
 * shares rooms through Redis.
 */
export interface PresenceBus {
  /** This node's id. */
  readonly node: string
  /**
   * Starts: called once by the rooms, with where to deliver and their
   * `presenceTimeout` (the bound for noticing a dead node). Resolves when
   * the bus follows the other nodes.
   */
  start(listener: PresenceBusListener, settings: { readonly presenceTimeout: number }): Promise<void>
  /**
   * A member of this node is in `room` now: deliver the room's current
   * members (through `listener.snapshot`) and, from then on, its events.
   * Resolves once the snapshot was delivered.
   */
  watch(room: string): Promise<void>
  /** No member of this node is in `room` any more: stop delivering its events. */
  unwatch(room: string): void
  /** Tells the other nodes about a member of this node (in order of the calls). */
  publish(event: PresenceBusEvent): void
  /** Stops following; this node's members are removed for the others. Idempotent. */
  close(): Promise<void>
}
