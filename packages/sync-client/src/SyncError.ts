import type { Issue, OpId } from '@lensync/protocol'
import { LensyncClientError } from './errors.ts'

/**
 * Codes of a {@link SyncError}:
 * - a `reject` from the server: `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`,
 *   `TOO_LARGE`, `RATE_LIMITED`, `BAD_FIELD`;
 * - an `error` from the server about a frame this client sent: `BAD_FRAME`, `UNKNOWN_TYPE`;
 * - found by the client: `BAD_MESSAGE` (an incoming frame or value that breaks
 *   the protocol: not JSON, a wrong field type, a forbidden key, a cycle, too deep),
 *   `INVALID_VALUE` (an incoming value failed the resource's schema),
 *   `SNAPSHOT_TOO_LARGE` (a collection snapshot passed `syncList`'s bound; the
 *   sync shows `offline` and subscribes again when the connection reopens),
 *   `UNAUTHENTICATED` (closed with 4401), `CONNECTION_FORBIDDEN` (closed with 4403),
 *   `STOPPED` (the sync was stopped while `flush()` waited);
 * - thrown at once by `resource()`, `syncWith()` and `syncList()`: `BAD_ARGUMENT`
 *   (an option, a store or an id they cannot use; the message says what to change);
 * - from the cache (the sync goes on in memory): `CACHE_UNAVAILABLE` (it cannot
 *   be opened or used: private mode, blocked, no IndexedDB), `CACHE_FULL` (a write
 *   was refused by the browser's storage quota).
 */
export type SyncErrorCode =
  | 'VALIDATION_FAILED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'TOO_LARGE'
  | 'RATE_LIMITED'
  | 'BAD_FIELD'
  | 'BAD_FRAME'
  | 'UNKNOWN_TYPE'
  | 'BAD_MESSAGE'
  | 'INVALID_VALUE'
  | 'SNAPSHOT_TOO_LARGE'
  | 'UNAUTHENTICATED'
  | 'CONNECTION_FORBIDDEN'
  | 'STOPPED'
  | 'BAD_ARGUMENT'
  | 'CACHE_UNAVAILABLE'
  | 'CACHE_FULL'

/** Details carried by a {@link SyncError}. */
export interface SyncErrorDetails {
  /** The resource name the error is about. */
  resource?: string
  /** The entity id the error is about. */
  id?: string
  /** The op id of a rejected write. */
  op?: OpId
  /** Validation issues (Standard Schema form). */
  issues?: readonly Issue[]
  /** The underlying error. */
  cause?: unknown
}

/**
 * An error of entity sync, reported on `sync.errors` (rejected writes, bad
 * frames, refused connections) and by `flush()`; none of those stops the
 * sync. Also thrown by `resource()`, `syncWith()` and `syncList()` for
 * arguments they cannot use (`BAD_ARGUMENT`).
 *
 * @example
 * sync.errors.subscribe(e => { if (e.code === 'VALIDATION_FAILED') showIssues(e.issues) })
 */
export class SyncError extends LensyncClientError<SyncErrorCode> {
  override readonly name: string = 'SyncError'
  /** The resource name, when known. */
  readonly resource: string | undefined
  /** The entity id, when known. */
  readonly id: string | undefined
  /** The op id of a rejected write, when it was one. */
  readonly op: OpId | undefined
  /** Validation issues, for `VALIDATION_FAILED` and `INVALID_VALUE`. */
  readonly issues: readonly Issue[] | undefined

  /**
   * @param code - The error code.
   * @param message - A message for people.
   * @param details - Resource, id, op, issues and cause.
   */
  constructor(code: SyncErrorCode, message: string, details: SyncErrorDetails = {}) {
    super(code, message, { cause: details.cause })
    this.resource = details.resource
    this.id = details.id
    this.op = details.op
    this.issues = details.issues
  }
}
