import type {
  PresenceGoneMessage,
  PresenceJoinMessage,
  PresenceLeaveMessage,
  PresencePeerMessage,
  PresenceSetMessage,
  PresenceSnapMessage,
  RejectMessage,
  Serializer,
} from '@lensync/protocol'
import type { ReadonlySignal, RootStore, Stream } from '@lensync/store'
import type { SyncError } from '../SyncError.ts'
import type { Timers } from '../types.ts'

/** Another member of a presence room: its client id (one per tab) and its current state. */
export interface Peer<P> {
  readonly client: string
  readonly state: P
}

/** A presence room joined with {@link presence}. */
export interface Presence<P> {
  /** My state: update it like any store; changes are sent throttled, the last one always. */
  readonly self: RootStore<P>
  /** The other members (me excluded), in joining order. */
  readonly others: ReadonlySignal<readonly Peer<P>[]>
  /** A member joined (not emitted again for a member already shown, e.g. after a reconnect). */
  readonly joins: Stream<Peer<P>>
  /** A member left (stopped, closed, or silent past the server's `presenceTimeout`), with its last state. */
  readonly leaves: Stream<Peer<P>>
  /** Refusals: `FORBIDDEN`, `TOO_LARGE`, `RATE_LIMITED`, `BAD_FIELD`; `BAD_MESSAGE` for a state that cannot be decoded. */
  readonly errors: Stream<SyncError>
  /** Leaves the room now (`pleave`) and ends the streams. Idempotent. */
  stop(): void
}

/** Options of {@link presence}. */
export interface PresenceOptions {
  /**
   * Milliseconds between two updates sent for `self`: the first change goes
   * at once, later ones within the interval are merged and the latest is
   * sent when it ends. Default `50`.
   */
  throttle?: number
  /** Turns states into wire envelopes and back; must round-trip. Default superjson's format (`defaultSerializer`). */
  serializer?: Serializer
  /** Timers of the throttle. Default the socket's. */
  timers?: Timers
}

/** A client → server presence message. */
export type PresenceClientMessage = PresenceJoinMessage | PresenceSetMessage | PresenceLeaveMessage

/** A server → client message about a presence room (a `reject` with its `room`). */
export type PresenceServerMessage =
  | PresenceSnapMessage
  | PresencePeerMessage
  | PresenceGoneMessage
  | (RejectMessage & { readonly room: string })

/**
 * What a presence room needs from the connection it shares with the syncs:
 * a narrow view, so the room's logic runs (and is tested) without a socket.
 */
export interface PresenceChannel {
  /** This connection's client id (its `hello.client`): me, left out of `others`. */
  readonly clientId: string
  /** Whether the connection is open and `hello` went out: a join may be sent now. */
  readonly isOpen: boolean
  /** Sends a message; dropped while the connection is not open (the room joins again on open). */
  send(message: PresenceClientMessage): void
  /** Receives the presence messages of every room (checked by `parseServerMessage`). @returns A disposer. */
  onMessage(handler: (message: PresenceServerMessage) => void): () => void
  /** Called after every (re)open, once `hello` went out. @returns A disposer. */
  onOpen(handler: () => void): () => void
  /** The room is done with the channel (it may close when nobody uses it). */
  release(): void
}
