import { SyncError } from '../SyncError.ts'
// The cache's pure decisions, shared by the memory and the IndexedDB cache so
// both keep the same semantics: which of two entity records wins, how a
// collection record changes, and when a liveness record may be written.
import type { CachedEntity, ClaimRule, CollectionUpdate, OutboxEntry, OutboxKind } from './types.ts'

/** A collection as stored: everything but its entities. @internal */
export interface CollectionRecord {
  readonly resource: string
  readonly version: number
  readonly rev: number
  readonly ids: readonly string[]
}

/** A client's liveness record (heartbeat fallback of tab coordination). @internal */
export interface ClientRecord {
  readonly client: string
  /** The client id of the tab keeping this client alive: itself, or the tab that took it over. */
  readonly holder: string
  /** When it was last written (ms since the epoch, the writer's clock). */
  readonly beat: number
}

const KINDS: ReadonlySet<OutboxKind> = new Set(['put', 'create', 'patch', 'del'])

/**
 * Whether `incoming` replaces the `stored` record of the same entity: always
 * under another version, otherwise unless the stored one is newer (two tabs
 * writing the same server value race; the higher revision wins).
 *
 * @internal
 */
export function replacesEntity(stored: CachedEntity | undefined, incoming: CachedEntity): boolean {
  return stored === undefined || stored.version !== incoming.version || stored.rev <= incoming.rev
}

/**
 * The collection record after `update`, or `undefined` to keep `stored`
 * (it is newer). A record of another version is replaced, never merged.
 *
 * @internal
 */
export function nextCollection(
  stored: CollectionRecord | undefined,
  update: CollectionUpdate,
): CollectionRecord | undefined {
  const comparable = stored !== undefined && stored.version === update.version
  if (comparable && stored.rev > update.rev) return undefined
  const { resource, version, rev } = update
  if ('replace' in update.ids) return { resource, version, rev, ids: [...new Set(update.ids.replace)] }
  const ids = new Set(comparable ? stored.ids : [])
  for (const id of update.ids.add ?? []) ids.add(id)
  for (const id of update.ids.remove ?? []) ids.delete(id)
  return { resource, version, rev, ids: [...ids] }
}

/**
 * What a liveness write of `holder` under `rule` does at time `now`, given the
 * `stored` record: `write` it; `sight` — the record is missing, so note when
 * the client was first seen without one (holder `''`), and claim it only once
 * that is stale too (a client may queue an edit just before its first beat);
 * or `refuse`.
 *
 * @internal
 */
export function claimDecision(
  stored: ClientRecord | undefined,
  holder: string,
  now: number,
  rule: ClaimRule,
): 'write' | 'sight' | 'refuse' {
  switch (rule.kind) {
    case 'force':
      return 'write'
    case 'renew':
      return stored !== undefined && stored.holder === holder ? 'write' : 'refuse'
    case 'ifStale':
      if (stored === undefined) return 'sight'
      return now - stored.beat > rule.staleAfter ? 'write' : 'refuse'
  }
}

/** The liveness record a holder leaves when it lets a client go: stale at once, held by nobody. @internal */
export const releasedRecord = (client: string): ClientRecord => ({
  client,
  holder: '',
  beat: Number.NEGATIVE_INFINITY,
})

/**
 * Checks an outbox entry before it is queued.
 *
 * @throws SyncError (`BAD_ARGUMENT`) naming what is wrong.
 * @internal
 */
export function checkEntry(entry: OutboxEntry): void {
  if (typeof entry?.client !== 'string' || entry.client.length === 0) {
    throw new SyncError(
      'BAD_ARGUMENT',
      'cache.enqueue(): `client` must be the non-empty client id that made the edit',
    )
  }
  if (!Number.isSafeInteger(entry.op) || entry.op < 0) {
    throw new SyncError(
      'BAD_ARGUMENT',
      'cache.enqueue(): `op` must be a non-negative integer, increasing per client',
    )
  }
  if (typeof entry.resource !== 'string' || typeof entry.id !== 'string' || !KINDS.has(entry.kind)) {
    throw new SyncError(
      'BAD_ARGUMENT',
      "cache.enqueue(): needs `resource`, `id` and `kind` ('put' | 'create' | 'patch' | 'del')",
    )
  }
  if (entry.base !== undefined && (!Number.isSafeInteger(entry.base) || entry.base < 0)) {
    throw new SyncError(
      'BAD_ARGUMENT',
      'cache.enqueue(): `base` must be absent or the non-negative revision the edit was made at',
    )
  }
  if (
    entry.onConflict !== undefined &&
    entry.onConflict !== 'overwrite' &&
    entry.onConflict !== 'keep-theirs'
  ) {
    throw new SyncError(
      'BAD_ARGUMENT',
      "cache.enqueue(): `onConflict` must be absent, 'overwrite' or 'keep-theirs'",
    )
  }
  if (!Number.isSafeInteger(entry.version)) {
    throw new SyncError(
      'BAD_ARGUMENT',
      'cache.enqueue(): `version` must be the integer `resource({ version })` in use',
    )
  }
}

/** The entity key of a cache record: resource and id. @internal */
export const entityKey = (resource: string, id: string): string => `${resource}\u0000${id}`
