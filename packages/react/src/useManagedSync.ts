import type { Resource, Session, Socket, Sync } from '@lensync/sync-client'
import { useEffect, useState } from 'react'
import { ComponentSync } from './ComponentSync.ts'
import { acquireSync, type StartSync } from './syncRegistry.ts'

/**
 * Runs `start(store, target, resource)` while the component is mounted: claimed
 * in an effect (never during render, so the server and discarded renders start
 * nothing), released in its cleanup.
 *
 * @internal
 */
export function useManagedSync<S extends object, T>(
  start: StartSync<S, T>,
  store: S,
  target: Socket | Session,
  resource: Resource<T>,
): Sync {
  const [handle] = useState(() => new ComponentSync())
  useEffect(() => {
    handle.attach(acquireSync(start, store, target, resource))
    return () => handle.detach()
  }, [handle, start, store, target, resource])
  return handle
}
