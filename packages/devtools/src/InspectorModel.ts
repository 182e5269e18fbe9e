import { createFrameDecoder } from '@lensync/protocol'
import type {
  Conflict,
  ConnectionInfo,
  Frame,
  RoomInspection,
  SyncError,
  SyncInspection,
} from '@lensync/sync-client'
import { DevtoolsError } from './DevtoolsError.ts'
import { decodeFrame, startsConnection } from './decodeFrame.ts'
import type {
  ConnectionView,
  FrameFilter,
  InspectorEvent,
  InspectorState,
  LoggedFrame,
  RoomView,
  SyncView,
  ValueNode,
} from './types.ts'
import { preview, valueTree } from './valueTree.ts'

/** Options of {@link createInspectorModel}. */
export interface InspectorModelOptions {
  /** The most frames the log keeps; the oldest drop out. Default `500`. */
  readonly maxFrames?: number
  /** The most errors and conflicts kept. Default `100`. */
  readonly maxEvents?: number
}

/** What the model reads at each {@link InspectorModel.state} call: the live inputs, looked at now. */
export interface InspectorInputs {
  /** `socket.connectionInfo.value`. */
  readonly connection: ConnectionInfo
  /** `socket.clientId`. */
  readonly clientId: string
  /** `inspectSync(sync)` of each sync (`undefined` entries are skipped). */
  readonly syncs: readonly (SyncInspection | undefined)[]
  /** `inspectRoom(room)` of each room (`undefined` entries are skipped). */
  readonly rooms: readonly (RoomInspection | undefined)[]
}

const modelDefaults = { maxFrames: 500, maxEvents: 100 }
/** Round trips the median is taken over. */
const RTT_SAMPLES = 20
/** Writes awaiting their answer that are remembered for the round-trip time. */
const MAX_OUTSTANDING = 1000

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1)
    throw new DevtoolsError('BAD_OPTION', `${name} must be a positive integer, got ${String(value)}`)
  return value
}

function subjectOf(resource: string | undefined, id: string | undefined): string {
  if (resource === undefined) return 'connection'
  return id === undefined ? resource : `${resource}/${id}`
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/**
 * Everything the inspector shows, as a pure model: it keeps the frame log
 * (bounded), the errors and conflicts (bounded), the round trips measured
 * from the frames, and the filter; {@link state} derives what the panel
 * lists from those and from inspections of the syncs and rooms taken now.
 * No DOM, no timers, no subscriptions: the mount feeds it, and tests can too.
 *
 * @example
 * const model = createInspectorModel({ maxFrames: 100 })
 * socket.frames(frame => model.addFrame(frame))
 * const state = model.state({ connection: socket.connectionInfo.value, clientId: socket.clientId,
 *   syncs: [inspectSync(sync)], rooms: [] })
 */
export class InspectorModel {
  private readonly maxFrames: number
  private readonly maxEvents: number
  private log: LoggedFrame[] = []
  private seen = 0
  private events: InspectorEvent[] = []
  private filter: FrameFilter = {}
  /** When each write (by op) and the `hello` went out, until answered. */
  private readonly outstanding = new Map<string, number>()
  private rtts: number[] = []
  private decoder = createFrameDecoder()

  /** Use {@link createInspectorModel}. */
  constructor(options: InspectorModelOptions = {}) {
    this.maxFrames = positiveInteger('maxFrames', options.maxFrames, modelDefaults.maxFrames)
    this.maxEvents = positiveInteger('maxEvents', options.maxEvents, modelDefaults.maxEvents)
  }

  /**
   * Logs a frame (decoded with the protocol's parsers) and measures round
   * trips: a write's `op` to its `ack`/`reject`, `hello` to `welcome`.
   * @param frame - As `socket.frames` delivered it.
   * @returns The logged frame.
   */
  addFrame(frame: Frame): LoggedFrame {
    // Version 2 envelopes refer to earlier frames of their connection: a new one starts afresh.
    if (startsConnection(frame)) this.decoder = createFrameDecoder()
    const logged = decodeFrame(frame, ++this.seen, this.decoder)
    this.log.push(logged)
    if (this.log.length > this.maxFrames) this.log.splice(0, this.log.length - this.maxFrames)
    for (const message of logged.messages) {
      if (frame.direction === 'out') {
        const key =
          message.type === 'hello' ? 'hello' : message.op === undefined ? undefined : `op:${message.op}`
        if (key === undefined) continue
        if (this.outstanding.size >= MAX_OUTSTANDING) {
          const oldest = this.outstanding.keys().next().value as string
          this.outstanding.delete(oldest)
        }
        this.outstanding.set(key, frame.time)
      } else {
        const key =
          message.type === 'welcome'
            ? 'hello'
            : (message.type === 'ack' || message.type === 'reject') && message.op !== undefined
              ? `op:${message.op}`
              : undefined
        const sentAt = key === undefined ? undefined : this.outstanding.get(key)
        if (key === undefined || sentAt === undefined) continue
        this.outstanding.delete(key)
        this.rtts.push(Math.max(0, frame.time - sentAt))
        if (this.rtts.length > RTT_SAMPLES) this.rtts.shift()
      }
    }
    return logged
  }

  /**
   * Lists an error of a sync or a room.
   * @param error - The `SyncError`.
   * @param time - When it was reported, ms since the epoch.
   * @param subject - What it is about when the error does not name a resource (a room).
   */
  addError(error: SyncError, time: number, subject?: string): void {
    this.pushEvent({
      kind: 'error',
      time,
      subject:
        error.resource === undefined && subject !== undefined ? subject : subjectOf(error.resource, error.id),
      text: `${error.code}: ${error.message}`,
    })
  }

  /**
   * Lists a conflict a sync reported.
   * @param conflict - As `sync.conflicts` emitted it.
   * @param time - When it was reported, ms since the epoch.
   * @param resource - The sync's resource name (the conflict names the entity).
   */
  addConflict(conflict: Conflict, time: number, resource: string): void {
    const by = conflict.by === undefined ? '' : ` by ${conflict.by}`
    this.pushEvent({
      kind: 'conflict',
      time,
      subject: subjectOf(resource, conflict.id),
      text: `${conflict.path}: mine ${preview(conflict.mine)}, theirs ${preview(conflict.theirs)}${by} at rev ${conflict.rev} → ${conflict.resolution}`,
    })
  }

  /** Sets which frames {@link state} lists (the log keeps them all). */
  setFilter(filter: FrameFilter): void {
    this.filter = { ...filter }
  }

  /** Empties the frame log and the events (the round trips measured stay). */
  clear(): void {
    this.log = []
    this.events = []
    this.seen = 0
  }

  /**
   * What the panel shows now.
   * @param inputs - The connection, the client id, and inspections of the syncs and rooms taken now.
   * @returns The state to render.
   */
  state(inputs: InspectorInputs): InspectorState {
    const types = new Set<string>()
    const resources = new Set<string>()
    for (const frame of this.log)
      for (const message of frame.messages) {
        types.add(message.type)
        const resource = message.resource ?? message.room
        if (resource !== undefined) resources.add(resource)
      }
    return {
      connection: this.connectionView(inputs),
      syncs: inputs.syncs.flatMap(sync => (sync ? [syncView(sync)] : [])),
      rooms: inputs.rooms.flatMap(room => (room ? [roomView(room)] : [])),
      events: [...this.events],
      frames: this.log.filter(frame => matches(frame, this.filter)),
      framesKept: this.log.length,
      framesSeen: this.seen,
      filter: this.filter,
      types: [...types].sort(),
      resources: [...resources].sort(),
    }
  }

  private connectionView(inputs: InspectorInputs): ConnectionView {
    const info = inputs.connection
    return {
      state: info.state,
      url: info.url ?? '',
      clientId: inputs.clientId,
      attempts: info.attempts,
      opens: info.opens,
      rtt: this.rtts.at(-1),
      rttMedian: median(this.rtts),
    }
  }

  private pushEvent(event: InspectorEvent): void {
    this.events.push(event)
    if (this.events.length > this.maxEvents) this.events.splice(0, this.events.length - this.maxEvents)
  }
}

/** Whether a frame passes the filter. */
function matches(frame: LoggedFrame, filter: FrameFilter): boolean {
  if (filter.direction !== undefined && frame.direction !== filter.direction) return false
  if (filter.type === undefined && filter.resource === undefined) return true
  return frame.messages.some(
    message =>
      (filter.type === undefined || message.type === filter.type) &&
      (filter.resource === undefined || (message.resource ?? message.room) === filter.resource),
  )
}

/**
 * A sync as the panel lists it: title, status, source, revision, outbox and
 * the value tree with per-field status (a list's items keyed by id).
 *
 * @param sync - An inspection of the sync.
 * @returns Its view.
 */
export function syncView(sync: SyncInspection): SyncView {
  let tree: ValueNode
  if (sync.kind === 'entity') {
    const entity = sync.entities[0]
    tree = entity
      ? valueTree(entity.value, path => entity.fieldStatus(path))
      : { key: '', path: '', kind: 'value', preview: 'undefined', status: 'synced', children: [] }
  } else {
    const children = sync.entities.map(entity =>
      valueTree(entity.value, path => entity.fieldStatus(path), entity.id, `[${entity.id}]`),
    )
    tree = {
      key: '',
      path: '',
      kind: 'array',
      preview: `[${children.length}]`,
      status: children.some(child => child.status === 'rejected')
        ? 'rejected'
        : children.some(child => child.status === 'pending')
          ? 'pending'
          : 'synced',
      children,
    }
  }
  return {
    title: sync.kind === 'entity' ? `${sync.resource}/${sync.id ?? '?'}` : `${sync.resource}/*`,
    kind: sync.kind,
    status: sync.status,
    source: sync.source,
    revision: sync.revision,
    outbox: sync.pending,
    tree,
  }
}

/**
 * A presence room as the panel lists it.
 * @param room - An inspection of the room.
 * @returns Its view.
 */
export function roomView(room: RoomInspection): RoomView {
  return {
    room: room.room,
    phase: room.phase,
    self: compact(room.self),
    members: room.others.map(peer => ({ client: peer.client, state: compact(peer.state) })),
  }
}

/** A one-line JSON-ish text of a small value. */
function compact(value: unknown): string {
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = preview(value)
  }
  return text.length > 120 ? `${text.slice(0, 119)}…` : text
}

/**
 * Makes an empty inspector model.
 * @param options - `maxFrames` (default 500) and `maxEvents` (default 100).
 * @returns The model.
 * @throws DevtoolsError `BAD_OPTION` for a bound that is not a positive integer.
 */
export function createInspectorModel(options: InspectorModelOptions = {}): InspectorModel {
  return new InspectorModel(options)
}
