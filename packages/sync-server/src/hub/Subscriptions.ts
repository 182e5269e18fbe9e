/**
 * @internal
 * Who is subscribed to what: per resource, the subscribers of the whole
 * collection and those of single entities. `T` is the hub's client state.
 */
export class _Subscriptions<T> {
  private readonly _resources = new Map<string, { all: Set<T>; byId: Map<string, Set<T>> }>()

  /**
   * Subscribes `client` to a collection (`id` undefined) or one entity.
   *
   * @returns `true` when it is new, `false` when it already existed.
   */
  add(client: T, resource: string, id: string | undefined): boolean {
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
    if (set.has(client)) return false
    set.add(client)
    return true
  }

  /** Ends one subscription. @returns `true` when there was one. */
  delete(client: T, resource: string, id: string | undefined): boolean {
    const entry = this._resources.get(resource)
    if (!entry) return false
    let removed: boolean
    if (id === undefined) removed = entry.all.delete(client)
    else {
      const forId = entry.byId.get(id)
      removed = forId?.delete(client) ?? false
      if (forId && forId.size === 0) entry.byId.delete(id)
    }
    if (entry.all.size === 0 && entry.byId.size === 0) this._resources.delete(resource)
    return removed
  }

  /** Whether `client` is subscribed to this entity (itself or through its collection). */
  covers(client: T, resource: string, id: string): boolean {
    const entry = this._resources.get(resource)
    return !!entry && (entry.all.has(client) || (entry.byId.get(id)?.has(client) ?? false))
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
