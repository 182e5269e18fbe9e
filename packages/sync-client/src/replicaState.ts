import type { OpId } from '@lensync/protocol'
import type { FieldEdit } from './FieldOutbox.ts'
import type { WriteMessage } from './SyncConnection.ts'

/**
 * What a replica knows of the entity on the server:
 * - `unknown`: nothing yet (before the first snapshot);
 * - `absent`: it does not exist there (never made, or deleted at `rev`);
 * - `present`: its value at revision `rev` (the confirmed value).
 *
 * @internal
 */
export type ServerState =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'absent'; readonly rev: number }
  | { readonly kind: 'present'; readonly rev: number; readonly value: unknown }

/**
 * What the local side still means to do with the entity as a whole, beyond
 * the field edits in its outbox (once sent, an intent becomes an
 * {@link OutboxWrite} with its op):
 * - `none`: field edits, if any, patch the server's value;
 * - `keep`: the server has no such entity (deleted remotely); the store keeps
 *   showing `value` and nothing is sent until the next edit makes it a `create`;
 * - `create`: a create-only put of `offer` (⊕ the field edits), sent once the
 *   server is known not to have the entity; when the server has it, the offer
 *   is dropped and the field edits patch the server's value. `userMade`: the
 *   user added it (it counts as pending); otherwise it is the value a sync
 *   started with, pending only once it is known to be needed;
 * - `put`: replace the whole value with `value` (⊕ the field edits);
 * - `delete`: delete the entity.
 *
 * @internal
 */
export type LocalIntent =
  | { readonly kind: 'none' }
  | { readonly kind: 'keep'; readonly value: unknown }
  | { readonly kind: 'create'; readonly offer: unknown; readonly userMade: boolean }
  | { readonly kind: 'put'; readonly value: unknown }
  | { readonly kind: 'delete' }

/** The content of a write, fixed when it is made. */
export type WriteContent =
  | { readonly kind: 'patch'; readonly edits: readonly FieldEdit[] }
  | {
      readonly kind: 'put'
      /** The whole value (for a create-only put: the offer); `edits` go on top. */
      readonly base: unknown
      readonly edits: readonly FieldEdit[]
      /** Create-only: applied only if the entity does not exist. */
      readonly create: boolean
    }
  | { readonly kind: 'del' }

/**
 * Who a write is made by: the client id, and an op id increasing per client.
 *
 * @internal
 */
export interface WriteStamp {
  readonly client: string
  readonly op: OpId
}

/**
 * A write made from a replica's outbox and not answered yet. Its op id is
 * bound to its content for ever: after a reconnect it is sent again with the
 * same op and exactly the same content, so the server can recognise it.
 *
 * @internal
 */
export type OutboxWrite = WriteContent &
  WriteStamp & {
    /** Sent on the current connection; `false` after the connection dropped: it is sent again. */
    onWire: boolean
    /** Sent again on the current connection (after a reconnect) and not answered yet. */
    resent: boolean
    /**
     * The revision the replica had confirmed when the write's first edit was
     * made (`base` on the wire); `undefined` for a create-only put and a delete.
     */
    readonly baseRev: number | undefined
    /** The message as first encoded; a resend sends it as it is. */
    wire?: WriteMessage
    /** The write as a cache keeps it (JSON of its outbox entry), once queued. */
    cached?: string
  }
