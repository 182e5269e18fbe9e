import type { Resource, Session, Socket, Sync } from '@lensync/sync-client'

/**
 * `syncWith` or `syncList`.
 *
 * @internal
 */
export type StartSync<S, T> = (store: S, target: Socket | Session, resource: Resource<T>) => Sync

/**
 * A claim on a running sync; `release()` gives it back (once).
 *
 * @internal
 */
export interface SyncLease {
  readonly sync: Sync
  release(): void
}

interface Entry {
  readonly sync: Sync
  users: number
}

// One node per prefix of the key (start, store, socket, resource); weak, so a
// store, socket or resource nobody holds any more takes its node with it.
interface KeyNode {
  entry: Entry | undefined
  readonly children: WeakMap<object, KeyNode>
}

const root: KeyNode = { entry: undefined, children: new WeakMap() }

function nodeFor(keys: readonly object[]): KeyNode {
  let node = root
  for (const key of keys) {
    let child = node.children.get(key)
    if (!child) {
      child = { entry: undefined, children: new WeakMap() }
      node.children.set(key, child)
    }
    node = child
  }
  return node
}

/**
 * Claims the sync of `store` with `resource` over `target`, started with
 * `start` (one sync per such quadruple for the whole page, shared by every
 * component that asks for it).
 *
 * The last release stops the sync one microtask later, not at once: React
 * runs an effect's cleanup and the effect again back to back when StrictMode
 * simulates an unmount, and when a component is replaced by one with the
 * same arguments. Claimed again in between, the sync (and the WebSocket under
 * it) simply goes on.
 *
 * @internal
 */
export function acquireSync<S extends object, T>(
  start: StartSync<S, T>,
  store: S,
  target: Socket | Session,
  resource: Resource<T>,
): SyncLease {
  const node = nodeFor([start, store, target, resource])
  let entry = node.entry
  if (entry) entry.users++
  else {
    entry = { sync: start(store, target, resource), users: 1 }
    node.entry = entry
  }
  const claimed = entry
  let released = false
  return {
    sync: claimed.sync,
    release() {
      if (released) return
      released = true
      if (--claimed.users > 0) return
      queueMicrotask(() => {
        if (claimed.users > 0 || node.entry !== claimed) return
        node.entry = undefined
        claimed.sync.stop()
      })
    },
  }
}
