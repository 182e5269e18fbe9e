import {
  computed,
  createStream,
  type ReadonlySignal,
  type RootStore,
  type Stream,
  signal,
  storeOf,
} from '@lensync/store'
import {
  inspectRoom,
  type Peer,
  type Presence,
  type RoomInspection,
  type SyncError,
} from '@lensync/sync-client'
import type { Lease } from './syncRegistry.ts'

/** Where a component's room stands: not joined yet (first render, server), joined, or left. */
type Phase<P> =
  | { readonly kind: 'idle' }
  | { readonly kind: 'running'; readonly lease: Lease<Presence<P>>; readonly unfollow: () => void }
  | { readonly kind: 'stopped' }

const NOBODY: readonly Peer<never>[] = Object.freeze([])

/**
 * The `Presence` {@link usePresence} returns: it exists from the first render
 * (and on the server), before the effect that joins the room has run, and
 * follows whichever room the component holds — across StrictMode's simulated
 * remount and across a changed socket or room name. Its `self` is the
 * component's: every value of it is handed to the room it holds.
 *
 * @internal
 */
export class ComponentPresence<P> implements Presence<P> {
  readonly self: RootStore<P>
  readonly others: ReadonlySignal<readonly Peer<P>[]>
  readonly joins: Stream<Peer<P>>
  readonly leaves: Stream<Peer<P>>
  readonly errors: Stream<SyncError>

  private readonly phase = signal<Phase<P>>({ kind: 'idle' })
  private readonly emitJoin: (peer: Peer<P>) => void
  private readonly emitLeave: (peer: Peer<P>) => void
  private readonly emitError: (error: SyncError) => void
  private readonly ends: Array<() => void>

  constructor(initial: P) {
    this.self = storeOf(initial)
    const joins = createStream<Peer<P>>()
    const leaves = createStream<Peer<P>>()
    const errors = createStream<SyncError>()
    this.joins = joins.stream
    this.leaves = leaves.stream
    this.errors = errors.stream
    this.emitJoin = joins.emit
    this.emitLeave = leaves.emit
    this.emitError = errors.emit
    this.ends = [joins.end, leaves.end, errors.end]
    this.others = computed(() => {
      const phase = this.phase.value
      return phase.kind === 'running' ? phase.lease.running.others.value : NOBODY
    })
  }

  /** Follows the room of `lease` (the effect joined or re-claimed it). */
  attach(lease: Lease<Presence<P>>): void {
    this.detach()
    const room = lease.running
    const stops = [
      room.joins.subscribe(this.emitJoin),
      room.leaves.subscribe(this.emitLeave),
      room.errors.subscribe(this.emitError),
      // Called at once with the current value: the room gets this component's state.
      this.self.data.subscribe(value => room.self.update(value)),
    ]
    this.phase.value = {
      kind: 'running',
      lease,
      unfollow: () => {
        for (const stop of stops) stop()
      },
    }
  }

  /** Releases the room held (the effect's cleanup, or `stop()`). */
  detach(): void {
    const phase = this.phase.peek()
    if (phase.kind !== 'running') return
    phase.unfollow()
    phase.lease.release()
    this.phase.value = { kind: 'stopped' }
  }

  /**
   * What `inspectRoom` (and `@lensync/devtools`) shows: the room this component joined.
   * @internal
   */
  _inspect(): RoomInspection | undefined {
    const phase = this.phase.peek()
    return phase.kind === 'running' ? inspectRoom(phase.lease.running) : undefined
  }

  stop(): void {
    this.detach()
    this.phase.value = { kind: 'stopped' }
    for (const end of this.ends) end()
  }
}
