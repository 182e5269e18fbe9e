import { type CompactChange, type OpId, type PatchMessage, renderCompactChange } from '@lensync/protocol'
import type { CommitResult, Storage, StorageWrite } from '../storage/Storage.ts'
import type { _ChangeHooks } from './ChangeHooks.ts'
import { _patchChange, type _WriteDecision, type WriteConflict } from './decideWrite.ts'
import type { _EntityEntry, _EntityState, _EntityTable, _WriteTask } from './EntityTable.ts'
import type { _FeedReconciler } from './FeedReconciler.ts'
import { type _FieldRevisions, _fieldRevisionsText, type FieldStamp } from './fieldRevisions.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'
import type { _WriteAnswers } from './WriteOutcome.ts'
import { whenDone } from './whenDone.ts'

/** Batches are usually one write or a few: looked up by scanning (a large batch keeps a set). */
const SCANNED_BATCH = 16

/**
 * A {@link StorageWrite} whose `change` is made when storage reads it: most
 * storage never does (only storage shared between nodes). The other fields
 * are own fields as in a plain write; `change` is a getter of the class.
 */
class _LaterChangeWrite implements StorageWrite {
  declare fields?: string | undefined
  declare expectedRev?: number
  declare origin?: { readonly client: string; readonly op: OpId }
  readonly #staged: _StagedWrite

  constructor(
    readonly resource: string,
    readonly id: string,
    readonly value: string | null,
    staged: _StagedWrite,
  ) {
    this.#staged = staged
  }

  get change(): _Change {
    return this.#staged.change
  }
}

/** Whether a staged write's `change` is still to be made (then it is made only if read). */
function madeLater(staged: _StagedWrite): boolean {
  return staged instanceof _PendingWrite && !staged.changeMade
}

/** Whether a write before `slot` in the batch is of the same entity. */
function earlierIn(batch: readonly _StagedWrite[], slot: number, entry: _EntityEntry): boolean {
  for (let i = 0; i < slot; i++) if ((batch[i] as _StagedWrite).entry === entry) return true
  return false
}

/** @internal The broadcast envelope of a write, split around its revision: `head + rev + tail`. */
export type _Change = readonly [head: string, tail: string]

/** @internal A write accepted and waiting in the open batch for its commit. */
export interface _StagedWrite {
  readonly task: _WriteTask
  readonly entry: _EntityEntry
  readonly state: _EntityState
  readonly change: _Change
  /** The change's compact form (protocol version 2), when the write path made it. */
  readonly compact?: CompactChange | undefined
  /**
   * The committed revision the write was decided on; `undefined` when it was
   * decided on a staged write (it expects that write's revision).
   */
  readonly baseRev: number | undefined
  /** The state the write was decided on (`onChange`'s `previous`); `undefined` when unknown. */
  readonly base?: _EntityState | undefined
  /** The write's stamp in the field revisions: its revision is filled in when it commits. */
  readonly stamp: FieldStamp
  /** The write's fields that met a newer write of another client, for its ack. */
  readonly conflicts: readonly WriteConflict[]
}

/** @internal A decision to write, as {@link _decideWrite} makes it. */
export type _WriteToStage = Extract<_WriteDecision, { kind: 'write' }>

/**
 * @internal
 * A {@link _StagedWrite} made by the writer. A patch may have left its
 * `change` for later (see {@link _WriteDecision}): it is made when first
 * read — by storage shared between nodes, a version 1 subscriber or `onChange`.
 */
export class _PendingWrite implements _StagedWrite {
  readonly state: _EntityState
  readonly compact: CompactChange | undefined
  readonly stamp: FieldStamp
  readonly conflicts: readonly WriteConflict[]
  private _change: _Change | undefined

  constructor(
    readonly task: _WriteTask,
    readonly entry: _EntityEntry,
    readonly base: _EntityState | undefined,
    decided: _WriteToStage,
    readonly baseRev: number | undefined,
  ) {
    this.state = decided.state as _EntityState
    this._change = decided.change
    this.compact = decided.compact
    this.stamp = decided.stamp
    this.conflicts = decided.conflicts
  }

  get change(): _Change {
    this._change ??= _patchChange(this.task.msg as PatchMessage)
    return this._change
  }

  /** Whether {@link _PendingWrite.change} is made already. */
  get changeMade(): boolean {
    return this._change !== undefined
  }
}

/**
 * @internal
 * What the writer does when a batch comes back without (all of) its writes
 * stored: a conflict re-decides the entity's writes, a failure closes their
 * connections.
 */
export interface _CommitFallout {
  /** Storage refused these writes of one entity (its state moved on): decide them again. */
  conflicted(entry: _EntityEntry, writes: readonly _StagedWrite[]): void
  /** The commit threw: nothing of the batch is known to be stored. */
  failed(batch: readonly _StagedWrite[]): void
}

/**
 * @internal
 * Group commit: accepted writes wait in one open batch and are committed in
 * one storage transaction per tick (the flush commits, then sends). Commits
 * run one at a time. With synchronous storage the acks and broadcasts are
 * queued before `commit()` returns, so they join this tick's frames; the
 * others get the change before the writer gets its ack. With a feed
 * (shared storage) the answers wait for the feed instead.
 */
export class _GroupCommit {
  private _batch: _StagedWrite[] = []
  private _committing: Promise<void> | undefined

  constructor(
    private readonly _storage: Storage,
    private readonly _table: _EntityTable,
    private readonly _answers: _WriteAnswers,
    private readonly _feed: _FeedReconciler | undefined,
    private readonly _fallout: _CommitFallout,
    private readonly _logger: _ResolvedSyncOptions['logger'],
    private readonly _hooks?: _ChangeHooks,
  ) {}

  /** Whether writes are staged or a commit is running. */
  get pending(): boolean {
    return this._batch.length > 0 || this._committing !== undefined
  }

  /** The commit in flight (async storage), if any. */
  get committing(): Promise<void> | undefined {
    return this._committing
  }

  /** Adds an accepted write to the open batch. */
  stage(write: _StagedWrite): void {
    this._batch.push(write)
  }

  /** Takes the open batch's writes of one entity out (they are decided again or dropped). */
  takeOpen(entry: _EntityEntry): _StagedWrite[] {
    const mine = this._batch.filter(write => write.entry === entry)
    if (mine.length > 0) this._batch = this._batch.filter(write => write.entry !== entry)
    return mine
  }

  /**
   * Commits the open batch in one storage transaction, unless a commit is
   * still running (the next flush commits then).
   */
  commit(): void {
    if (this._committing || this._batch.length === 0) return
    const batch = this._batch
    this._batch = []
    const writes: StorageWrite[] = new Array(batch.length)
    const seen = batch.length > SCANNED_BATCH ? new Set<_EntityEntry>() : undefined
    for (let slot = 0; slot < batch.length; slot++) {
      const staged = batch[slot] as _StagedWrite
      const { entry, state, baseRev, task } = staged
      // Commits run one at a time, so the revision the entity's first write
      // in the batch builds on is known; its later writes build on it.
      const first = seen ? !seen.has(entry) : !earlierIn(batch, slot, entry)
      seen?.add(entry)
      // Field revisions of writes in this batch are left for storage to fill in (by slot).
      staged.stamp.slot = slot
      const fields = _fieldRevisionsText(state.revisions as _FieldRevisions)
      // Optional fields are left out (not `undefined`) when they do not apply.
      const later = madeLater(staged)
      const write: { -readonly [K in keyof StorageWrite]: StorageWrite[K] } = later
        ? new _LaterChangeWrite(entry.resource, entry.id, state.text, staged)
        : { resource: entry.resource, id: entry.id, value: state.text }
      if (fields !== undefined) write.fields = fields
      if (!later) write.change = staged.change
      if (first) write.expectedRev = baseRev ?? entry.chainRev
      // Recorded with the write, so a resend is recognised (`Storage.applied`).
      if (task.origin) write.origin = task.origin
      this._feed?.expect(write, staged)
      writes[slot] = write
    }
    let result: CommitResult[] | Promise<CommitResult[]>
    try {
      result = this._storage.commit(writes)
    } catch (error) {
      this._failed(batch, writes, error)
      return
    }
    const settled = whenDone(
      result,
      results => this._committed(batch, writes, results),
      error => this._failed(batch, writes, error),
    )
    // Asynchronous storage: the next commit waits for this one.
    if (settled instanceof Promise)
      this._committing = settled.finally(() => {
        this._committing = undefined
        this._answers.schedule()
      })
  }

  private _committed(
    batch: readonly _StagedWrite[],
    writes: readonly StorageWrite[],
    results: readonly CommitResult[],
  ): void {
    let conflicts: Map<_EntityEntry, _StagedWrite[]> | undefined
    for (let i = 0; i < batch.length; i++) {
      const write = batch[i] as _StagedWrite
      const result = results[i]
      const { entry, state, task, stamp } = write
      if (!result || !('rev' in result)) {
        stamp.slot = -1
        this._feed?.forget(writes[i])
        conflicts ??= new Map()
        const list = conflicts.get(entry) ?? []
        list.push(write)
        conflicts.set(entry, list)
        continue
      }
      const { rev } = result
      stamp.rev = rev
      entry.chainRev = rev
      entry.freshen(rev, state)
      if (entry.staged === state) entry.staged = undefined
      this._table.noteRevision(entry.resource, rev)
      // With a feed the write is answered when its change comes back.
      if (this._feed) continue
      // The others first: the writer already shows its edit, so their frames
      // leave (and are on the wire) before its ack.
      // Its version 1 text is made only for a version 1 subscriber (or without a compact form).
      this._answers.broadcast(
        entry.resource,
        entry.id,
        task.client,
        () => `${write.change[0]}${rev}${write.change[1]}`,
        write.compact && renderCompactChange(write.compact, rev),
      )
      this._answers.answer(task, { kind: 'ack', rev, applied: true, conflicts: write.conflicts })
      this._hooks?.committed(write, rev)
    }
    if (conflicts) for (const [entry, writes] of conflicts) this._fallout.conflicted(entry, writes)
    this._table.trim()
  }

  /** The commit threw: nothing of the batch is known to be stored; its writers reconnect and resend. */
  private _failed(batch: readonly _StagedWrite[], written: readonly StorageWrite[], error: unknown): void {
    this._logger.error('lensync hub: storage failed to commit a batch of writes', error)
    for (const write of written) this._feed?.forget(write)
    this._fallout.failed(batch)
  }
}
