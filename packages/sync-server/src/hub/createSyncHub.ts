import type { Storage } from '../storage/Storage.ts'
import { SyncHub } from './SyncHub.ts'
import { _resolveSyncOptions } from './syncOptions.ts'
import type { SyncRouteOptions } from './syncTypes.ts'

/**
 * Creates a sync hub on a storage, without a transport: attach connections
 * with `hub.connect()`. `syncRoute` does this for WebSocket sessions; use
 * the hub directly for another transport or to share one hub between routes.
 *
 * @param storage - Where entities live (`sqliteStorage()`, `memoryStorage()` …).
 * @param options - Every `syncRoute` option except `storage` and `dataFile`.
 * @returns The hub.
 * @throws TypeError naming an option with a bad value.
 * @example
 * const hub = createSyncHub(memoryStorage(), { node: 'a' })
 * const client = hub.connect({ id: '1', send: text => ws.send(text), close: (c, r) => ws.close(c, r) }, request)
 */
export function createSyncHub(
  storage: Storage,
  options: Omit<SyncRouteOptions, 'storage' | 'dataFile'> = {},
): SyncHub {
  checkStorage(storage, 'createSyncHub(storage)')
  return new SyncHub(storage, _resolveSyncOptions(options, 'createSyncHub(storage, options)'))
}

/** @internal Checks that something implements `Storage`, with a message that says what is missing. */
export function checkStorage(storage: unknown, where: string): asserts storage is Storage {
  const methods = ['get', 'revision', 'list', 'commit', 'close'] as const
  const missing = methods.filter(
    name => typeof (storage as Record<string, unknown> | null)?.[name] !== 'function',
  )
  if (missing.length > 0) {
    throw new TypeError(
      `${where}: storage must implement Storage (sqliteStorage(), memoryStorage() or your own); missing ${missing.join(', ')}`,
    )
  }
}
