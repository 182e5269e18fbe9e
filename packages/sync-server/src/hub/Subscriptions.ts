/**
 * @internal
 * Who is subscribed to what, for fan-out: per resource, the subscribers of
 * the whole collection and those of single entities. An index, kept in step
 * by each connection's {@link _ClientSubscriptions} (the one place a
 * subscription is added or ended); `T` is the hub's connection.
 */
export class _SubscriptionIndex<T> {
  private readonly _resources = new Map<string, { all: Set<T>; byId: Map<string, Set<T>> }>()

  /** Subscribes `client` to a collection (`id` undefined) or one entity. */
  add(client: T, resource: string, id: string | undefined): void {
    let entry = this._resources.get(resource)
    if (!entry) {
      entry = { all: new Set(), byId: new Map() }
      this._resources.set(resource, entry)
    }
    let set = entry.all
    if (id !== undefined) {
      let forId = entry.byId.get(id)
      if (!forId) {
        forId = new Set()
        entry.byId.set(id, forId)
      }
      set = forId
    }
    set.add(client)
  }

  /** Ends one subscription. */
  delete(client: T, resource: string, id: string | undefined): void {
    const entry = this._resources.get(resource)
    if (!entry) return
    if (id === undefined) entry.all.delete(client)
    else {
      const forId = entry.byId.get(id)
      forId?.delete(client)
      if (forId && forId.size === 0) entry.byId.delete(id)
    }
    if (entry.all.size === 0 && entry.byId.size === 0) this._resources.delete(resource)
  }

  /**
   * Calls `fn` once for every subscriber of an entity (collection and entity
   * subscribers, each once).
   */
  forEach(resource: string, id: string, fn: (client: T) => void): void {
    const entry = this._resources.get(resource)
    if (!entry) return
    for (const client of entry.all) fn(client)
    const forId = entry.byId.get(id)
    if (forId) for (const client of forId) if (!entry.all.has(client)) fn(client)
  }
}

/**
 * Subscriptions a connection looks up by scanning its list before it keeps a
 * map of them: most connections hold a few, and a `Map` costs a few hundred
 * bytes of memory per connection.
 */
const SCANNED_SUBSCRIPTIONS = 8

/**
 * @internal
 * One connection's subscriptions: counted for `maxSubscriptions`, checked by
 * a collection snapshot between pages, ended together when the connection
 * goes. Adding and ending here keeps the hub's {@link _SubscriptionIndex} in step.
 *
 * Kept in slots, no object per subscription: slot 0 in two fields (most
 * connections hold one subscription, and a list costs more than two fields),
 * the others as flat pairs in `_more`. Ending one moves the last into its slot.
 */
export class _ClientSubscriptions<T> {
  /** Slot 0: its resource (`undefined` while there is no subscription)… */
  private _resource: string | undefined = undefined
  /** …and its id (`undefined` for a collection). */
  private _id: string | undefined = undefined
  /** Slots 1…: `[resource, id, resource, id, …]`. */
  private _more: (string | undefined)[] | undefined = undefined
  /** Past {@link SCANNED_SUBSCRIPTIONS}: the slot of each subscription, by key. */
  private _positions: Map<string, number> | undefined = undefined

  constructor(
    private readonly _owner: T,
    private readonly _index: _SubscriptionIndex<T>,
  ) {}

  /** How many subscriptions the connection holds. */
  get size(): number {
    if (this._resource === undefined) return 0
    return this._more === undefined ? 1 : 1 + this._more.length / 2
  }

  /** Whether the connection is subscribed to this collection (`id` undefined) or entity. */
  has(resource: string, id: string | undefined): boolean {
    return this._find(resource, id) >= 0
  }

  /** Subscribes (again: nothing changes). */
  add(resource: string, id: string | undefined): void {
    if (this._find(resource, id) >= 0) return
    const slot = this.size
    this._set(slot, resource, id)
    if (this._positions !== undefined) this._positions.set(targetKey(resource, id), slot)
    else if (slot >= SCANNED_SUBSCRIPTIONS) {
      const positions = new Map<string, number>()
      for (let i = 0; i <= slot; i++) positions.set(targetKey(this._resourceAt(i), this._idAt(i)), i)
      this._positions = positions
    }
    this._index.add(this._owner, resource, id)
  }

  /** Ends one subscription (none: nothing changes). */
  delete(resource: string, id: string | undefined): void {
    const at = this._find(resource, id)
    if (at < 0) return
    const last = this.size - 1
    this._positions?.delete(targetKey(resource, id))
    if (at !== last) {
      const movedResource = this._resourceAt(last)
      const movedId = this._idAt(last)
      this._set(at, movedResource, movedId)
      this._positions?.set(targetKey(movedResource, movedId), at)
    }
    if (last === 0) {
      this._resource = undefined
      this._id = undefined
    } else (this._more as (string | undefined)[]).length = 2 * (last - 1)
    this._index.delete(this._owner, resource, id)
  }

  /** Ends every subscription (the connection is gone). */
  clear(): void {
    const size = this.size
    const resource = this._resource
    const id = this._id
    const more = this._more
    this._resource = undefined
    this._id = undefined
    this._more = undefined
    this._positions = undefined
    if (size === 0) return
    this._index.delete(this._owner, resource as string, id)
    if (more !== undefined)
      for (let i = 0; i < more.length; i += 2) this._index.delete(this._owner, more[i] as string, more[i + 1])
  }

  /** The slot of the subscription; -1 when there is none. */
  private _find(resource: string, id: string | undefined): number {
    if (this._resource === undefined) return -1
    if (this._positions !== undefined) return this._positions.get(targetKey(resource, id)) ?? -1
    if (this._resource === resource && this._id === id) return 0
    const more = this._more
    if (more !== undefined)
      for (let i = 0; i < more.length; i += 2)
        if (more[i] === resource && more[i + 1] === id) return 1 + i / 2
    return -1
  }

  private _resourceAt(slot: number): string {
    return (slot === 0 ? this._resource : (this._more as (string | undefined)[])[2 * (slot - 1)]) as string
  }

  private _idAt(slot: number): string | undefined {
    return slot === 0 ? this._id : (this._more as (string | undefined)[])[2 * (slot - 1) + 1]
  }

  /** Writes a slot (the next free one, or one being refilled). */
  private _set(slot: number, resource: string, id: string | undefined): void {
    if (slot === 0) {
      this._resource = resource
      this._id = id
      return
    }
    this._more ??= []
    this._more[2 * (slot - 1)] = resource
    this._more[2 * (slot - 1) + 1] = id
  }
}

/** The key of a subscription; `c` for a collection, `e` for an entity (the length keeps names apart). */
function targetKey(resource: string, id: string | undefined): string {
  return id === undefined ? `c${resource.length}:${resource}` : `e${resource.length}:${resource}${id}`
}
