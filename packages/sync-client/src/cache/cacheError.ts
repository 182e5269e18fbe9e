import { SyncError } from '../SyncError.ts'

/** The codes of the cache's errors, reported on `sync.errors`. @internal */
export type CacheErrorCode = 'CACHE_UNAVAILABLE' | 'CACHE_FULL'

/**
 * The error for a failed IndexedDB operation: `CACHE_FULL` when the browser's
 * quota refused it, `CACHE_UNAVAILABLE` otherwise.
 *
 * @param cause - What IndexedDB reported (a DOMException, usually).
 * @param doing - What the cache was doing, for the message ("writing the outbox").
 * @internal
 */
export function cacheError(cause: unknown, doing: string): SyncError {
  const name = typeof cause === 'object' && cause !== null ? (cause as { name?: unknown }).name : undefined
  if (name === 'QuotaExceededError') {
    return new SyncError(
      'CACHE_FULL',
      `The cache is full (the browser's storage quota) while ${doing}; the sync goes on in memory. ` +
        'Free space (e.g. cache.clear() on logout) or ask for persistent storage.',
      { cause },
    )
  }
  return unavailable(`IndexedDB failed while ${doing} (${String(name ?? cause)})`, cause)
}

/**
 * A `CACHE_UNAVAILABLE` error: the cache cannot be opened or used.
 *
 * @param why - What happened.
 * @param cause - The underlying error, if any.
 * @internal
 */
export function unavailable(why: string, cause?: unknown): SyncError {
  return new SyncError(
    'CACHE_UNAVAILABLE',
    `${why}; the sync goes on in memory, nothing is kept across reloads.`,
    {
      cause,
    },
  )
}
