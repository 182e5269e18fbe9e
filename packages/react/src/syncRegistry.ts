import type { Resource, Session, Socket, Sync } from '@lensync/sync-client'

/**
 * `syncWith` or `syncList`.
 *
 * @internal
 */
export type StartSync<S, T> = (store: S, target: Socket | Session, resource: Resource<T>) => Sync

/**
 * A claim on something running (a sync, a presence room); `release()` gives it back (once).
 *
 * @internal
 */
export interface Lease<R> {
  readonly running: R
  release(): void
}

/**
 * A claim on a running sync.
 *
 * @internal
 */
export interface SyncLease {
  readonly sync: Sync
  release(): void
}

interface Entry {
  readonly running: { stop(): void }
  users: number
}

// One node per prefix of the key. Objects (a start function, a store, a
// socket, a resource) are held weakly, so one nobody holds any more takes its
// node with it; a string (a room name) is held by its parent's node.
interface KeyNode {
  entry: Entry | undefined
  readonly objects: WeakMap<object, KeyNode>
  readonly values: Map<unknown, KeyNode>
}

const newNode = (): KeyNode => ({ entry: undefined, objects: new WeakMap(), values: new Map() })
const root: KeyNode = newNode()

function nodeFor(keys: readonly unknown[]): KeyNode {
  let node = root
  for (const key of keys) {
    const isObject = (typeof key === 'object' && key !== null) || typeof key === 'function'
    let child = isObject ? node.objects.get(key as object) : node.values.get(key)
    if (!child) {
      child = newNode()
      if (isObject) node.objects.set(key as object, child)
      else node.values.set(key, child)
    }
    node = child
  }
  return node
}

/**
 * Claims what runs under `keys` (one per key for the whole page, shared by
 * every component that asks for it), started with `start()` by the first claim.
 *
 * The last release stops it one microtask later, not at once: React runs an
 * effect's cleanup and the effect again back to back when StrictMode
 * simulates an unmount, and when a component is replaced by one with the
 * same arguments. Claimed again in between, it (and the WebSocket under it)
 * simply goes on.
 *
 * @internal
 */
export function acquire<R extends { stop(): void }>(keys: readonly unknown[], start: () => R): Lease<R> {
  const node = nodeFor(keys)
  let entry = node.entry
  if (entry) entry.users++
  else {
    entry = { running: start(), users: 1 }
    node.entry = entry
  }
  const claimed = entry
  let released = false
  return {
    running: claimed.running as R,
    release() {
      if (released) return
      released = true
      if (--claimed.users > 0) return
      queueMicrotask(() => {
        if (claimed.users > 0 || node.entry !== claimed) return
        node.entry = undefined
        claimed.running.stop()
      })
    },
  }
}

/**
 * Claims the sync of `store` with `resource` over `target`, started with
 * `start` (one sync per such quadruple for the whole page); see {@link acquire}.
 *
 * @internal
 */
export function acquireSync<S extends object, T>(
  start: StartSync<S, T>,
  store: S,
  target: Socket | Session,
  resource: Resource<T>,
): SyncLease {
  const lease = acquire([start, store, target, resource], () => start(store, target, resource))
  return { sync: lease.running, release: () => lease.release() }
}
