import type { CommittedChange, StorageWrite } from '../storage/Storage.ts'
import type { _ChangeHooks } from './ChangeHooks.ts'
import { type _EntityTable, _NOT_DECODED } from './EntityTable.ts'
import type { _StagedWrite } from './GroupCommit.ts'
import type { _ResolvedTimers } from './syncOptions.ts'
import type { _WriteAnswers } from './WriteOutcome.ts'

/**
 * @internal
 * With storage shared between nodes (`Storage.watch`), a committed write is
 * acknowledged and broadcast when it comes back through the storage's change
 * feed, in the feed's order: acks and changes of one entity leave in revision
 * order however the nodes' writes interleave. The feed also brings other
 * nodes' writes (broadcast here too) and keeps cached states fresh.
 */
export class _FeedReconciler {
  /** Committed (or committing) writes whose change has not come back through the feed yet. */
  private readonly _awaiting = new Map<StorageWrite, _StagedWrite>()
  private _waiters: (() => void)[] = []

  constructor(
    private readonly _table: _EntityTable,
    private readonly _answers: _WriteAnswers,
    private readonly _timers: _ResolvedTimers,
    private readonly _hooks?: _ChangeHooks,
  ) {}

  /** Notes a write handed to storage: it is answered when it comes back. */
  expect(write: StorageWrite, staged: _StagedWrite): void {
    this._awaiting.set(write, staged)
  }

  /** Stops waiting for a write that was not stored (a conflict, a failed commit). */
  forget(write: StorageWrite | undefined): void {
    if (write && this._awaiting.delete(write) && this._awaiting.size === 0) this._drained()
  }

  /**
   * A committed write reported by the storage feed, from this node or
   * another, in commit order: answers this node's write, sends the change to
   * the subscribers and freshens the cached state.
   */
  changed(change: CommittedChange): void {
    const staged = change.write && this._awaiting.get(change.write)
    const { resource, id, rev } = change
    if (staged) {
      this.forget(change.write)
      // Also set when the commit returns; the feed may bring the change first.
      staged.stamp.rev = rev
      staged.entry.freshen(rev, staged.state)
    } else {
      this._table.peek(resource, id)?.freshen(rev, {
        text: change.value,
        fields: change.fields ?? null,
        decoded: _NOT_DECODED,
        plain: false,
        revisions: _NOT_DECODED,
      })
    }
    this._table.noteRevision(resource, rev)
    // The others first, as in a local commit.
    this._answers.broadcast(resource, id, staged?.task.client, change.change)
    if (staged) {
      this._answers.answer(staged.task, { kind: 'ack', rev, applied: true, conflicts: staged.conflicts })
      // Only this node's writes: the node that committed a write reports it.
      this._hooks?.committed(staged, rev)
    }
  }

  /**
   * Resolves when every committed write came back through the feed, or after
   * `timeoutMs`.
   */
  drained(timeoutMs: number): Promise<void> {
    if (this._awaiting.size === 0) return Promise.resolve()
    return new Promise(resolve => {
      const timers = this._timers
      const waiters = this._waiters
      const timer = timers.setTimeout(done, timeoutMs)
      function done() {
        timers.clearTimeout(timer)
        const i = waiters.indexOf(done)
        if (i >= 0) waiters.splice(i, 1)
        resolve()
      }
      waiters.push(done)
    })
  }

  /** The feed lost changes: nothing cached can be trusted, and no lost write will be answered. */
  reset(): void {
    this._awaiting.clear()
    this._drained()
    this._table.invalidate()
  }

  private _drained(): void {
    for (const done of [...this._waiters]) done()
  }
}
