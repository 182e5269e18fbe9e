import type { CompactRender, Issue, RejectCode } from '@lensync/protocol'
import type { WriteConflict } from './decideWrite.ts'
import type { _WriteTask } from './EntityTable.ts'
import type { HubClient } from './HubClient.ts'

/**
 * @internal
 * How a write ended up, as the write path reports it to the hub's delivery
 * (which turns it into envelopes in the writer's outbox):
 * - `staged`: accepted, waiting in the open batch; answered after its commit;
 * - `ack`: answered with a revision and the write's conflicts (`applied:
 *   false`: a resent write storage already applied, the same write in flight
 *   twice, or a `'keep-theirs'` write whose every field conflicted);
 * - `offered`: a create-only put found the entity: the entity `snap`, then `ack` with `applied: false`;
 * - `reject`: refused;
 * - `close`: the writer's connection is closed (storage failure, a crash);
 * - `dropped`: not decided, because its connection is closing or gone: it
 *   was not applied, nothing is sent (the client resends it after reconnecting).
 */
export type _WriteOutcome =
  | { readonly kind: 'staged'; readonly entity: { readonly resource: string; readonly id: string } }
  | {
      readonly kind: 'ack'
      readonly rev: number
      readonly applied: boolean
      /** The write's fields that met a newer write of another client (their stamps are committed by now). */
      readonly conflicts?: readonly WriteConflict[] | undefined
    }
  | { readonly kind: 'offered'; readonly rev: number; readonly value: string | null }
  | {
      readonly kind: 'reject'
      readonly code: RejectCode
      readonly message: string
      readonly issues?: Issue[]
    }
  | { readonly kind: 'close'; readonly code: number; readonly reason: string }
  | { readonly kind: 'dropped' }

/**
 * @internal
 * Where the write path (writer, group commit, feed reconciler) sends what it
 * decided: outcomes and broadcasts. The hub's delivery implements it.
 */
export interface _WriteAnswers {
  /** Answers a write (into its slot when it has one). */
  answer(task: _WriteTask, outcome: _WriteOutcome): void
  /**
   * Sends a committed change to every subscriber of the entity but its
   * writer: `text` is its version 1 envelope (or makes it, when it is
   * needed), `compact` (when the write path made it) renders its version 2
   * or 3 form for an entity reference.
   */
  broadcast(
    resource: string,
    id: string,
    sender: HubClient | undefined,
    text: string | (() => string),
    compact?: CompactRender | undefined,
  ): void
  /** Asks for a flush soon (a commit finished: its answers go out, the next batch commits). */
  schedule(): void
  /** Resolves after the next flush (commit and send). */
  nextFlush(): Promise<void>
}
