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
 */
export class _ClientSubscriptions<T> {
  /**
   * `[resource, id, resource, id, …]`, `id` undefined for a collection: flat,
   * no object per subscription. Ending one moves the last into its place.
   */
  private _pairs: (string | undefined)[] | undefined = undefined
  /** Past {@link SCANNED_SUBSCRIPTIONS}: where each subscription is in `_pairs`, by key. */
  private _positions: Map<string, number> | undefined = undefined

  constructor(
    private readonly _owner: T,
    private readonly _index: _SubscriptionIndex<T>,
  ) {}

  /** How many subscriptions the connection holds. */
  get size(): number {
    return this._pairs === undefined ? 0 : this._pairs.length / 2
  }

  /** Whether the connection is subscribed to this collection (`id` undefined) or entity. */
  has(resource: string, id: string | undefined): boolean {
    return this._find(resource, id) >= 0
  }

  /** Subscribes (again: nothing changes). */
  add(resource: string, id: string | undefined): void {
    if (this._find(resource, id) >= 0) return
    const pairs = this._pairs
    if (pairs === undefined) this._pairs = [resource, id]
    else {
      pairs.push(resource, id)
      if (this._positions !== undefined) this._positions.set(targetKey(resource, id), pairs.length - 2)
      else if (pairs.length > SCANNED_SUBSCRIPTIONS * 2) {
        const positions = new Map<string, number>()
        for (let i = 0; i < pairs.length; i += 2)
          positions.set(targetKey(pairs[i] as string, pairs[i + 1]), i)
        this._positions = positions
      }
    }
    this._index.add(this._owner, resource, id)
  }

  /** Ends one subscription (none: nothing changes). */
  delete(resource: string, id: string | undefined): void {
    const at = this._find(resource, id)
    if (at < 0) return
    const pairs = this._pairs as (string | undefined)[]
    const last = pairs.length - 2
    this._positions?.delete(targetKey(resource, id))
    if (at !== last) {
      const movedResource = pairs[last] as string
      const movedId = pairs[last + 1]
      pairs[at] = movedResource
      pairs[at + 1] = movedId
      this._positions?.set(targetKey(movedResource, movedId), at)
    }
    pairs.length = last
    this._index.delete(this._owner, resource, id)
  }

  /** Ends every subscription (the connection is gone). */
  clear(): void {
    const pairs = this._pairs
    this._pairs = undefined
    this._positions = undefined
    if (pairs === undefined) return
    for (let i = 0; i < pairs.length; i += 2)
      this._index.delete(this._owner, pairs[i] as string, pairs[i + 1])
  }

  /** Where the subscription is in `_pairs`; -1 when there is none. */
  private _find(resource: string, id: string | undefined): number {
    const pairs = this._pairs
    if (pairs === undefined) return -1
    if (this._positions !== undefined) return this._positions.get(targetKey(resource, id)) ?? -1
    for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === resource && pairs[i + 1] === id) return i
    return -1
  }
}

/** The key of a subscription; `c` for a collection, `e` for an entity (the length keeps names apart). */
function targetKey(resource: string, id: string | undefined): string {
  return id === undefined ? `c${resource.length}:${resource}` : `e${resource.length}:${resource}${id}`
}
