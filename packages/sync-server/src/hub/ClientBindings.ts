/** How many client ids one node remembers the principal of; the least recently used are forgotten first. */
export const CLIENT_BINDINGS = 100_000

/**
 * @internal
 * With `authenticate`: which principal each client id belongs to — the first
 * that used it, in a `hello` or as a write's `client`. A client id names an
 * outbox and the writes applied from it (`Storage.applied`), so another
 * principal using it could make the server take that client's future writes
 * for resends and drop them; it is refused (4403, `reject FORBIDDEN`).
 *
 * Kept per node in memory, bounded to {@link CLIENT_BINDINGS} ids (least
 * recently used forgotten first; an id in use is touched on every use). So
 * the binding is not durable: after a restart, on another node, or once
 * forgotten, the next principal to use an id is bound to it. Principals are
 * compared by `principalKey` (a string per principal).
 */
export class _ClientBindings {
  private readonly _owners = new Map<string, string>()

  constructor(
    private readonly _keyOf: (principal: unknown) => string,
    private readonly _capacity = CLIENT_BINDINGS,
  ) {}

  /**
   * Binds a client id to a principal unless another principal holds it.
   *
   * @returns `false` when the id belongs to another principal.
   */
  bind(client: string, principal: unknown): boolean {
    const key = this._keyOf(principal)
    const owner = this._owners.get(client)
    if (owner !== undefined && owner !== key) return false
    // Most recently used last.
    this._owners.delete(client)
    this._owners.set(client, key)
    if (this._owners.size > this._capacity) {
      const oldest = this._owners.keys().next().value as string
      this._owners.delete(oldest)
    }
    return true
  }
}

/**
 * The default `principalKey`: a string, number, bigint or boolean principal
 * is its own key; an object with a string or number `id` is keyed by it
 * (`authenticate` may return a fresh object per connection); any other
 * object by its JSON (or, when it has none, by identity).
 *
 * @param principal - What `authenticate` returned.
 * @returns A string that is equal for the same principal.
 */
export function defaultPrincipalKey(principal: unknown): string {
  switch (typeof principal) {
    case 'string':
      return `s:${principal}`
    case 'number':
    case 'bigint':
    case 'boolean':
      return `${typeof principal}:${String(principal)}`
    case 'object': {
      const id = (principal as { id?: unknown } | null)?.id
      if (typeof id === 'string' || typeof id === 'number') return `id:${typeof id}:${id}`
      try {
        return `json:${JSON.stringify(principal)}`
      } catch {
        // Not JSON (a cycle, a BigInt): the object itself.
        return identityKey(principal as object)
      }
    }
    default:
      return typeof principal
  }
}

const identities = new WeakMap<object, string>()
let nextIdentity = 0

function identityKey(object: object): string {
  let key = identities.get(object)
  if (key === undefined) {
    key = `ref:${++nextIdentity}`
    identities.set(object, key)
  }
  return key
}
