import type { Store } from '@lensync/store'
import { type Resource, type Session, type Socket, type Sync, syncWith } from '@lensync/sync-client'
import { useManagedSync } from './useManagedSync.ts'

/**
 * Keeps `store` equal to one entity on the server (`syncWith`) while the
 * component is mounted: started in an effect after the first commit, stopped
 * when the component unmounts or an argument changes.
 *
 * StrictMode-safe: its simulated unmount/remount keeps the same sync (the stop
 * waits a microtask and is called off by the remount), so a page still opens
 * one WebSocket per socket. Components asking for the same store, socket and
 * resource share one sync; it stops when the last of them unmounts.
 *
 * The returned `Sync` exists from the first render: `status` is `connecting`
 * until the effect ran (and on the server, where no effect runs), `offline`
 * after unmount; `flush()` called before the start waits for it. Read its
 * signals with {@link useValue}.
 *
 * Create the store, the socket and the resource outside the component (module
 * scope, or `useState(() => …)`): a new one on every render would restart the
 * sync on every render.
 *
 * @param store - The store to keep in sync (root or sub-store).
 * @param target - A `Socket` (`websocket(url)`; every sync over it shares one connection) or a `Session`.
 * @param resource - The resource (`resource<T>({ name, id })`).
 * @returns The sync (`status`, `pending`, `errors`, `flush()`, `stop()`).
 * @example
 * const socket = websocket('/sync')
 * const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
 * const person = storeOf<Person>({ _id: 'p1', name: '', age: 0 })
 *
 * function PersonForm() {
 *   const sync = useSyncWith(person, socket, PersonResource)
 *   const status = useValue(sync.status)
 *   const [name, setName] = useStore(person.map(L.name))
 *   return <label>{status} <input value={name} onChange={e => setName(e.target.value)} /></label>
 * }
 */
export function useSyncWith<T>(store: Store<T>, target: Socket | Session, resource: Resource<T>): Sync {
  return useManagedSync<Store<T>, T>(syncWith, store, target, resource)
}
