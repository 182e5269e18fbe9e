import {
  type ChangeMessage,
  type CollectionSnapMessage,
  deepEqual,
  type ServerMessage,
  type SnapItem,
} from '@lensync/protocol'
import { computed, type ReadonlySignal, type Store } from '@lensync/store'
import type { CollectionUpdate, OutboxEntry } from './cache/types.ts'
import { EditFeed, type EntityEdit, type EntityWrite, type UndoTarget } from './EditFeed.ts'
import type { EntityReplica } from './EntityReplica.ts'
import { type FieldRef, fieldPathOf } from './fieldPathOf.ts'
import type { Resource } from './resource.ts'
import { SyncBase } from './SyncBase.ts'
import { connectionFor } from './SyncConnection.ts'
import { SyncError } from './SyncError.ts'
import { shownAfter } from './shownAfter.ts'
import type { FieldStatus, ListSyncHandle, SyncListOptions } from './syncTypes.ts'
import type { Session, Socket } from './types.ts'

/** Default bounds of a collection snapshot held before its last page (see {@link SyncListOptions}). */
const syncListDefaults: Required<SyncListOptions> = {
  maxSnapshotItems: 100_000,
  maxSnapshotBytes: 64 * 1024 * 1024,
}

function resolveOptions(options: SyncListOptions): Required<SyncListOptions> {
  const resolved = { ...syncListDefaults }
  for (const key of ['maxSnapshotItems', 'maxSnapshotBytes'] as const) {
    const value = options[key]
    if (value === undefined) continue
    if (typeof value !== 'number' || !(value > 0) || (!Number.isInteger(value) && value !== Infinity)) {
      throw new SyncError(
        'BAD_ARGUMENT',
        `syncList(): ${key} must be a positive integer or Infinity, got ${String(value)}`,
      )
    }
    resolved[key] = value
  }
  return resolved
}

/**
 * What a collection sync holds while a snapshot arrives: its pages and the
 * changes that came meanwhile, with their cost so far (`frame`: the last
 * frame charged, so a frame of many pages counts once); or nothing at all,
 * after a snapshot passed the bounds, until the next subscription.
 */
type SnapshotBuffer =
  | {
      kind: 'open'
      pages: CollectionSnapMessage[]
      /**
       * Changes and deletes that arrived while the snapshot was still coming: a
       * change may overtake the page holding the value it applies to (the page
       * was read before the change committed), so they are applied after it.
       */
      held: ServerMessage[]
      items: number
      chars: number
      frame: number
    }
  | { kind: 'abandoned' }

const emptyBuffer = (): SnapshotBuffer => ({
  kind: 'open',
  pages: [],
  held: [],
  items: 0,
  chars: 0,
  frame: -1,
})

class ListSync<T> extends SyncBase<T> implements ListSyncHandle, UndoTarget {
  readonly entityId = undefined
  /** @internal The store's changes, for `undoManager`. */
  readonly _edits = new EditFeed()
  private readonly replicas = new Map<string, EntityReplica>()
  /** The status signals asked for, by item id and path. */
  private readonly fieldStatuses = new Map<string, ReadonlySignal<FieldStatus>>()
  /** Ids in list order. */
  private order: string[] = []
  /** The list the store holds as far as this sync knows. */
  private shown: T[]
  /** The item object last shown per id, reused while its content is unchanged. */
  private readonly shownItems = new Map<string, T>()
  /** The resource revision everything up to which this sync has seen: the next `since`. */
  private since: number | undefined
  private buffer: SnapshotBuffer = emptyBuffer()
  private readonly limits: Required<SyncListOptions>
  private readonly unwatch: () => void

  constructor(
    private readonly store: Store<T[]>,
    target: Socket | Session,
    resourceDef: Resource<T>,
    options: SyncListOptions,
  ) {
    const limits = resolveOptions(options)
    super(connectionFor(target), resourceDef)
    this.limits = limits
    this.shown = store.current
    if (!Array.isArray(this.shown))
      throw new SyncError('BAD_ARGUMENT', 'syncList(): the store must hold an array')
    for (const item of this.shown) {
      const id = this.idOf(item)
      if (this.replicas.has(id))
        throw new SyncError('BAD_ARGUMENT', `syncList(): two items have the id "${id}"`)
      this.replicas.set(id, this.makeReplica(id, item))
      this.shownItems.set(id, item)
      this.order.push(id)
    }
    this.loadCollection()
    this.connection.attach(this)
    this.unwatch = store.data.subscribe(value => this.local(value))
  }

  private idOf(item: T): string {
    const id = this.resourceDef.id(item)
    if (typeof id !== 'string' || id.length === 0) {
      throw new SyncError(
        'BAD_ARGUMENT',
        `syncList(): resource "${this.resource}" gave an empty or non-string id`,
      )
    }
    return id
  }

  private local(list: T[]): void {
    if (list === this.shown || this.stopped.peek()) return
    const before = new Map<string, T>()
    for (const item of this.shown) before.set(this.idOf(item), item)
    const edits: EntityEdit[] | undefined = this._edits.active ? [] : undefined
    const beforeList = this.shown
    this.shown = list
    const order: string[] = []
    const seen = new Set<string>()
    let changed = false
    // The store shows every view after the edits if it did before, unless an
    // item the sync cannot take (no valid id, an id twice) stays in the list.
    let inStep = this.inStep
    for (const item of list) {
      let id: string
      try {
        id = this.idOf(item)
      } catch (cause) {
        this.report(
          new SyncError('BAD_MESSAGE', 'syncList(): an item has no valid id; it is not synced', { cause }),
        )
        inStep = false
        continue
      }
      if (seen.has(id)) {
        inStep = false
        continue
      }
      seen.add(id)
      order.push(id)
      this.shownItems.set(id, item)
      const previous = before.get(id)
      let replica = this.replicas.get(id)
      if (!replica || replica.deleting) {
        let fresh: EntityReplica
        if (this.subscribed.peek() || replica) {
          // A new item the server is known not to have (or one deleted and added again): a whole-value put.
          fresh = this.makeReplica(id, item)
          fresh.applySnapshot(undefined, replica?.rev ?? 0, false)
          fresh.localEdit(undefined, item)
        } else {
          // Added while the server's state is unknown (offline, or before the
          // snapshot): a create-only put once the next snapshot shows the id
          // free, so an entity made meanwhile by someone else is not overwritten.
          fresh = this.makeReplica(id, item, 'added')
        }
        this.replicas.set(id, fresh)
        replica = fresh
        changed = true
      } else if (previous !== item && replica.localEdit(previous, item)) {
        changed = true
      }
      if (edits && previous !== item)
        edits.push({ id, before: previous, after: item, index: order.length - 1 })
    }
    for (const id of before.keys()) {
      if (seen.has(id)) continue
      const removed = before.get(id) as T
      edits?.push({ id, before: removed, after: undefined, index: beforeList.indexOf(removed) })
      this.shownItems.delete(id)
      const replica = this.replicas.get(id)
      if (!replica) continue
      if (replica.addedUnseen) {
        // Added and removed before anything was known or sent: nothing to
        // undo, and an entity of that id made elsewhere was never seen here.
        this.replicas.delete(id)
      } else if (replica.server.kind !== 'absent' || replica.awaitingAnswer) {
        // Known to the server, or its creation is on its way: the delete
        // must follow it there, or the item would stay for everyone else.
        replica.localDelete()
      } else {
        this.replicas.delete(id)
      }
      changed = true
    }
    this.order = order
    if (inStep) this.markShown()
    else this.markUnshown()
    if (changed) {
      // Queued to the cache now, in the task of the edit.
      this.persistMany(this.replicas.values())
      this.updatePending()
      this.schedulePush()
    }
    if (edits) this._edits.local(edits)
  }

  /** The id of an item the store holds, or `undefined` when it has no valid one. */
  private idOrUndefined(item: T): string | undefined {
    try {
      return this.idOf(item)
    } catch {
      return undefined
    }
  }

  /** @internal */
  _shownEntity(id: string): { value: unknown; index: number } | undefined {
    const index = this.shown.findIndex(item => this.idOrUndefined(item) === id)
    return index < 0 ? undefined : { value: this.shown[index], index }
  }

  /** @internal Items removed first, then replaced, then added back in the order of their index. */
  _writeEntities(writes: readonly EntityWrite[]): void {
    const list = [...this.shown]
    const added: EntityWrite[] = []
    for (const write of writes) {
      const at = list.findIndex(item => this.idOrUndefined(item) === write.id)
      if (write.value === undefined) {
        if (at >= 0) list.splice(at, 1)
      } else if (at >= 0) list[at] = write.value as T
      else added.push(write)
    }
    added.sort((a, b) => (a.index ?? list.length) - (b.index ?? list.length))
    for (const write of added)
      list.splice(Math.min(write.index ?? list.length, list.length), 0, write.value as T)
    this.store.update(list)
  }

  /** The items a render changed, added or removed, by id (for `undoManager`). */
  private changesShown(previous: readonly T[], next: readonly T[]): EntityEdit[] {
    const was = new Map<string, { item: T; index: number }>()
    previous.forEach((item, index) => {
      const id = this.idOrUndefined(item)
      if (id !== undefined) was.set(id, { item, index })
    })
    const edits: EntityEdit[] = []
    next.forEach((item, index) => {
      const id = this.idOrUndefined(item)
      if (id === undefined) return
      const old = was.get(id)
      was.delete(id)
      if (old?.item !== item) edits.push({ id, before: old?.item, after: item, index })
    })
    for (const [id, { item, index }] of was) edits.push({ id, before: item, after: undefined, index })
    return edits
  }

  /**
   * Reads the cached collection (its items, and the revision to subscribe
   * `since`) and the unsent edits of other clients (other tabs, an earlier
   * page), and shows them before any connection (`source` 'cache').
   */
  private loadCollection(): void {
    this.loadFromCache(async cache => {
      const { version } = this.resourceDef
      const collection = await cache.readCollection(this.resource, version)
      const entries = (await cache.readOutbox()).filter(entry => entry.resource === this.resource)
      if (this.stopped.peek() || this.subscribed.peek()) return
      let shown = false
      let complete = collection !== undefined
      for (const entity of collection?.entities ?? []) {
        if (entity.value === null) continue
        const decoded = this.decode(entity.value, entity.id)
        if (!decoded || !this.valid(decoded.value, entity.id)) {
          complete = false
          continue
        }
        let replica = this.replicas.get(entity.id)
        if (!replica) {
          replica = this.makeReplica(entity.id, undefined)
          this.replicas.set(entity.id, replica)
          this.order.push(entity.id)
        }
        if (replica.loadCached(decoded.value, entity.rev, true)) this.cacheWriter?.markConfirmed(replica)
        shown = true
      }
      if (collection && collection.entities.length < collection.ids.length) complete = false
      // Only a collection whose every item is cached can be brought up to date with `since`.
      if (complete && collection && this.since === undefined) this.since = collection.rev
      for (const entry of entries) if (this.showForeignEntry(entry)) shown = true
      if (!shown && !collection) return
      this.persistMany(this.replicas.values())
      this.render()
      this.shownFrom('cache')
    })
  }

  protected foreignTarget(entry: OutboxEntry): EntityReplica | undefined {
    const existing = this.replicas.get(entry.id)
    if (existing) return existing
    // An item another client added (a whole value): shown until the server has it.
    if (entry.kind !== 'put' && entry.kind !== 'create') return undefined
    const replica = this.makeReplica(entry.id, undefined)
    this.replicas.set(entry.id, replica)
    this.order.push(entry.id)
    return replica
  }

  protected replicaOf(id: string): EntityReplica | undefined {
    return this.replicas.get(id)
  }

  protected refresh(replica: EntityReplica): void {
    this.persist(replica)
    this.render()
  }

  /** The cache's collection update for `replicas` after the server's answer: present ids added, the rest removed. */
  private collectionUpdate(replicas: Iterable<EntityReplica>): CollectionUpdate | undefined {
    if (this.since === undefined) return undefined
    const add: string[] = []
    const remove: string[] = []
    for (const replica of replicas) {
      if (replica.server.kind === 'present') add.push(replica.id)
      else if (replica.server.kind === 'absent') remove.push(replica.id)
    }
    return {
      resource: this.resource,
      version: this.resourceDef.version,
      rev: this.since,
      ids: { add, remove },
    }
  }

  protected push(): void {
    if (
      this.stopped.peek() ||
      this.holding ||
      this.connection.state.peek() !== 'ready' ||
      !this.subscribed.peek()
    )
      return
    for (const replica of this.replicas.values()) this.sendFrom(replica)
  }

  protected allReplicas(): Iterable<EntityReplica> {
    return this.replicas.values()
  }

  fieldStatus(id: string, field: FieldRef = ''): ReadonlySignal<FieldStatus> {
    const path = fieldPathOf(field)
    const key = [id, ...path].join('\u0000')
    let status = this.fieldStatuses.get(key)
    if (!status) {
      status = computed(() => {
        this.outboxChanged.value
        return this.replicas.get(id)?.fieldState(path) ?? 'synced'
      })
      this.fieldStatuses.set(key, status)
    }
    return status
  }

  private render(): void {
    this.updatePending()
    const next: T[] = []
    const order: string[] = []
    for (const id of this.order) {
      const replica = this.replicas.get(id)
      if (!replica || replica.deleting || replica.foreignDeleting) continue
      if (
        replica.server.kind !== 'present' &&
        replica.pendingCount === 0 &&
        !replica.showsForeign &&
        this.subscribed.peek()
      ) {
        // Known absent on the server and nothing on its way there.
        this.replicas.delete(id)
        continue
      }
      order.push(id)
      next.push(this.itemView(id, replica))
    }
    this.order = order
    this.markShown()
    const list = this.shown
    if (list.length === next.length && next.every((item, i) => item === list[i])) return
    this.shown = next
    if (this._edits.active) this._edits.shown(this.changesShown(list, next))
    this.store.update(next)
  }

  /**
   * Shows the new view of one replica when nothing else changed since the
   * store showed every view: its item is replaced where it is, without
   * rebuilding the list. Anything else (an item not shown, deleted, gone
   * from the server) goes through {@link render}.
   * @param change - A remote field change that `showsInPlace` allowed: only
   *   its paths are compared (see `shownAfter`); without it the item's whole view is.
   * @param shared - The store held the replica's confirmed value itself and nothing was on top.
   */
  private renderItem(replica: EntityReplica, change?: ChangeMessage, shared = false): void {
    const id = replica.id
    const last = this.shownItems.get(id)
    const index = last === undefined ? -1 : this.shown.indexOf(last)
    if (
      index < 0 ||
      this.replicas.get(id) !== replica ||
      replica.deleting ||
      replica.foreignDeleting ||
      replica.server.kind !== 'present'
    ) {
      this.render()
      return
    }
    let item: T
    if (change) item = shownAfter(last, replica.view(), change.set, change.unset, shared) as T
    else {
      // Pending counts may have changed with an answer; a remote field change leaves them.
      this.updatePending()
      item = this.itemView(id, replica)
    }
    this.markShown()
    if (item === last) return
    this.shownItems.set(id, item)
    const next = this.shown.slice()
    next[index] = item
    this.shown = next
    if (this._edits.active) this._edits.shown([{ id, before: last, after: item, index }])
    this.store.update(next)
  }

  private itemView(id: string, replica: EntityReplica): T {
    const view = replica.view() as T
    const last = this.shownItems.get(id)
    if (last !== undefined && deepEqual(last, view)) return last
    this.shownItems.set(id, view)
    return view
  }

  protected onReady(): void {
    this.buffer = emptyBuffer()
    this.clearSubscriptionRefusal('SNAPSHOT_TOO_LARGE')
    this.connection.write(
      this.since === undefined
        ? { t: 'sub', r: this.resource }
        : { t: 'sub', r: this.resource, since: this.since },
    )
  }

  protected onConnectionLost(): void {
    this.buffer = emptyBuffer()
  }

  private seen(rev: number): void {
    if (this.since !== undefined && rev > this.since) this.since = rev
  }

  handle(message: ServerMessage): void {
    switch (message.t) {
      case 'snap':
        if ('items' in message) {
          const buffer = this.buffer
          if (buffer.kind !== 'open') return
          buffer.pages.push(message)
          if (this.charge(buffer, message.items.length + message.gone.length) && !message.more)
            this.applySnapshot(buffer)
        } else {
          // The current value sent back for a create-only put that found the entity.
          const replica = this.replicas.get(message.id)
          if (!replica || message.value === null) return
          const decoded = this.decode(message.value, message.id)
          if (!decoded || !this.valid(decoded.value, message.id)) return
          replica.applySnapshot(decoded.value, message.rev, true)
          this.persist(replica)
          this.render()
        }
        return
      case 'change': {
        if (!this.subscribed.peek()) {
          this.hold(message)
          return
        }
        this.seen(message.rev)
        let replica = this.replicas.get(message.id)
        const inPlace = replica !== undefined && this.showsInPlace(replica, message)
        const shared =
          inPlace && replica?.bare === true && this.shownItems.get(message.id) === replica.confirmed
        if (!replica) {
          replica = this.makeReplica(message.id, undefined, 'remote')
          this.replicas.set(message.id, replica)
          this.order.push(message.id)
        }
        if (this.applyRemoteChange(replica, message)) {
          if (this.cacheWriter) this.persistMany([replica], this.collectionUpdate([replica]))
          if (inPlace) this.renderItem(replica, message, shared)
          else this.render()
        }
        return
      }
      case 'gone': {
        if (!this.subscribed.peek()) {
          this.hold(message)
          return
        }
        this.seen(message.rev)
        const replica = this.replicas.get(message.id)
        if (replica && message.rev > replica.rev) {
          this.replicas.delete(message.id)
          this.shownItems.delete(message.id)
          replica.applyGone(message.rev)
          this.persistMany([replica], this.collectionUpdate([replica]))
          this.render()
        }
        return
      }
      case 'ack':
        this.answer(message)
        return
      case 'reject':
        if (message.op !== undefined) this.answer(message)
        else if (message.id === undefined) this.subscriptionRefused(message.code, message.message, undefined)
        return
      default:
        return
    }
  }

  protected answered(
    replica: EntityReplica,
    wasDeleting: boolean,
    rev: number | undefined,
    inStep: boolean,
  ): void {
    if (rev !== undefined) this.seen(rev)
    if (this.cacheWriter) this.persistMany([replica], this.collectionUpdate([replica]))
    // An answer to the write of an item removed and added again since is the old item's.
    if (this.replicas.get(replica.id) !== replica) return
    if (inStep && !wasDeleting) {
      this.renderItem(replica)
      return
    }
    if (wasDeleting && !replica.deleting) {
      // The delete was answered. The server may have the entity again (made
      // by someone else after it): then it is shown again.
      if (replica.server.kind === 'present') {
        if (!this.order.includes(replica.id)) this.order.push(replica.id)
      } else this.replicas.delete(replica.id)
    }
    this.render()
  }

  /** Keeps a change or delete that came before the snapshot's last page. */
  private hold(message: ServerMessage): void {
    const buffer = this.buffer
    if (buffer.kind !== 'open') return
    buffer.held.push(message)
    this.charge(buffer, 1)
  }

  /**
   * Counts what the buffer took in; past a bound the snapshot is dropped.
   * @returns false when the snapshot was dropped.
   */
  private charge(buffer: SnapshotBuffer & { kind: 'open' }, items: number): boolean {
    buffer.items += items
    if (buffer.frame !== this.connection.frameNumber) {
      buffer.frame = this.connection.frameNumber
      buffer.chars += this.connection.frameLength
    }
    const { maxSnapshotItems, maxSnapshotBytes } = this.limits
    if (buffer.items <= maxSnapshotItems && buffer.chars <= maxSnapshotBytes) return true
    // Dropping what was buffered loses nothing for good: the server still has
    // it, the local items and edits stay, and the next subscription (after
    // the connection reopens) asks for it again. Until then the sync shows
    // offline and says why, rather than hold without bound.
    this.buffer = { kind: 'abandoned' }
    this.connection.write({ t: 'unsub', r: this.resource })
    this.subscriptionRefused(
      'SNAPSHOT_TOO_LARGE',
      `syncList(): the snapshot of "${this.resource}" passed ${
        buffer.items > maxSnapshotItems
          ? `maxSnapshotItems (${maxSnapshotItems})`
          : `maxSnapshotBytes (${maxSnapshotBytes})`
      } before its last page; it was dropped and is asked for again when the connection reopens`,
      undefined,
    )
    return false
  }

  private applySnapshot(buffer: SnapshotBuffer & { kind: 'open' }): void {
    const pages = buffer.pages
    this.buffer = emptyBuffer()
    // A since older than the server still covers is answered in full.
    const incremental = this.since !== undefined && !pages.some(page => page.full === true)
    const present = new Set<string>()
    let rev = 0
    for (const page of pages) {
      rev = Math.max(rev, page.rev)
      for (const item of page.items) this.applyItem(item, present)
      for (const id of page.gone) {
        const replica = this.replicas.get(id)
        // A replica whose existence is unknown was added here meanwhile: it is an offer (below), not gone.
        if (replica && replica.server.kind !== 'unknown' && !replica.hasUnsent) {
          this.replicas.delete(id)
          this.shownItems.delete(id)
        }
      }
    }
    // After any snapshot the client knows the whole collection: a local item
    // still of unknown existence (added offline or before the snapshot) that
    // the server does not have is an offer, created only if still absent. A
    // full snapshot also tells that items known to exist were deleted remotely.
    for (const replica of this.replicas.values()) {
      if (present.has(replica.id)) continue
      if (replica.server.kind === 'unknown') replica.applySnapshot(undefined, 0, false)
      else if (incremental) continue
      else if (replica.server.kind === 'present' && replica.pendingCount === 0)
        this.replicas.delete(replica.id)
      else replica.applySnapshot(undefined, 0, false)
    }
    this.since = Math.max(this.since ?? 0, rev)
    this.subscribed.value = true
    const ids = [...this.replicas.values()].filter(r => r.server.kind === 'present').map(r => r.id)
    const full = !incremental || pages.some(page => page.full === true)
    this.persistMany(this.replicas.values(), {
      resource: this.resource,
      version: this.resourceDef.version,
      rev: this.since,
      ids: full ? { replace: ids } : { add: ids, remove: pages.flatMap(page => page.gone) },
    })
    for (const message of buffer.held) this.handle(message)
    this.render()
    this.shownFrom('server')
    this.push()
  }

  private applyItem(item: SnapItem, present: Set<string>): void {
    if (typeof item?.id !== 'string') return
    const decoded = this.decode(item.value, item.id)
    if (!decoded || !this.valid(decoded.value, item.id)) return
    present.add(item.id)
    let replica = this.replicas.get(item.id)
    if (!replica) {
      replica = this.makeReplica(item.id, undefined, 'remote')
      this.replicas.set(item.id, replica)
      this.order.push(item.id)
    }
    if (item.rev >= replica.rev || replica.server.kind !== 'present')
      replica.applySnapshot(decoded.value, item.rev, true)
  }

  protected detachAll(): void {
    this.unwatch()
    this.connection.detach(this)
    this._edits.close()
  }
}

/**
 * Keeps a list store equal to every entity of a resource on the server, both
 * ways, keyed by the resource id: items added, changed or removed on any
 * client appear on all. Each item syncs like `syncWith` (field patches,
 * offers, offline edits); the list order is the local order, with items new
 * to this client appended in the server's creation order.
 *
 * @param store - A store holding `T[]`.
 * @param target - A `Socket` (shared, reconnecting connection) or a `Session` you manage.
 * @param resource - The entity kind: name, id, serializer, schema.
 * @param options - Bounds on a snapshot held before its last page (`maxSnapshotItems`, `maxSnapshotBytes`).
 * @returns The running sync: `status`, `pending`, `errors`, `flush()`, `stop()`, `fieldStatus(id, field)`, and
 *   `ready` / `source` (the cached value or the server's shown; see the socket's `cache` option).
 * @throws SyncError `BAD_ARGUMENT` when an option is not a positive integer or `Infinity`, the
 *   store does not hold an array, or two items have no valid or the same id.
 * @example
 * const chat = syncList(messages, websocket(url), MessageResource)
 */
export function syncList<T>(
  store: Store<T[]>,
  target: Socket | Session,
  resource: Resource<T>,
  options: SyncListOptions = {},
): ListSyncHandle {
  return new ListSync(store, target, resource, options)
}
