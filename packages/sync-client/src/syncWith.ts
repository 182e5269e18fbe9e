import type { Store } from '@lensync/store'
import { EntityReplica } from './EntityReplica.ts'
import { diffFields } from './paths.ts'
import type { ServerMessage } from './protocol.ts'
import type { Resource } from './resource.ts'
import { SyncBase } from './SyncBase.ts'
import { connectionFor } from './SyncConnection.ts'
import type { Sync } from './syncTypes.ts'
import type { Session, Socket } from './types.ts'

class EntitySync<T> extends SyncBase<T> {
  entityId: string
  private replica: EntityReplica
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
    this.replica = new EntityReplica(this.entityId, this.shown)
    this.connection.attach(this)
    this.unwatch = store.data.subscribe(value => this.local(value))
  }

  private idOf(value: T): string {
    const id = this.resourceDef.id(value)
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(`syncWith(): resource "${this.resource}" gave an empty or non-string id`)
    }
    return id
  }

  private local(value: T): void {
    if (value === this.shown || this.stopped.peek()) return
    const before = this.shown
    this.shown = value
    let id: string
    try {
      id = this.idOf(value)
    } catch {
      return
    }
    if (id !== this.entityId) {
      // Another entity: the old subscription ends and the value is an offer for the new id.
      const old = this.entityId
      this.entityId = id
      this.replica = new EntityReplica(id, value)
      this.subscribed.value = false
      this.connection.detach(this, old, true)
      this.connection.attach(this)
      this.updatePending()
      return
    }
    if (this.replica.localEdit(before, value)) {
      this.updatePending()
      this.schedulePush()
    }
  }

  protected push(): void {
    if (this.stopped.peek() || this.holding || this.connection.state.peek() !== 'ready') return
    this.sendFrom(this.replica)
  }

  private render(): void {
    const view = this.replica.view() as T
    this.updatePending()
    const diff = diffFields(this.shown, view)
    if (diff.set.length === 0 && diff.unset.length === 0) return
    this.shown = view
    this.store.update(view)
  }

  private updatePending(): void {
    this._pending.value = this.replica.pendingCount
  }

  connectionReady(): void {
    this.replica.resetInFlight()
    this.connection.write({ t: 'sub', r: this.resource, id: this.entityId })
    this.push()
  }

  protected onConnectionLost(): void {
    this.replica.resetInFlight()
  }

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
        this.render()
        this.push()
        return
      }
      case 'change':
        if (message.id !== this.entityId || !this.applyRemoteChange(replica, message)) return
        this.render()
        this.push()
        return
      case 'gone':
        if (message.id === this.entityId && replica.applyGone(message.rev)) this.render()
        return
      case 'ack':
        this.accepted()
        if (replica.applyAck(message.op, message.rev, message.applied !== false)) {
          this.render()
          this.push()
        }
        return
      case 'reject': {
        if (message.op === undefined) {
          if (message.id === this.entityId) {
            this.subscriptionRefused(
              message.code === 'FORBIDDEN' ? 'FORBIDDEN' : message.code,
              message.message,
              message.id,
            )
          }
          return
        }
        if (message.code === 'NOT_FOUND' && replica.markMissing(message.op)) {
          this.push()
          return
        }
        if (message.code === 'RATE_LIMITED') {
          if (replica.unsend(message.op)) this.retryLater(message, this.entityId)
          return
        }
        if (replica.applyReject(message.op)) {
          this.render()
          this.reportReject(message, this.entityId)
          this.push()
        }
        return
      }
      default:
        return
    }
  }

  protected detachAll(): void {
    this.unwatch()
    this.connection.detach(this)
  }
}

/**
 * Keeps `store` equal to one entity on the server, both ways (fritz2's
 * `syncWith`, without its holes). The store's value when the sync starts is
 * an offer (created on the server only if the entity does not exist there);
 * later changes are sent as field patches; remote changes are applied and
 * never sent back; edits made offline are sent after reconnecting; a changed
 * entity id starts the sync over for the new id.
 *
 * All syncs over one `Socket` share one reconnecting WebSocket.
 *
 * @param store - The store holding the entity (a root store or a sub-store).
 * @param target - A `Socket` (shared, reconnecting connection) or a `Session` you manage.
 * @param resource - The entity kind: name, id, serializer, schema.
 * @returns The running sync: `status`, `pending`, `errors`, `flush()`, `stop()`.
 * @example
 * const sync = syncWith(personStore, websocket(url), PersonResource)
 * await sync.flush()
 */
export function syncWith<T>(store: Store<T>, target: Socket | Session, resource: Resource<T>): Sync {
  return new EntitySync(store, target, resource)
}
