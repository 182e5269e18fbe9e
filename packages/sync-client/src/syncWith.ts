import { type ChangeMessage, deepEqual, type ServerMessage } from '@lensync/protocol'
import { computed, type ReadonlySignal, type Store } from '@lensync/store'
import type { OutboxEntry } from './cache/types.ts'
import { EditFeed, type EntityWrite, type UndoTarget } from './EditFeed.ts'
import type { EntityReplica } from './EntityReplica.ts'
import { type FieldRef, fieldPathOf } from './fieldPathOf.ts'
import type { Resource } from './resource.ts'
import { SyncBase } from './SyncBase.ts'
import { connectionFor } from './SyncConnection.ts'
import { SyncError } from './SyncError.ts'
import { shownAfter } from './shownAfter.ts'
import type { EntitySyncHandle, FieldStatus } from './syncTypes.ts'
import type { Session, Socket } from './types.ts'

class EntitySync<T> extends SyncBase<T> implements EntitySyncHandle, UndoTarget {
  entityId: string
  /** @internal The store's changes, for `undoManager`. */
  readonly _edits = new EditFeed()
  /** The status signals asked for, by path. */
  private readonly fieldStatuses = new Map<string, ReadonlySignal<FieldStatus>>()
  private replica: EntityReplica
  /**
   * Replicas of ids the store moved away from while they had edits not yet
   * acknowledged: their edits are still sent (not subscribed, not shown) and
   * they are dropped once acknowledged, or taken up again when the store
   * comes back to their id.
   */
  private readonly draining = new Map<string, EntityReplica>()
  /** The value the store holds as far as this sync knows (what it wrote or last saw). */
  private shown: T
  private readonly unwatch: () => void

  constructor(
    private readonly store: Store<T>,
    target: Socket | Session,
    resourceDef: Resource<T>,
  ) {
    super(connectionFor(target), resourceDef)
    this.shown = store.current
    this.entityId = this.idOf(this.shown)
    this.replica = this.makeReplica(this.entityId, this.shown)
    this.loadEntity(this.replica)
    this.connection.attach(this)
    this.unwatch = store.data.subscribe(value => this.local(value))
  }

  fieldStatus(field: FieldRef): ReadonlySignal<FieldStatus> {
    const path = fieldPathOf(field)
    const key = path.join('\u0000')
    let status = this.fieldStatuses.get(key)
    if (!status) {
      status = computed(() => {
        this.outboxChanged.value
        return this.replica.fieldState(path)
      })
      this.fieldStatuses.set(key, status)
    }
    return status
  }

  private idOf(value: T): string {
    const id = this.resourceDef.id(value)
    if (typeof id !== 'string' || id.length === 0) {
      throw new SyncError(
        'BAD_ARGUMENT',
        `syncWith(): resource "${this.resource}" gave an empty or non-string id`,
      )
    }
    return id
  }

  private local(value: T): void {
    if (value === this.shown || this.stopped.peek()) return
    const before = this.shown
    this.shown = value
    this.markUnshown()
    let id: string
    try {
      id = this.idOf(value)
    } catch (cause) {
      this.report(
        new SyncError(
          'BAD_MESSAGE',
          "syncWith(): the store's value has no valid id; it is not synced until it has one",
          { resource: this.resource, cause },
        ),
      )
      return
    }
    if (id !== this.entityId) {
      this.switchTo(id, value)
      return
    }
    // The edit makes the view what the store holds, if it was so before.
    const inStep = this.inStep
    if (this.replica.localEdit(before, value)) {
      // Queued to the cache now, in the task of the edit.
      this.persist(this.replica)
      this.updatePending()
      this.schedulePush()
    }
    if (inStep) this.markShown()
    if (this._edits.active) this._edits.local([{ id, before, after: value }])
  }

  /** @internal */
  _shownEntity(id: string): { value: unknown; index: number } | undefined {
    return id === this.entityId ? { value: this.shown, index: 0 } : undefined
  }

  /** @internal */
  _writeEntities(writes: readonly EntityWrite[]): void {
    const write = writes.findLast(w => w.id === this.entityId && w.value !== undefined)
    if (write) this.store.update(write.value as T)
  }

  /**
   * Another entity: the old subscription ends and the value is an offer for
   * the new id. The old id's edits not yet acknowledged are still sent.
   */
  private switchTo(id: string, value: T): void {
    const old = this.entityId
    const previous = this.replica
    this._edits.reset()
    if (previous.pendingCount > 0) {
      // Never subscribed far enough to know whether it exists: the create-only
      // put finds out (an existing entity gets the edits as a patch).
      if (previous.server.kind === 'unknown') previous.applySnapshot(undefined, previous.rev, false)
      this.draining.set(old, previous)
    }
    this.entityId = id
    // Edits still waiting for this id are shown on top of the server's value once subscribed.
    this.replica = this.draining.get(id) ?? this.makeReplica(id, value)
    this.draining.delete(id)
    this.persist(previous)
    this.loadEntity(this.replica)
    this.subscribed.value = false
    this.subscriptionRestarted()
    this.connection.detach(this, old, true)
    this.connection.attach(this)
    this.updatePending()
  }

  protected push(): void {
    if (this.stopped.peek() || this.holding || this.connection.state.peek() !== 'ready') return
    this.sendFrom(this.replica)
    for (const replica of this.draining.values()) this.sendFrom(replica)
  }

  protected *allReplicas(): Iterable<EntityReplica> {
    yield this.replica
    yield* this.draining.values()
  }

  // Every edit and every answer counts: without a generator while nothing drains.
  protected override pendingTotal(): number {
    let count = this.replica.pendingCount
    if (this.draining.size > 0) for (const replica of this.draining.values()) count += replica.pendingCount
    return count
  }

  // A draining replica is forgotten once nothing of it waits.
  protected answered(replica: EntityReplica): void {
    if (replica === this.replica) {
      this.render()
      return
    }
    if (replica.pendingCount === 0 && this.draining.get(replica.id) === replica)
      this.draining.delete(replica.id)
    this.updatePending()
  }

  private render(): void {
    const view = this.replica.view() as T
    this.updatePending()
    this.markShown()
    if (deepEqual(this.shown, view)) return
    this.show(view)
  }

  /**
   * Shows a remote field change that {@link showsInPlace} allowed: the store
   * is set at the change's paths only (the pending count and field states
   * did not change: the entity was present, so no intent ended).
   * @param shared - The store held the confirmed value itself and nothing was on top.
   */
  private renderChange(message: ChangeMessage, shared: boolean): void {
    const next = shownAfter(this.shown, this.replica.view(), message.set, message.unset, shared) as T
    this.markShown()
    if (next !== this.shown) this.show(next)
  }

  // Puts a value that differs from what the store holds into it, as the sync's own (not an edit).
  private show(value: T): void {
    const before = this.shown
    this.shown = value
    if (this._edits.active) this._edits.shown([{ id: this.entityId, before, after: value }])
    this.store.update(value)
  }

  // Writes in flight are not marked to be sent again here: connectionLost()
  // did that for a reopen, and after an id change (attach while ready) they
  // are still answered on this connection.
  /**
   * Reads the cached value of `replica`'s entity and the unsent edits of
   * other clients (other tabs, an earlier page), and shows them before any
   * connection (`source` 'cache'). An entity the cache knows is not an offer.
   */
  private loadEntity(replica: EntityReplica): void {
    this.loadFromCache(async cache => {
      const { version } = this.resourceDef
      const record = await cache.readEntity(this.resource, replica.id, version)
      const entries = await cache.readOutbox({ resource: this.resource, id: replica.id })
      if (replica !== this.replica || this.stopped.peek()) return
      let shown = false
      if (record) {
        const decoded = record.value === null ? undefined : this.decode(record.value, replica.id)
        const usable =
          record.value === null || (decoded !== undefined && this.valid(decoded.value, replica.id))
        if (usable && replica.loadCached(decoded?.value, record.rev, record.value !== null)) {
          this.cacheWriter?.markConfirmed(replica)
          shown = true
        }
      }
      for (const entry of entries) if (this.showForeignEntry(entry)) shown = true
      if (!shown) return
      this.refresh(replica)
      this.shownFrom('cache')
    })
  }

  protected foreignTarget(entry: OutboxEntry): EntityReplica | undefined {
    return entry.id === this.entityId ? this.replica : undefined
  }

  protected replicaOf(id: string): EntityReplica | undefined {
    return id === this.entityId ? this.replica : this.draining.get(id)
  }

  protected refresh(replica: EntityReplica): void {
    this.persist(replica)
    if (replica === this.replica) this.render()
    else this.updatePending()
  }

  protected onReady(): void {
    this.connection.write({ t: 'sub', r: this.resource, id: this.entityId })
    this.push()
  }

  protected onConnectionLost(): void {}

  handle(message: ServerMessage): void {
    const replica = this.replica
    switch (message.t) {
      case 'snap': {
        if (!('id' in message) || message.id !== this.entityId) return
        if (message.value === null) {
          replica.applySnapshot(undefined, message.rev, false)
        } else {
          const decoded = this.decode(message.value, message.id)
          if (!decoded || !this.valid(decoded.value, message.id)) {
            // Unusable snapshot: keep the local value, but stay subscribed.
            this.subscribed.value = true
            return
          }
          replica.applySnapshot(decoded.value, message.rev, true)
        }
        this.subscribed.value = true
        this.persist(replica)
        this.render()
        this.shownFrom('server')
        this.push()
        return
      }
      case 'change': {
        if (message.id !== this.entityId) return
        const inPlace = this.showsInPlace(replica, message)
        const shared = inPlace && replica.bare && this.shown === replica.confirmed
        if (!this.applyRemoteChange(replica, message)) return
        this.persist(replica)
        if (inPlace) this.renderChange(message, shared)
        else this.render()
        // Only this replica changed: the others had nothing to send, or sent it.
        if (replica.hasUnsent) this.push()
        return
      }
      case 'gone':
        if (message.id !== this.entityId || !replica.applyGone(message.rev)) return
        this.persist(replica)
        this.render()
        return
      case 'ack':
        this.answer(message)
        return
      case 'reject':
        if (message.op !== undefined) this.answer(message)
        else if (message.id === this.entityId)
          this.subscriptionRefused(message.code, message.message, message.id)
        return
      default:
        return
    }
  }

  protected detachAll(): void {
    this.unwatch()
    this.connection.detach(this)
    this._edits.close()
  }
}

/**
 * Keeps `store` equal to one entity on the server, both ways (fritz2's
 * `syncWith`, without its holes). The store's value when the sync starts is
 * an offer (created on the server only if the entity does not exist there);
 * later changes are sent as field patches; remote changes are applied and
 * never sent back; edits made offline are sent after reconnecting; a changed
 * entity id starts the sync over for the new id (the old id's edits not yet
 * acknowledged are still sent).
 *
 * All syncs over one `Socket` share one reconnecting WebSocket.
 * With a socket `cache`, the cached value (with the unsent edits of this
 * and other tabs on top) is shown before any connection, an entity the cache
 * knows is not an offer, and every edit is queued to the cache in its task.
 *
 * @param store - The store holding the entity (a root store or a sub-store).
 * @param target - A `Socket` (shared, reconnecting connection) or a `Session` you manage.
 * @param resource - The entity kind: name, id, serializer, schema.
 * @returns The running sync: `status`, `pending`, `errors`, `flush()`, `stop()`, `fieldStatus(field)`, and
 *   `ready` / `source` (the cached value or the server's shown; see the socket's `cache` option).
 * @throws SyncError `BAD_ARGUMENT` when the store's value has no valid id.
 * @example
 * const sync = syncWith(personStore, websocket(url), PersonResource)
 * await sync.flush()
 */
export function syncWith<T>(
  store: Store<T>,
  target: Socket | Session,
  resource: Resource<T>,
): EntitySyncHandle {
  return new EntitySync(store, target, resource)
}
