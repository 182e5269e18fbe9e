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

/** @internal What one subscription is to: a collection (`id` undefined) or an entity. */
interface _Target {
  readonly resource: string
  readonly id: string | undefined
}

/**
 * @internal
 * One connection's subscriptions: counted for `maxSubscriptions`, checked by
 * a collection snapshot between pages, ended together when the connection
 * goes. Adding and ending here keeps the hub's {@link _SubscriptionIndex} in step.
 */
export class _ClientSubscriptions<T> {
  private readonly _targets = new Map<string, _Target>()

  constructor(
    private readonly _owner: T,
    private readonly _index: _SubscriptionIndex<T>,
  ) {}

  /** How many subscriptions the connection holds. */
  get size(): number {
    return this._targets.size
  }

  /** Whether the connection is subscribed to this collection (`id` undefined) or entity. */
  has(resource: string, id: string | undefined): boolean {
    return this._targets.has(targetKey(resource, id))
  }

  /** Subscribes (again: nothing changes). */
  add(resource: string, id: string | undefined): void {
    const key = targetKey(resource, id)
    if (this._targets.has(key)) return
    this._targets.set(key, { resource, id })
    this._index.add(this._owner, resource, id)
  }

  /** Ends one subscription (none: nothing changes). */
  delete(resource: string, id: string | undefined): void {
    if (!this._targets.delete(targetKey(resource, id))) return
    this._index.delete(this._owner, resource, id)
  }

  /** Ends every subscription (the connection is gone). */
  clear(): void {
    for (const { resource, id } of this._targets.values()) this._index.delete(this._owner, resource, id)
    this._targets.clear()
  }
}

/** The key of a subscription; `c` for a collection, `e` for an entity (the length keeps names apart). */
function targetKey(resource: string, id: string | undefined): string {
  return id === undefined ? `c${resource.length}:${resource}` : `e${resource.length}:${resource}${id}`
}
