import { indexedDbCache, websocket } from '@lensync/sync-client'

/**
 * Where the sync server is: `?server=ws://host:port/sync` (used by the e2e
 * tests), else `VITE_LENSYNC_URL`, else `/sync` on this page's own host
 * (the Vite dev/preview server forwards it to the sync server).
 */
export function syncUrl(): string {
  const fromQuery = new URLSearchParams(location.search).get('server')
  if (fromQuery) return fromQuery
  const fromEnv = import.meta.env.VITE_LENSYNC_URL as string | undefined
  if (fromEnv) return fromEnv
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`
}

/**
 * The list as last synced and the edits not yet acknowledged, kept in this
 * browser's IndexedDB (one database per server): a reload while the server
 * is down shows the list with the offline edits, tabs see each other's edits
 * at once, and whichever tab is open sends them when the server is back.
 */
export const cache = indexedDbCache(`todo:${syncUrl()}`)

/** One socket for the whole page, made once at module scope (not in a component). */
export const socket = websocket(syncUrl(), { reconnect: { minDelay: 200, maxDelay: 2000 }, cache })
