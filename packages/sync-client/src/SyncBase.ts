import {
  type AckMessage,
  applyFieldChanges,
  type ChangeMessage,
  type Encoded,
  type FieldChange,
  findValueProblem,
  type Issue,
  MAX_VALUE_DEPTH,
  type OpId,
  plainIssues,
  type RejectMessage,
  type ServerMessage,
} from '@lensync/protocol'
import {
  computed,
  createStream,
  effect,
  type ReadonlySignal,
  type Signal,
  type Stream,
  signal,
} from '@lensync/store'
import { EntityReplica } from './EntityReplica.ts'
import { encodeWrite } from './encodeWrite.ts'
import type { Resource } from './resource.ts'
import type { SyncChannel, SyncConnection } from './SyncConnection.ts'
import { SyncError } from './SyncError.ts'
import type { Sync, SyncStatus } from './syncTypes.ts'

/** First delay before resending writes refused with `RATE_LIMITED`, in ms. */
const RETRY_MIN_DELAY = 100
/** Longest delay between resends of refused writes, in ms. */
const RETRY_MAX_DELAY = 5000

/**
 * What `syncWith` and `syncList` share: status, pending count, errors,
 * `flush()` and `stop()`, decoding and schema checks of incoming values.
 *
 * @internal
 */
export abstract class SyncBase<T> implements Sync, SyncChannel {
  readonly status: ReadonlySignal<SyncStatus>
  readonly pending: ReadonlySignal<number>
  readonly errors: Stream<SyncError>
  abstract readonly entityId: string | undefined

  protected readonly _pending: Signal<number> = signal(0)
  protected readonly subscribed: Signal<boolean> = signal(false)
  protected readonly stopped: Signal<boolean> = signal(false)
  private readonly emitError: (error: SyncError) => void
  private readonly waiters = new Set<{ resolve: () => void; reject: (e: SyncError) => void }>()
  /** A 4401/4403 close: the connection does not come back. */
  private readonly connectionRefusal: Signal<SyncError | undefined> = signal(undefined)
  /** A refused subscription (`reject` without op); it ends when the sync moves on to another id. */
  private readonly subscriptionRefusal: Signal<SyncError | undefined> = signal(undefined)
  private pushScheduled = false
  /** While set, writes wait: the server refused one with `RATE_LIMITED`. */
  private retryTimer: unknown = undefined
  private retryAttempt = 0
  /** The replica each write on the current connection came from, by op. */
  private readonly routes = new Map<OpId, EntityReplica>()

  constructor(
    protected readonly connection: SyncConnection,
    protected readonly resourceDef: Resource<T>,
  ) {
    const { stream, emit } = createStream<SyncError>()
    this.errors = stream
    this.emitError = emit
    this.pending = this._pending
    this.status = computed<SyncStatus>(() => {
      if (this.stopped.value || this.connectionRefusal.value || this.subscriptionRefusal.value)
        return 'offline'
      const state = this.connection.state.value
      if (state === 'connecting') return 'connecting'
      if (state !== 'ready') return 'offline'
      return !this.subscribed.value || this._pending.value > 0 ? 'syncing' : 'synced'
    })
  }

  /** The resource name. */
  get resource(): string {
    return this.resourceDef.name
  }

  flush(): Promise<void> {
    if (this.stopped.peek()) return Promise.reject(new SyncError('STOPPED', 'flush(): the sync was stopped'))
    const refusal = this.connectionRefusal.peek() ?? this.subscriptionRefusal.peek()
    if (refusal) return Promise.reject(refusal)
    if (this.status.peek() === 'synced') return Promise.resolve()
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject }
      this.waiters.add(waiter)
      const dispose = effect(() => {
        if (this.status.value !== 'synced') return
        queueMicrotask(() => dispose())
        this.waiters.delete(waiter)
        resolve()
      })
    })
  }

  stop(): void {
    if (this.stopped.peek()) return
    this.stopped.value = true
    if (this.retryTimer !== undefined) this.connection.timers.clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    this.detachAll()
    this.rejectWaiters(new SyncError('STOPPED', 'The sync was stopped'))
  }

  /** Sends what is unsent, if the connection is ready. */
  protected abstract push(): void

  /** Pushes once at the end of this tick, so edits made in one tick leave together. */
  protected schedulePush(): void {
    if (this.pushScheduled) return
    this.pushScheduled = true
    queueMicrotask(() => {
      this.pushScheduled = false
      this.push()
    })
  }

  /** Whether writes are held back after a `RATE_LIMITED` refusal (push() sends nothing meanwhile). */
  protected get holding(): boolean {
    return this.retryTimer !== undefined
  }

  /**
   * A write was refused with `RATE_LIMITED`: its changes stay pending (the
   * replica unsent them) and go out again after a delay that doubles while
   * refusals go on (100 ms up to 5 s). The first refusal of a run is
   * reported on `errors`.
   */
  protected retryLater(message: RejectMessage, id: string): void {
    if (this.retryTimer !== undefined) return
    if (this.retryAttempt === 0) this.reportReject(message, id)
    const delay = Math.min(RETRY_MAX_DELAY, RETRY_MIN_DELAY * 2 ** this.retryAttempt++)
    this.retryTimer = this.connection.timers.setTimeout(() => {
      this.retryTimer = undefined
      this.push()
    }, delay)
  }

  /** An acknowledged write ends a run of `RATE_LIMITED` refusals. */
  protected accepted(): void {
    this.retryAttempt = 0
  }

  /**
   * Applies a remote `change` to a replica after decoding it and checking the
   * resulting value against the schema.
   * @returns true when applied; false when stale or skipped (and reported).
   */
  protected applyRemoteChange(replica: EntityReplica, message: ChangeMessage): boolean {
    if (message.rev <= replica.rev) return false
    if (message.set !== undefined || message.unset !== undefined) {
      const set: FieldChange[] = []
      for (const [path, encoded] of message.set ?? []) {
        const decoded = this.decode(encoded, message.id)
        if (!decoded) return false
        set.push([path, decoded.value])
      }
      const unset = message.unset ?? []
      if (!this.valid(applyFieldChanges(replica.confirmed, set, unset), message.id)) return false
      return replica.applyChange(message.rev, { set, unset })
    }
    if (message.value === undefined) return false
    const decoded = this.decode(message.value, message.id)
    if (!decoded || !this.valid(decoded.value, message.id)) return false
    return replica.applyChange(message.rev, { value: decoded.value })
  }

  /**
   * A replica of this sync whose writes are made under the connection's
   * client id, with op ids from its sequence.
   */
  protected makeReplica(
    id: string,
    initial: unknown,
    origin: 'offer' | 'added' | 'remote' = 'offer',
  ): EntityReplica {
    const connection = this.connection
    return new EntityReplica(id, initial, origin, () => ({
      client: connection.clientId,
      op: connection.nextOp(),
    }))
  }

  /**
   * Sends a replica's unsent writes: those sent before the connection
   * dropped first (the same message again: same op, same content), in order.
   */
  protected sendFrom(replica: EntityReplica): void {
    for (;;) {
      const write = replica.nextWrite()
      if (!write) return
      write.wire ??= encodeWrite(
        write,
        { r: this.resource, id: replica.id, connectionClient: this.connection.clientId },
        value => this.encode(value),
      )
      this.routes.set(write.op, replica)
      this.connection.send(this, write.wire)
    }
  }

  /**
   * The one way an answer to a write (`ack`, or `reject` with an op) is
   * handled, for every kind of sync: found by its op, applied to its
   * replica, then {@link answered} lets the sync show the result.
   */
  protected answer(message: AckMessage | RejectMessage): void {
    if (message.op === undefined) return
    const replica = this.routes.get(message.op)
    if (!replica) return
    this.routes.delete(message.op)
    const wasDeleting = replica.deleting
    if (message.t === 'ack') {
      this.accepted()
      if (!replica.applyAck(message.op, message.rev, message.applied !== false)) return
      this.answered(replica, wasDeleting, message.rev)
      this.push()
      return
    }
    if (message.code === 'NOT_FOUND' && replica.markMissing(message.op)) {
      this.push()
      return
    }
    if (message.code === 'RATE_LIMITED') {
      if (replica.unsend(message.op)) this.retryLater(message, replica.id)
      return
    }
    if (replica.applyReject(message.op)) {
      this.answered(replica, wasDeleting, undefined)
      this.reportReject(message, replica.id)
      this.push()
    }
  }

  /**
   * Hook: an answer changed `replica`; show it.
   * @param wasDeleting - Whether a delete of it was waiting before the answer.
   * @param rev - The acknowledged revision, or `undefined` for a rejection.
   */
  protected abstract answered(replica: EntityReplica, wasDeleting: boolean, rev: number | undefined): void

  /** Every replica of this sync (for the pending count and reconnects). */
  protected abstract allReplicas(): Iterable<EntityReplica>

  /** Sets `pending` from the replicas. */
  protected updatePending(): void {
    let count = 0
    for (const replica of this.allReplicas()) count += replica.pendingCount
    this._pending.value = count
  }

  /** Reports a rejected write on `errors`. */
  protected reportReject(message: RejectMessage, id: string): void {
    this.report(
      new SyncError(message.code, message.message, {
        resource: this.resource,
        id,
        ...(message.op === undefined ? {} : { op: message.op }),
        ...(message.issues ? { issues: message.issues } : {}),
      }),
    )
  }

  /** Unsubscribe from the store and the connection. */
  protected abstract detachAll(): void
  abstract connectionReady(): void
  abstract handle(message: ServerMessage): void

  connectionLost(refusal: SyncError | undefined): void {
    this.subscribed.value = false
    this.routes.clear()
    for (const replica of this.allReplicas()) replica.resetInFlight()
    this.onConnectionLost()
    if (refusal) {
      this.connectionRefusal.value = refusal
      this.report(refusal)
      this.rejectWaiters(refusal)
    }
  }

  /** Hook: the connection dropped (the writes in flight were marked to be sent again). */
  protected abstract onConnectionLost(): void

  report(error: SyncError): void {
    this.emitError(error)
  }

  private rejectWaiters(error: SyncError): void {
    for (const waiter of this.waiters) waiter.reject(error)
    this.waiters.clear()
  }

  /** A refused subscription: this sync gets no data; it shows `offline`. */
  protected subscriptionRefused(code: SyncError['code'], message: string, id: string | undefined): void {
    const error = new SyncError(code, message, { resource: this.resource, id })
    this.subscriptionRefusal.value = error
    this.report(error)
    this.rejectWaiters(error)
  }

  /** A new subscription attempt: a refusal with `code` (one the next attempt may not repeat) no longer holds. */
  protected clearSubscriptionRefusal(code: SyncError['code']): void {
    if (this.subscriptionRefusal.peek()?.code === code) this.subscriptionRefusal.value = undefined
  }

  /** The sync moved on to another entity: a refused subscription of the old one no longer holds. */
  protected subscriptionRestarted(): void {
    this.subscriptionRefusal.value = undefined
  }

  /**
   * Decodes an incoming value and checks it against the resource's schema.
   * @returns `{ value }`, or `undefined` after reporting why it was skipped.
   */
  protected decode(encoded: Encoded, id: string | undefined): { value: unknown } | undefined {
    let value: unknown
    try {
      value = this.resourceDef.serializer.deserialize(encoded)
    } catch (cause) {
      this.report(
        new SyncError('BAD_MESSAGE', 'An incoming value could not be decoded', {
          resource: this.resource,
          id,
          cause,
        }),
      )
      return undefined
    }
    // JSON returned as it came was checked with the message; anything a
    // deserializer built (superjson's referentialEqualities can build a
    // cycle) is checked here, before a store or a merge walks it.
    const rebuilt = value !== encoded.json || (encoded.meta !== undefined && encoded.meta !== null)
    const problem = rebuilt ? findValueProblem(value) : undefined
    if (problem !== undefined) {
      this.report(
        new SyncError(
          'BAD_MESSAGE',
          problem === 'cycle'
            ? 'An incoming value references itself (a cycle); it was skipped'
            : `An incoming value is nested deeper than ${MAX_VALUE_DEPTH} levels; it was skipped`,
          { resource: this.resource, id },
        ),
      )
      return undefined
    }
    return { value }
  }

  /**
   * Checks a whole entity value against the resource's schema.
   * @returns true when valid (or no schema, or the schema is asynchronous: the server checks those).
   */
  protected valid(value: unknown, id: string | undefined): boolean {
    const schema = this.resourceDef.schema
    if (!schema) return true
    const result = schema['~standard'].validate(value)
    if (result instanceof Promise) {
      // An async schema cannot hold back a synchronous store update: apply,
      // check in the background and report what fails.
      result.then(
        r => r.issues && this.invalid(r.issues, id),
        () => {},
      )
      return true
    }
    if (!result.issues) return true
    this.invalid(result.issues, id)
    return false
  }

  private invalid(issues: ReadonlyArray<Issue>, id: string | undefined): void {
    this.report(
      new SyncError('INVALID_VALUE', `An incoming ${this.resource} value failed the schema and was skipped`, {
        resource: this.resource,
        id,
        issues: plainIssues(issues),
      }),
    )
  }

  /** Encodes a value for the wire. */
  protected encode(value: unknown): Encoded {
    return this.resourceDef.serializer.serialize(value)
  }
}
