// The observation API: what a socket, a sync and a presence room tell an
// inspector (`@lensync/devtools`) about themselves. Nothing here runs while
// nobody observes: a frame is only described (timed, measured) when an
// observer is subscribed, and connection states change a few times a session.
import type { ClientMessage, ParsedServerMessage } from '@lensync/protocol'
import { type ReadonlySignal, type Signal, signal } from '@lensync/store'
import { rethrowLater } from './cache/rethrowLater.ts'
import type { Peer, Presence } from './presence/types.ts'
import type { FieldStatus, Sync, SyncSource, SyncStatus } from './syncTypes.ts'

/** One WebSocket frame of a socket's shared sync connection, as {@link FrameObserver}s get it. */
export type Frame = OutgoingFrame | IncomingFrame

/** A frame this client sent (see {@link Frame}). */
export interface OutgoingFrame extends FrameBase {
  readonly direction: 'out'
  /**
   * The protocol messages in it, in version 1 shape, as this client wrote
   * them (whatever version the connection speaks: version 2's compact
   * envelopes name entities by per-connection handles, which only the
   * connection knows).
   */
  readonly messages?: readonly ClientMessage[]
}

/** A frame this client received (see {@link Frame}). */
export interface IncomingFrame extends FrameBase {
  readonly direction: 'in'
  /**
   * The protocol messages in it, in version 1 shape, each as the client's
   * checks read it (`ok: false` with the reason for one it skipped);
   * `undefined` for a binary frame or one that is not JSON.
   */
  readonly messages?: readonly ParsedServerMessage[] | undefined
}

/** What every {@link Frame} tells. */
export interface FrameBase {
  /** `out`: sent by this client; `in`: received from the server. */
  readonly direction: 'in' | 'out'
  /** When it was handed to the WebSocket or received, in ms since the epoch (`Date.now()`). */
  readonly time: number
  /** The text of a text frame (one protocol envelope or a JSON array of them); `undefined` for a binary frame. */
  readonly text: string | undefined
  /** Its size in bytes (UTF-8 for text). */
  readonly size: number
}

/** Receives every frame of a socket's sync connection while subscribed (see `socket.frames`). */
export type FrameObserver = (frame: Frame) => void

/**
 * Where a socket's shared sync connection stands: `idle` (no sync or room
 * uses the socket, so there is no connection), `connecting` (before the first
 * open), `ready` (open, `hello` sent), `offline` (dropped; reconnecting),
 * `refused` (closed with 4401/4403; no reconnect).
 */
export type ConnectionPhase = 'idle' | 'connecting' | 'ready' | 'offline' | 'refused'

/** A socket's shared sync connection, as `socket.connectionInfo` shows it. */
export interface ConnectionInfo {
  /** See {@link ConnectionPhase}. */
  readonly state: ConnectionPhase
  /** The URL of the current (or last) connection attempt; `undefined` while idle. */
  readonly url: string | undefined
  /** Connection attempts that ended since the connection was last ready (0 while ready). */
  readonly attempts: number
  /** How many times the connection became ready (so `opens - 1` reconnects). */
  readonly opens: number
  /** When `state` last changed, in ms since the epoch. */
  readonly since: number
}

/** One entity of a sync, as {@link inspectSync} shows it. */
export interface EntityInspection {
  /** The entity id. */
  readonly id: string
  /** The server revision this client knows of it (0: none yet). */
  readonly rev: number
  /** Its local changes not yet acknowledged. */
  readonly pending: number
  /** What the store shows of it: the server's value with the unacknowledged edits on top (`undefined` when deleted). */
  readonly value: unknown
  /**
   * The status of a field and everything below it (see `FieldStatus`).
   * @param path - Property names from the entity's root; `[]` for the whole entity.
   */
  fieldStatus(path: readonly string[]): FieldStatus
}

/** A point-in-time look at a `syncWith` or `syncList`, made by {@link inspectSync}. */
export interface SyncInspection {
  /** `entity` for `syncWith`, `list` for `syncList`. */
  readonly kind: 'entity' | 'list'
  /** The resource name. */
  readonly resource: string
  /** The entity id of a `syncWith`; `undefined` for a `syncList`. */
  readonly id: string | undefined
  readonly status: SyncStatus
  readonly source: SyncSource
  /** Local changes not yet acknowledged: the outbox size (`sync.pending`). */
  readonly pending: number
  /** The highest server revision the sync knows of its entities (0: none yet). */
  readonly revision: number
  /**
   * Its entities: the one of a `syncWith` first (then earlier ids whose edits
   * are still being sent), every item of a `syncList` in list order.
   */
  readonly entities: readonly EntityInspection[]
}

/** A point-in-time look at a presence room, made by {@link inspectRoom}. */
export interface RoomInspection {
  /** The room's name. */
  readonly room: string
  /** Where the room is with the server. */
  readonly phase: 'offline' | 'joining' | 'joined' | 'refused' | 'stopped'
  /** My state. */
  readonly self: unknown
  /** The other members, in joining order. */
  readonly others: readonly Peer<unknown>[]
}

/**
 * @internal
 * What a sync gives {@link inspectSync}; implemented by every sync of this package.
 */
export interface _Inspectable {
  _inspect(): SyncInspection | undefined
}

/**
 * @internal
 * What a presence room gives {@link inspectRoom}.
 */
export interface _InspectableRoom {
  _inspect(): RoomInspection | undefined
}

/**
 * A look at a sync now: its resource and id, status, source, revision,
 * outbox size, and each entity's value with per-field status. Values are
 * read at the call; call again (e.g. when a frame arrives or `pending`
 * changes) for newer ones. Costs nothing until called.
 *
 * @param sync - A sync made by `syncWith` or `syncList` of this package (or a wrapper
 *   that delegates, as `@lensync/react`'s hooks return).
 * @returns The inspection, or `undefined` for anything else.
 * @example
 * const look = inspectSync(sync)
 * look?.entities[0]?.fieldStatus(['name']) // 'pending' until acknowledged
 */
export function inspectSync(sync: Sync): SyncInspection | undefined {
  const inspectable = sync as Partial<_Inspectable>
  return typeof inspectable._inspect === 'function' ? inspectable._inspect() : undefined
}

/**
 * A look at a presence room now: its name, phase, my state and the members.
 *
 * @param room - A room made by `presence()` of this package.
 * @returns The inspection, or `undefined` for anything else.
 */
export function inspectRoom<P>(room: Presence<P>): RoomInspection | undefined {
  const inspectable = room as Partial<_InspectableRoom>
  return typeof inspectable._inspect === 'function' ? inspectable._inspect() : undefined
}

/** The UTF-8 length of `text`, without encoding it. */
function utf8Length(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4 // a surrogate pair: one code point of 4 bytes
      i++
    } else bytes += 3
  }
  return bytes
}

/**
 * @internal
 * A socket's observation point: the frame observers and the connection
 * info. The socket's shared sync connection reports to it; `observed` is the
 * one check a frame costs while nobody observes.
 */
export class _SocketMonitor {
  /** Whether a frame observer is subscribed. */
  observed = false
  readonly info: ReadonlySignal<ConnectionInfo>
  private readonly _info: Signal<ConnectionInfo>
  private readonly observers = new Set<FrameObserver>()

  constructor(private readonly now: () => number = () => Date.now()) {
    this._info = signal<ConnectionInfo>({
      state: 'idle',
      url: undefined,
      attempts: 0,
      opens: 0,
      since: now(),
    })
    this.info = this._info
  }

  /** Adds a frame observer. @returns Its disposer. */
  subscribe(observer: FrameObserver): () => void {
    // Each subscription is its own entry, so one observer subscribed twice needs two disposers.
    const entry: FrameObserver = frame => observer(frame)
    this.observers.add(entry)
    this.observed = true
    return () => {
      this.observers.delete(entry)
      this.observed = this.observers.size > 0
    }
  }

  /** A frame went out (call only when {@link observed}). */
  sent(text: string, messages: readonly ClientMessage[]): void {
    this.emit({ direction: 'out', time: this.now(), text, size: utf8Length(text), messages })
  }

  /** A frame came in, with its messages when it was read (call only when {@link observed}). */
  received(data: unknown, messages: readonly ParsedServerMessage[] | undefined): void {
    const text = typeof data === 'string' ? data : undefined
    const size =
      text !== undefined
        ? utf8Length(text)
        : data instanceof ArrayBuffer || ArrayBuffer.isView(data)
          ? data.byteLength
          : typeof Blob !== 'undefined' && data instanceof Blob
            ? data.size
            : 0
    this.emit({ direction: 'in', time: this.now(), text, size, messages })
  }

  private emit(frame: Frame): void {
    Object.freeze(frame)
    for (const observer of [...this.observers]) {
      try {
        observer(frame)
      } catch (error) {
        // An observer's bug must not stop the sync.
        rethrowLater(error)
      }
    }
  }

  /** The connection changed state (or, with `idle`, went away). */
  state(state: ConnectionPhase, url: string | undefined): void {
    const before = this._info.peek()
    this._info.value = {
      state,
      url,
      attempts: state === 'offline' ? before.attempts + 1 : state === 'refused' ? before.attempts : 0,
      opens: state === 'ready' ? before.opens + 1 : state === 'idle' ? 0 : before.opens,
      since: this.now(),
    }
  }
}
