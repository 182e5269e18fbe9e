import type { ReadonlySignal, Stream } from '@lensync/store'
import type {
  ConnectionPhase,
  FieldStatus,
  Peer,
  Socket,
  Sync,
  SyncError,
  SyncSource,
  SyncStatus,
} from '@lensync/sync-client'

/** The part of a presence room the inspector reads (any `presence()` room fits). */
export interface InspectedRoom {
  readonly others: ReadonlySignal<readonly Peer<unknown>[]>
  readonly errors: Stream<SyncError>
}

/** Options of {@link mountInspector}. */
export interface InspectorOptions {
  /** The socket whose shared connection is shown (state, URL, attempts, round-trip time, frames). */
  readonly socket: Socket
  /** The syncs to show (`syncWith`, `syncList`). Default none. */
  readonly syncs?: readonly Sync[]
  /** The presence rooms to show. Default none. */
  readonly rooms?: readonly InspectedRoom[]
  /** Open the panel at once. Default `false`: call `toggle()` or `open()`. */
  readonly open?: boolean
  /** The most frames the log keeps (the oldest drop out). Default `500`. */
  readonly maxFrames?: number
  /** The most errors and conflicts kept. Default `100`. */
  readonly maxEvents?: number
  /**
   * Runs a render soon; several changes in between make one render.
   * Default `requestAnimationFrame` (a timer where there is none).
   */
  readonly schedule?: (render: () => void) => void
  /** The clock of errors and conflicts, in ms since the epoch. Default `Date.now`. */
  readonly now?: () => number
  /** Called whenever the panel opens or closes (its close button and Escape included), e.g. to keep a toggle button in step. */
  readonly onOpenChange?: (open: boolean) => void
}

/** A mounted inspector, made by {@link mountInspector}. */
export interface Inspector {
  /** Whether the panel is shown. */
  readonly isOpen: boolean
  /** Shows the panel and moves the focus into it. */
  open(): void
  /** Hides the panel and gives the focus back to where it was before `open()`. */
  close(): void
  /** Opens a closed panel, closes an open one. @returns Whether it is open now. */
  toggle(): boolean
  /** Removes the panel and stops observing (every subscription ends). Idempotent. */
  unmount(): void
}

/** One protocol message of a logged frame, decoded with `@lensync/protocol`'s parsers. */
export interface LoggedMessage {
  /** The envelope type (`patch`, `ack`, …), or `?` when unreadable. */
  readonly type: string
  /** The resource, when the message names one. */
  readonly resource: string | undefined
  /** The entity id, when the message names one. */
  readonly id: string | undefined
  /** The presence room, for presence messages. */
  readonly room: string | undefined
  /** The op id of a write and of its answer. */
  readonly op: number | string | undefined
  /** One line: what it says (`person/p1 op 7 set .name`). */
  readonly summary: string
  /** The envelope as the parser rebuilt it (or as received, when it did not pass). */
  readonly body: unknown
  /** Why the protocol's parser refused it; `undefined` when it passed. */
  readonly problem: string | undefined
}

/** One frame of the log. */
export interface LoggedFrame {
  /** Its number in the log, from 1 (stays with it when older frames drop out). */
  readonly seq: number
  readonly direction: 'in' | 'out'
  /** When it was sent or received, in ms since the epoch. */
  readonly time: number
  /** Its size in bytes. */
  readonly size: number
  /** The messages it carries (several when the client batched them). */
  readonly messages: readonly LoggedMessage[]
}

/** Which frames the log shows: all the given conditions hold. */
export interface FrameFilter {
  /** Only frames with a message of this type. */
  readonly type?: string | undefined
  /** Only frames with a message about this resource (or presence room). */
  readonly resource?: string | undefined
  /** Only this direction. */
  readonly direction?: 'in' | 'out' | undefined
}

/** One node of a sync's value tree. */
export interface ValueNode {
  /** The property name or index (`''` for the root). */
  readonly key: string
  /** The store path, `.address.street`; `''` for the root. */
  readonly path: string
  /** `object` and `array` have children; `value` is a leaf. */
  readonly kind: 'object' | 'array' | 'value'
  /** A short text of the value (`"Ada"`, `36`, `{3}`, `[2]`). */
  readonly preview: string
  /** The field's status (it and everything below it). */
  readonly status: FieldStatus
  readonly children: readonly ValueNode[]
}

/** A sync as the panel lists it. */
export interface SyncView {
  /** `person/p1` for a `syncWith`, `todo/*` for a `syncList`. */
  readonly title: string
  readonly kind: 'entity' | 'list'
  readonly status: SyncStatus
  readonly source: SyncSource
  readonly revision: number
  /** Local changes not yet acknowledged. */
  readonly outbox: number
  /** The value: for a `syncWith` its entity; for a `syncList` one child per item, keyed by id. */
  readonly tree: ValueNode
}

/** A presence room as the panel lists it. */
export interface RoomView {
  readonly room: string
  readonly phase: string
  /** My state, as a short text. */
  readonly self: string
  /** The other members: client id and state, as a short text. */
  readonly members: readonly { readonly client: string; readonly state: string }[]
}

/** The connection as the panel shows it. */
export interface ConnectionView {
  readonly state: ConnectionPhase
  readonly url: string
  readonly clientId: string
  /** Failed attempts since it was last ready. */
  readonly attempts: number
  readonly opens: number
  /** The last round-trip time measured (a write to its answer, `hello` to `welcome`), in ms. */
  readonly rtt: number | undefined
  /** The median of the last round trips, in ms. */
  readonly rttMedian: number | undefined
}

/** An error or a conflict, as the panel lists it. */
export interface InspectorEvent {
  readonly kind: 'error' | 'conflict'
  readonly time: number
  /** What it is about: `person/p1`, or a room. */
  readonly subject: string
  /** `RATE_LIMITED: …` for an error; `.name: mine "A" → theirs "B" (theirs)` for a conflict. */
  readonly text: string
}

/** Everything the panel shows, derived from the observed inputs by {@link InspectorModel.state}. */
export interface InspectorState {
  readonly connection: ConnectionView
  readonly syncs: readonly SyncView[]
  readonly rooms: readonly RoomView[]
  /** Newest last. */
  readonly events: readonly InspectorEvent[]
  /** The frames the filter lets through, newest last. */
  readonly frames: readonly LoggedFrame[]
  /** Frames in the log, filtered or not. */
  readonly framesKept: number
  /** Frames seen since mounted (or cleared), including those dropped from the log. */
  readonly framesSeen: number
  readonly filter: FrameFilter
  /** The message types and resources the log holds, for the filter's choices. */
  readonly types: readonly string[]
  readonly resources: readonly string[]
}
