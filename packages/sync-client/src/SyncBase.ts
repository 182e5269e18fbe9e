import {
  type AckMessage,
  applyFieldChanges,
  type ChangeMessage,
  type Encoded,
  type FieldChange,
  type FieldConflict,
  type FieldPath,
  type FieldSet,
  findValueProblem,
  type Issue,
  MAX_VALUE_DEPTH,
  type OpId,
  plainIssues,
  type RejectMessage,
  type ServerMessage,
  setIn,
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
import type { Conflict } from './Conflict.ts'
import { CacheWriter } from './cache/CacheWriter.ts'
import { contentOf } from './cache/outboxEntries.ts'
import type { CacheNotice, CacheWriteResult, CollectionUpdate, OutboxEntry } from './cache/types.ts'
import { EntityReplica, type KeptField, type ReplicaClock } from './EntityReplica.ts'
import { encodeWrite } from './encodeWrite.ts'
import { applyEdits } from './FieldOutbox.ts'
import type { EntityInspection, SyncInspection } from './observation.ts'
import type { WriteContent, WriteStamp } from './replicaState.ts'
import type { Resource } from './resource.ts'
import type { SyncChannel, SyncConnection } from './SyncConnection.ts'
import { SyncError } from './SyncError.ts'
import type { CachedSync, SyncSource, SyncStatus } from './syncTypes.ts'

/** The value `write` set at `path` (`undefined` when it removed it). */
function mineOf(write: WriteContent, path: FieldPath): unknown {
  if (write.kind === 'del') return undefined
  if (write.kind === 'patch') {
    for (const edit of write.edits)
      if (edit.path.length === path.length && edit.path.every((name, i) => name === path[i]))
        return edit.unset ? undefined : edit.value
  }
  let value = write.kind === 'put' ? applyEdits(write.base, write.edits) : applyEdits(undefined, write.edits)
  for (const name of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[name]
  }
  return value
}

/** A conflict an ack reported, before it is resolved: the wire's field and the decoded conflict. */
interface FoundConflict {
  readonly field: FieldConflict
  readonly conflict: Omit<Conflict, 'resolution'> & { readonly theirsFound: { value: unknown } | undefined }
}

/** The fields the server did not apply (`'keep-theirs'`), with the value they keep. */
function keptOf(found: readonly FoundConflict[]): readonly KeptField[] {
  if (found.length === 0) return NONE_KEPT
  const kept: KeptField[] = []
  for (const { field, conflict } of found)
    if (!field.applied) kept.push({ path: field.path, theirs: conflict.theirsFound })
  return kept
}

/** What {@link SyncBase.decodeValue} returns for a value it skipped (and reported). */
const SKIPPED: unique symbol = Symbol('skipped')
const NO_PATHS: readonly FieldPath[] = []
// The usual answer has no conflict: nothing to allocate for it.
const NONE_FOUND: readonly FoundConflict[] = []
const NONE_KEPT: readonly KeptField[] = []
const NONE_REPORTED: readonly Conflict[] = []

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
export abstract class SyncBase<T> implements CachedSync, SyncChannel {
  readonly status: ReadonlySignal<SyncStatus>
  readonly pending: ReadonlySignal<number>
  readonly errors: Stream<SyncError>
  /** Every conflict an acknowledged write met (see {@link Conflict}). */
  readonly conflicts: Stream<Conflict>
  readonly source: ReadonlySignal<SyncSource>
  readonly ready: Promise<void>
  abstract readonly entityId: string | undefined

  protected readonly _source: Signal<SyncSource> = signal('initial')
  private resolveReady: () => void = () => {}
  /** Keeps the replicas in the socket's cache, if it has one. */
  protected readonly cacheWriter: CacheWriter | undefined
  private readonly unwatchCache: (() => void) | undefined
  /** Ends listening to the conflicts of writes the socket's cache link sends from the outbox. */
  private readonly unwatchOutboxConflicts: (() => void) | undefined
  /** The cache is being read: the subscription waits (see {@link connectionReady}). */
  private loading = false
  private loadGeneration = 0
  /** The connection became ready while the cache was being read. */
  private readyDeferred = false
  /** The last cache write failed with `CACHE_FULL`: a run of them is reported once. */
  private cacheFull = false
  private openReported = false

  protected readonly _pending: Signal<number> = signal(0)
  /** Bumped whenever local edits, acks or rejects may have changed what is pending (see `fieldStatus`). */
  protected readonly outboxChanged: Signal<number> = signal(0)
  protected readonly subscribed: Signal<boolean> = signal(false)
  protected readonly stopped: Signal<boolean> = signal(false)
  private readonly emitError: (error: SyncError) => void
  private readonly emitConflict: (conflict: Conflict) => void
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
  /** Counts the changes of this sync's replicas that may change what they show. */
  private readonly clock: ReplicaClock = { changes: 0 }
  /** The {@link clock} reading when the store last showed every replica's view (-1: not known to). */
  private shownAt = -1

  constructor(
    protected readonly connection: SyncConnection,
    protected readonly resourceDef: Resource<T>,
  ) {
    const { stream, emit } = createStream<SyncError>()
    this.errors = stream
    this.emitError = emit
    const conflicts = createStream<Conflict>()
    this.conflicts = conflicts.stream
    this.emitConflict = conflicts.emit
    this.pending = this._pending
    this.status = computed<SyncStatus>(() => {
      if (this.stopped.value || this.connectionRefusal.value || this.subscriptionRefusal.value)
        return 'offline'
      const state = this.connection.state.value
      if (state === 'connecting') return 'connecting'
      if (state !== 'ready') return 'offline'
      return !this.subscribed.value || this._pending.value > 0 ? 'syncing' : 'synced'
    })
    this.source = this._source
    this.ready = new Promise(resolve => {
      this.resolveReady = resolve
    })
    const cache = connection.cache
    if (cache) {
      this.cacheWriter = new CacheWriter(
        cache,
        {
          name: resourceDef.name,
          version: resourceDef.version,
          // A merge function is sent as 'keep-theirs': the merge is written on top of theirs.
          onConflict: resourceDef.onConflict === 'overwrite' ? 'overwrite' : 'keep-theirs',
        },
        value => this.encode(value),
        result => this.cacheResult(result),
      )
      this.unwatchCache = cache.subscribe(notice => this.cacheNotice(notice))
    }
    this.unwatchOutboxConflicts = connection.cacheLink?.onConflicts((entry, ack) =>
      this.outboxConflicts(entry, ack),
    )
  }

  /** The store now shows a value from `source` (`ready` resolves). A cached value never follows the server's. */
  protected shownFrom(source: 'cache' | 'server'): void {
    if (source === 'cache' && this._source.peek() === 'server') return
    this._source.value = source
    this.resolveReady()
  }

  /**
   * Called when the connection is ready (after every (re)open). While the
   * cache is still being read the subscription waits for it, so the cached
   * state is in place (and `since` known) before the server answers.
   */
  connectionReady(): void {
    if (this.loading) {
      this.readyDeferred = true
      return
    }
    this.onReady()
  }

  /** Subscribe and send what is unsent (the connection is ready and the cache read). */
  protected abstract onReady(): void

  /**
   * Reads what the cache holds for this sync (`read`), while the
   * subscription waits. A later call supersedes an earlier one.
   */
  protected loadFromCache(read: (cache: NonNullable<SyncConnection['cache']>) => Promise<void>): void {
    const cache = this.connection.cache
    if (!cache) return
    const generation = ++this.loadGeneration
    this.loading = true
    void (async () => {
      try {
        const state = await cache.opened
        if (state.kind === 'memory' && state.error && !this.openReported) {
          this.openReported = true
          this.report(state.error)
        }
        if (generation === this.loadGeneration && !this.stopped.peek()) await read(cache)
      } catch (cause) {
        this.report(
          cause instanceof SyncError
            ? cause
            : new SyncError('CACHE_UNAVAILABLE', 'Reading the cache failed; going on without it', {
                resource: this.resource,
                cause,
              }),
        )
      }
      if (generation !== this.loadGeneration) return
      this.loading = false
      // The entities read are held now: conflicts of outbox writes sent meanwhile are this sync's.
      if (!this.stopped.peek()) this.connection.cacheLink?.offerUnclaimed()
      if (!this.readyDeferred || this.stopped.peek()) return
      this.readyDeferred = false
      if (this.connection.state.peek() === 'ready') this.onReady()
    })()
  }

  /** Reports a failed cache write (a run of `CACHE_FULL` once); the sync goes on in memory. */
  private cacheResult(result: CacheWriteResult): void {
    if (result.ok) {
      this.cacheFull = false
      return
    }
    if (result.error.code === 'CACHE_FULL') {
      if (this.cacheFull) return
      this.cacheFull = true
    }
    this.report(result.error)
  }

  /** Writes what changed of a replica to the cache (own writes in the caller's task, confirmed value). */
  protected persist(replica: EntityReplica): void {
    this.cacheWriter?.persist(replica)
  }

  /** Writes several replicas and a collection update to the cache. */
  protected persistMany(replicas: Iterable<EntityReplica>, collection?: CollectionUpdate): void {
    this.cacheWriter?.persistMany(replicas, collection)
  }

  /** Whether a cache entry of this socket's client id was made by this page (so it is a sync's own). */
  private ownsEntry(client: string, op: number): boolean {
    return client === this.connection.clientId && this.connection.ownsOp(op)
  }

  /**
   * Shows an outbox entry of another client (another tab, an earlier page)
   * on its replica until it is acknowledged. Entries of another `version`
   * are not shown (they are still sent).
   * @returns true when shown.
   */
  protected showForeignEntry(entry: OutboxEntry): boolean {
    if (entry.resource !== this.resource || entry.version !== this.resourceDef.version) return false
    if (this.ownsEntry(entry.client, entry.op)) return false
    const replica = this.foreignTarget(entry)
    if (!replica) return false
    let content: ReturnType<typeof contentOf>
    try {
      content = contentOf(entry, encoded => {
        const decoded = this.decode(encoded, entry.id)
        if (!decoded) throw new SyncError('BAD_MESSAGE', 'skipped')
        return decoded.value
      })
    } catch {
      return false
    }
    replica.showForeign({ client: entry.client, op: entry.op, content })
    return true
  }

  /** The replica an entry of another client for `entry.id` is shown on (made if the sync shows such items). */
  protected abstract foreignTarget(entry: OutboxEntry): EntityReplica | undefined

  /** The replica of `id`, if the sync has one. */
  protected abstract replicaOf(id: string): EntityReplica | undefined

  /** Shows a replica's new view in the store. */
  protected abstract refresh(replica: EntityReplica): void

  private cacheNotice(notice: CacheNotice): void {
    if (this.stopped.peek()) return
    switch (notice.kind) {
      case 'enqueued': {
        if (!this.showForeignEntry(notice.entry)) return
        const replica = this.replicaOf(notice.entry.id)
        if (replica) this.refresh(replica)
        return
      }
      case 'acked': {
        if (notice.resource !== this.resource || this.ownsEntry(notice.client, notice.op)) return
        const replica = this.replicaOf(notice.id)
        if (replica?.hideForeign(notice.client, notice.op, notice.rev)) this.refresh(replica)
        return
      }
      case 'confirmed':
        // Another tab heard of a newer server value first: show it as a change.
        for (const entity of notice.entities) {
          if (entity.resource !== this.resource || entity.version !== this.resourceDef.version) continue
          const replica = this.replicaOf(entity.id)
          if (!replica || entity.rev <= replica.rev || replica.server.kind === 'unknown') continue
          this.handle(
            entity.value === null
              ? { t: 'gone', r: entity.resource, id: entity.id, rev: entity.rev }
              : { t: 'change', r: entity.resource, id: entity.id, rev: entity.rev, value: entity.value },
          )
        }
        return
      case 'cleared':
        // Logout: unsent edits are dropped everywhere; the store keeps what it shows.
        for (const replica of this.allReplicas()) {
          replica.forget()
          this.cacheWriter?.forget(replica)
        }
        this.routes.clear()
        this.updatePending()
        return
      default:
        return
    }
  }

  /** Outbox entries of this sync's own writes not yet acknowledged, for the connection to send after it stopped. */
  private leaveBehind(): void {
    const link = this.connection.cacheLink
    const writer = this.cacheWriter
    if (!link || !writer) return
    const entries: OutboxEntry[] = []
    for (const replica of this.allReplicas()) entries.push(...writer.entries(replica))
    link.leaveBehind(entries.sort((a, b) => a.op - b.op))
  }

  /** The resource name. */
  get resource(): string {
    return this.resourceDef.name
  }

  /**
   * What `inspectSync` shows of this sync: read now, nothing kept.
   * @internal
   */
  _inspect(): SyncInspection {
    const entities: EntityInspection[] = []
    let revision = 0
    for (const replica of this.allReplicas()) {
      revision = Math.max(revision, replica.rev)
      entities.push({
        id: replica.id,
        rev: replica.rev,
        pending: replica.pendingCount,
        value: replica.view(),
        fieldStatus: path => replica.fieldState([...path]),
      })
    }
    return {
      kind: this.entityId === undefined ? 'list' : 'entity',
      resource: this.resource,
      id: this.entityId,
      status: this.status.peek(),
      source: this._source.peek(),
      pending: this._pending.peek(),
      revision: this.entityId === undefined ? revision : (entities[0]?.rev ?? 0),
      entities,
    }
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
    this.loadGeneration++
    this.unwatchCache?.()
    this.unwatchOutboxConflicts?.()
    this.leaveBehind()
    this.detachAll()
    this.rejectWaiters(new SyncError('STOPPED', 'The sync was stopped'))
  }

  /** Sends what is unsent, if the connection is ready. */
  protected abstract push(): void

  /** Pushes once at the end of this tick, so edits made in one tick leave together. */
  protected schedulePush(): void {
    if (this.pushScheduled) return
    this.pushScheduled = true
    queueMicrotask(this.scheduledPush)
  }

  // One function per sync, not a closure per edited tick.
  private readonly scheduledPush = (): void => {
    this.pushScheduled = false
    this.push()
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
   * resulting value against the schema. A field change is merged into the
   * confirmed value once; that merged value is what the schema checks (only
   * when the resource has one) and what the replica keeps.
   * @returns true when applied; false when stale or skipped (and reported).
   */
  protected applyRemoteChange(replica: EntityReplica, message: ChangeMessage): boolean {
    if (message.rev <= replica.rev) return false
    let value: unknown
    const fields = message.set
    const unset = message.unset
    if (fields?.length === 1 && (unset === undefined || unset.length === 0)) {
      // The usual change, one field: no arrays to build, one copy of each object on its path.
      const [path, encoded] = fields[0] as FieldSet
      const decoded = this.decodeValue(encoded, message.id)
      if (decoded === SKIPPED) return false
      value = setIn(replica.confirmed, path, decoded)
    } else if (fields !== undefined || unset !== undefined) {
      const set: FieldChange[] = []
      if (fields !== undefined)
        for (const [path, encoded] of fields) {
          const decoded = this.decodeValue(encoded, message.id)
          if (decoded === SKIPPED) return false
          set.push([path, decoded])
        }
      value = applyFieldChanges(replica.confirmed, set, unset ?? NO_PATHS)
    } else {
      if (message.value === undefined) return false
      value = this.decodeValue(message.value, message.id)
      if (value === SKIPPED) return false
    }
    if (this.resourceDef.schema !== undefined && !this.valid(value, message.id)) return false
    return replica.applyValue(message.rev, value)
  }

  /** The store now shows every replica's view (a render compared them, or an edit made them so). */
  protected markShown(): void {
    this.shownAt = this.clock.changes
  }

  /** The store shows something the replicas do not (it is not known to show their views). */
  protected markUnshown(): void {
    this.shownAt = -1
  }

  /** Whether the store shows every replica's view: nothing changed in a replica since it did. */
  protected get inStep(): boolean {
    return this.shownAt === this.clock.changes
  }

  /**
   * Whether the store can show `message` by setting its own paths (see
   * `shownAfter`) instead of a render: it is a field change, the store shows
   * every replica's view, and the change alters the replica's view only at
   * its paths. Asked before the change is applied.
   */
  protected showsInPlace(replica: EntityReplica, message: ChangeMessage): boolean {
    return (
      (message.set !== undefined || message.unset !== undefined) && this.inStep && replica.followsFieldChanges
    )
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
    return new EntityReplica(id, initial, origin, this.newStamp, this.clock)
  }

  /** Makes the client and op id of a new write (one function for every replica of this sync). */
  private readonly newStamp = (): WriteStamp => ({
    client: this.connection.clientId,
    op: this.connection.nextOp(),
  })

  /** Encodes a value for the wire (one function for every write of this sync). */
  private readonly encoder = (value: unknown): Encoded => this.encode(value)

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
        this.resourceDef.onConflict === 'overwrite'
          ? {
              r: this.resource,
              id: replica.id,
              connectionClient: this.connection.clientId,
              base: replica.baseRevOf(write),
            }
          : {
              r: this.resource,
              id: replica.id,
              connectionClient: this.connection.clientId,
              base: replica.baseRevOf(write),
              onConflict: 'keep-theirs',
            },
        this.encoder,
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
    const inStep = this.inStep
    if (message.t === 'ack') {
      this.accepted()
      const write = message.conflicts?.length ? replica.inFlightWrite(message.op) : undefined
      const found =
        write && message.conflicts?.length
          ? this.conflictsOf(replica.id, write, message.conflicts)
          : NONE_FOUND
      if (!replica.applyAck(message.op, message.rev, message.applied !== false, keptOf(found))) return
      const reported = this.resolveConflicts(replica, found, message.rev)
      this.answered(replica, wasDeleting, message.rev, inStep)
      this.persist(replica)
      this.push()
      for (const conflict of reported) this.emitConflict(conflict)
      return
    }
    if (message.code === 'NOT_FOUND' && replica.markMissing(message.op)) {
      // The patch is dropped (a remote delete won) or becomes a create: what
      // is pending changed either way, and `flush()` waits on that count.
      this.persist(replica)
      this.answered(replica, wasDeleting, undefined, inStep)
      this.push()
      return
    }
    if (message.code === 'RATE_LIMITED') {
      if (replica.unsend(message.op)) {
        this.persist(replica)
        this.updatePending()
        this.retryLater(message, replica.id)
      }
      return
    }
    if (replica.applyReject(message.op)) {
      this.persist(replica)
      this.answered(replica, wasDeleting, undefined, inStep)
      this.reportReject(message, replica.id)
      this.push()
    }
  }

  /**
   * The conflicts of a write of another client (an earlier page, another
   * tab) that this socket's cache link sent from the outbox, when this sync
   * holds the entity: where it shows that write, the kept fields show theirs
   * at once; each conflict is resolved as for an own write (a merge
   * function's value becomes this sync's own edit) and emitted on `conflicts`.
   * @returns false when this sync does not hold the entity (another sync may).
   */
  private outboxConflicts(entry: OutboxEntry, ack: AckMessage): boolean {
    if (this.stopped.peek() || entry.resource !== this.resource || !ack.conflicts?.length) return false
    if (entry.version !== this.resourceDef.version) return false
    const replica = this.replicaOf(entry.id)
    if (!replica) return false
    let content: WriteContent
    try {
      content = contentOf(entry, encoded => {
        const decoded = this.decode(encoded, entry.id)
        if (!decoded) throw new SyncError('BAD_MESSAGE', 'skipped')
        return decoded.value
      })
    } catch {
      return false
    }
    const found = this.conflictsOf(replica.id, content, ack.conflicts)
    replica.keepTheirsOfForeign(entry.client, entry.op, keptOf(found))
    const reported = this.resolveConflicts(replica, found, ack.rev)
    this.refresh(replica)
    this.schedulePush()
    for (const conflict of reported) this.emitConflict(conflict)
    return true
  }

  /** How the resource's `onConflict` resolved each conflict (a merge function's value is written now). */
  private resolveConflicts(
    replica: EntityReplica,
    found: readonly FoundConflict[],
    rev: number,
  ): readonly Conflict[] {
    if (found.length === 0) return NONE_REPORTED
    const merge = this.resourceDef.onConflict
    const reported: Conflict[] = []
    for (const { field, conflict } of found) {
      const { theirsFound: _, ...base } = conflict
      if (field.applied) reported.push({ ...base, resolution: 'mine' })
      else if (
        typeof merge === 'function' &&
        this.merged(replica, field, { ...base, resolution: 'merged' }, rev)
      )
        reported.push({ ...base, resolution: 'merged' })
      else reported.push({ ...base, resolution: 'theirs' })
    }
    return reported
  }

  /**
   * Writes the merge function's value of a conflict on top of theirs.
   * @returns false when the function threw (reported as `BAD_ARGUMENT`): theirs stays.
   */
  private merged(replica: EntityReplica, field: FieldConflict, conflict: Conflict, rev: number): boolean {
    const merge = this.resourceDef.onConflict
    if (typeof merge !== 'function') return false
    let value: unknown
    try {
      value = merge(conflict)
    } catch (cause) {
      this.report(
        new SyncError('BAD_ARGUMENT', `onConflict threw for ${conflict.path}; their value was kept`, {
          resource: this.resource,
          id: replica.id,
          cause,
        }),
      )
      return false
    }
    replica.mergeEdit(field.path, value, rev)
    return true
  }

  /** The conflicts an ack reports for `write` of entity `id`, with `mine` from the write and `theirs` decoded. */
  private conflictsOf(id: string, write: WriteContent, fields: readonly FieldConflict[]): FoundConflict[] {
    const found: FoundConflict[] = []
    for (const field of fields) {
      let theirsFound: { value: unknown } | undefined
      if (field.theirs !== null) {
        theirsFound = this.decode(field.theirs, undefined)
        if (!theirsFound) continue
      }
      found.push({
        field,
        conflict: {
          id,
          path: field.path.map(name => `.${name}`).join(''),
          mine: mineOf(write, field.path),
          theirs: theirsFound?.value,
          rev: field.rev,
          ...(field.by === undefined ? {} : { by: field.by }),
          theirsFound,
        },
      })
    }
    return found
  }

  /**
   * Hook: an answer changed `replica`; show it.
   * @param wasDeleting - Whether a delete of it was waiting before the answer.
   * @param rev - The acknowledged revision, or `undefined` for a rejection.
   * @param inStep - The store showed every replica's view before the answer:
   *   only `replica` changed since (see {@link inStep}).
   */
  protected abstract answered(
    replica: EntityReplica,
    wasDeleting: boolean,
    rev: number | undefined,
    inStep: boolean,
  ): void

  /** Every replica of this sync (for the pending count and reconnects). */
  protected abstract allReplicas(): Iterable<EntityReplica>

  /** The pending count of every replica together. */
  protected pendingTotal(): number {
    let count = 0
    for (const replica of this.allReplicas()) count += replica.pendingCount
    return count
  }

  /** Sets `pending` from the replicas. */
  protected updatePending(): void {
    this._pending.value = this.pendingTotal()
    this.outboxChanged.value = this.outboxChanged.peek() + 1
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
    const value = this.decodeValue(encoded, id)
    return value === SKIPPED ? undefined : { value }
  }

  /**
   * Decodes an incoming value (without a wrapper object: the receive path
   * decodes every field of every change).
   * @returns The value, or {@link SKIPPED} after reporting why it was skipped.
   */
  protected decodeValue(encoded: Encoded, id: string | undefined): unknown {
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
      return SKIPPED
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
      return SKIPPED
    }
    return value
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
