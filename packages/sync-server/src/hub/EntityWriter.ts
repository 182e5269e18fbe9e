import { CloseCodes, plainIssues, type StandardResult } from '@lensync/protocol'
import type { AppliedWrite, MaybePromise, Storage } from '../storage/Storage.ts'
import type { _ChangeHooks } from './ChangeHooks.ts'
import { _decideWrite, _decodedValue, type WriteContext } from './decideWrite.ts'
import type { _EntityEntry, _EntityTable, _WriteTask } from './EntityTable.ts'
import type { _FeedReconciler } from './FeedReconciler.ts'
import { _GroupCommit, _PendingWrite, type _StagedWrite, type _WriteToStage } from './GroupCommit.ts'
import type { HubClient } from './HubClient.ts'
import type { _Flight, _InFlightWrites, _WriteOrigin } from './InFlightWrites.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'
import type { _WriteOutcome } from './WriteOutcome.ts'
import { isThenable, whenDone } from './whenDone.ts'

/** Retries of one write after storage conflicts before its connection is closed. */
const MAX_ATTEMPTS = 8

/**
 * @internal
 * Applies writes: one queue per entity keeps them in arrival order, even when
 * `authorize`, a schema or storage answers asynchronously; with synchronous
 * storage and a cached entity a write is decided without leaving the call.
 * Each write is decided by {@link decideWrite} on the entity's latest state
 * (staged or committed), checked by the resource's schema, then staged
 * (later writes build on it) for the {@link _GroupCommit}. A storage
 * conflict re-runs the entity's writes on the fresh state.
 *
 * Every decision is an outcome ({@link _WriteOutcome}) handed to the hub's
 * delivery, which turns it into envelopes.
 *
 * At most once: a write with an origin (`client`, `op`) is first looked up in
 * storage (`Storage.applied`); one applied before is answered
 * `ack { rev, applied: false }` and not decided. The lookup runs each time a
 * write is decided, so also after a storage conflict (two nodes taking the
 * same resend at once: one conflicts, and its second decision finds the
 * other's record). Within this node, {@link _InFlightWrites} keeps the same
 * origin from being decided twice while the first is not committed yet.
 */
export class _EntityWriter {
  private readonly _commits: _GroupCommit
  /** The context of the last write decided with a writer (see {@link _EntityWriter._context}). */
  private _lastContext: WriteContext | undefined = undefined

  constructor(
    private readonly _storage: Storage,
    private readonly _table: _EntityTable,
    private readonly _options: _ResolvedSyncOptions,
    private readonly _answers: _InFlightWrites,
    feed: _FeedReconciler | undefined,
    hooks?: _ChangeHooks,
  ) {
    this._commits = new _GroupCommit(
      _storage,
      _table,
      _answers,
      feed,
      {
        conflicted: (entry, writes) => this._retry(entry, writes),
        failed: batch => this._failed(batch),
      },
      _options.logger,
      hooks,
    )
  }

  /** Whether writes are staged or a commit is running. */
  get pending(): boolean {
    return this._commits.pending
  }

  /** The commit in flight (async storage), if any. */
  get committing(): Promise<void> | undefined {
    return this._commits.committing
  }

  /** Commits the staged writes (see {@link _GroupCommit.commit}). */
  commit(): void {
    this._commits.commit()
  }

  /**
   * Queues a write on its entity.
   *
   * @param readable - Whether the writer may read the entity (an offer that finds it gets its value).
   * @returns `undefined` when it was decided at once, else a promise for that.
   */
  enqueue(client: HubClient, msg: _WriteTask['msg'], readable = true): Promise<void> | undefined {
    const entry = this._table.entry(msg.r, msg.id)
    // A write names its client when it is another tab's outbox; else it is the connection's.
    const sender = msg.client ?? client.clientId
    const task: _WriteTask = {
      client,
      msg,
      readable,
      origin: sender === undefined ? undefined : { client: sender, op: msg.op },
      flight: undefined,
      attempts: 0,
      requeued: false,
      finished: false,
      slot: undefined,
      done: undefined,
    }
    entry.queue.push(task)
    this._drain(entry)
    if (task.finished) return undefined
    return new Promise(resolve => {
      task.done = resolve
    })
  }

  private _drain(entry: _EntityEntry): void {
    while (!entry.running && entry.queue.length > 0) {
      const task = entry.queue.shift() as _WriteTask
      task.requeued = false
      let result: Promise<void> | undefined
      try {
        result = this._run(entry, task)
      } catch (error) {
        this._crashed(task, error)
      }
      if (!result) {
        this._settle(task)
        continue
      }
      entry.running = true
      result
        .catch(error => this._crashed(task, error))
        .finally(() => {
          entry.running = false
          entry.retryFront = 0
          this._settle(task)
          this._drain(entry)
          this._table.trim()
        })
    }
    this._table.trim()
  }

  private _settle(task: _WriteTask): void {
    if (task.requeued || task.finished) return
    task.finished = true
    task.done?.()
  }

  /**
   * Looks up whether the task's origin was applied before and reads the
   * entity (both at once), then decides the task. Each step may answer later
   * and is chained with `whenDone`.
   */
  private _run(entry: _EntityEntry, task: _WriteTask): Promise<void> | undefined {
    const generation = entry.generation
    const origin = task.origin
    if (!origin) return whenDone(this._table.load(entry), () => this._decide(entry, task, generation))
    const other = this._answers.claim(task)
    if (other) return this._afterFlight(entry, task, other)
    const loading = this._table.load(entry)
    // Read in parallel with the lookup; a failed read is reported when it is awaited.
    if (isThenable(loading)) loading.catch(() => {})
    const applied = this._lookup(origin)
    // Synchronous storage and a cached entity: decided without a closure.
    if (!isThenable(applied) && loading === undefined)
      return applied ? this._applied(task, applied) : this._decide(entry, task, generation)
    return whenDone(applied, found => {
      if (found) return this._applied(task, found)
      return whenDone(loading, () => this._decide(entry, task, generation))
    })
  }

  /** A write storage applied before (a resend): acknowledged with its revision, not decided. */
  private _applied(task: _WriteTask, found: AppliedWrite): undefined {
    return this._answer(task, { kind: 'ack', rev: found.rev, applied: false })
  }

  /** Where storage applied a write with this origin within its dedup window, if it did. */
  private _lookup(origin: _WriteOrigin): MaybePromise<AppliedWrite | undefined> {
    return this._storage.applied ? this._storage.applied(origin.client, origin.op) : undefined
  }

  /**
   * Another write with the same origin is being decided or committed on this
   * node: waits until it landed. Acknowledged: this one was applied already
   * (`ack applied: false` with its revision); otherwise it is decided itself.
   */
  private async _afterFlight(entry: _EntityEntry, task: _WriteTask, flight: _Flight): Promise<void> {
    const generation = entry.generation
    // The other write may be retried on this very entity (a conflict): that
    // changes the generation, and this one steps behind it.
    while (!flight.landed && generation === entry.generation && !task.client.closed)
      await this._answers.nextFlush()
    if (task.client.closed) return this._answer(task, DROPPED)
    if (generation !== entry.generation) return this._restart(entry, task)
    const outcome = flight.outcome
    if (outcome?.kind === 'ack') return this._answer(task, { kind: 'ack', rev: outcome.rev, applied: false })
    return this._run(entry, task)
  }

  private _decide(entry: _EntityEntry, task: _WriteTask, generation: number): Promise<void> | undefined {
    if (generation !== entry.generation || !entry.committed) return this._restart(entry, task)
    // Its connection is closing (a shutdown drains, a policy close): nothing
    // more is accepted from it, so it is not applied and not answered.
    if (task.client.closed) return this._answer(task, DROPPED)
    const { msg } = task
    const committed = entry.committed
    const decision = _decideWrite(entry.staged ?? committed, msg, this._context(task))
    switch (decision.kind) {
      case 'write':
        return this._validate(entry, task, generation, decision, entry.staged ? undefined : committed.rev)
      case 'theirs':
        // Nothing of it is written; acknowledged with the entity's revision,
        // which a staged write does not know yet (and its stamps are not committed).
        if (entry.staged) return this._afterCommit(entry, task, generation)
        return this._answer(task, {
          kind: 'ack',
          rev: committed.rev,
          applied: false,
          conflicts: decision.conflicts,
        })
      case 'absent':
        // Deleting what is absent is acknowledged with the entity's revision,
        // which a staged (uncommitted) delete does not know yet.
        if (entry.staged) return this._afterCommit(entry, task, generation)
        return this._answer(task, { kind: 'ack', rev: committed.rev, applied: true })
      case 'exists':
        // An offer for an existing entity: the sender gets the committed value —
        // if it may read it (being allowed to create is not being allowed to read).
        if (entry.staged) return this._afterCommit(entry, task, generation)
        if (!task.readable)
          return this._answer(task, {
            kind: 'reject',
            code: 'FORBIDDEN',
            message: `${msg.r} ${msg.id} exists and you may not read it`,
          })
        return this._answer(task, { kind: 'offered', rev: committed.rev, value: committed.text })
      case 'reject':
        return this._answer(task, decision)
    }
  }

  /**
   * What {@link decideWrite} needs for this task: the limits and serializer,
   * and the writer — its client id (the write's origin) and, with
   * `attribution`, who its connection's principal is.
   */
  private _context(task: _WriteTask): WriteContext {
    const options = this._options
    const client = task.origin?.client
    const by = options.attribution ? this._attribution(task) : undefined
    if (client === undefined && by === undefined) return options
    // The same writer as the last write (a busy client): its context again, not a new one.
    const last = this._lastContext
    if (last?.writer !== undefined && last.writer.client === client && last.writer.by === by) return last
    const context: WriteContext = {
      maxEntityBytes: options.maxEntityBytes,
      maxPatchEntries: options.maxPatchEntries,
      serializer: options.serializer,
      writer: { client, by },
    }
    this._lastContext = context
    return context
  }

  /** `attribution(principal)` of the task's connection; `undefined` without a principal, or when it fails. */
  private _attribution(task: _WriteTask): string | undefined {
    const principal = task.client.principal
    if (principal === undefined) return undefined
    try {
      const by = this._options.attribution?.(principal)
      if (typeof by === 'string') return by
      this._options.logger.error(`lensync hub: attribution returned ${typeof by}, not a string; no by`)
    } catch (error) {
      this._options.logger.error('lensync hub: attribution threw; no by', error)
    }
    return undefined
  }

  /** Checks a put's value, or a patch's merged value, against the resource's schema (which may answer later). */
  private _validate(
    entry: _EntityEntry,
    task: _WriteTask,
    generation: number,
    decided: _WriteToStage,
    baseRev: number | undefined,
  ): Promise<void> | undefined {
    const { msg } = task
    const schema = msg.t === 'del' ? undefined : this._options.resources.get(msg.r)?.schema
    if (!schema) return this._stage(entry, task, decided, baseRev)
    let result: StandardResult<unknown> | Promise<StandardResult<unknown>>
    try {
      result = schema['~standard'].validate(_decodedValue(decided.state, this._options.serializer))
    } catch (error) {
      return this._schemaFailed(task, error)
    }
    return whenDone(
      result,
      done => {
        if (done.issues)
          return this._answer(task, {
            kind: 'reject',
            code: 'VALIDATION_FAILED',
            message: `${msg.r} ${msg.id}: the value does not match the schema`,
            issues: plainIssues(done.issues),
          })
        // An async schema may have let the entity move on (a conflict): start over.
        if (generation !== entry.generation) return this._restart(entry, task)
        return this._stage(entry, task, decided, baseRev)
      },
      error => this._schemaFailed(task, error),
    )
  }

  private _schemaFailed(task: _WriteTask, error: unknown): undefined {
    this._options.logger.error(`lensync hub: the schema of resource ${task.msg.r} threw`, error)
    return this._answer(task, {
      kind: 'reject',
      code: 'VALIDATION_FAILED',
      message: 'the schema could not check the value',
    })
  }

  private _stage(
    entry: _EntityEntry,
    task: _WriteTask,
    decided: _WriteToStage,
    baseRev: number | undefined,
  ): undefined {
    const write = new _PendingWrite(task, entry, entry.staged ?? entry.committed, decided, baseRev)
    entry.staged = write.state
    this._answer(task, { kind: 'staged', entity: entry })
    this._commits.stage(write)
    return undefined
  }

  private _answer(task: _WriteTask, outcome: _WriteOutcome): undefined {
    this._answers.answer(task, outcome)
    return undefined
  }

  /** Waits until the entity has nothing staged, then decides the task again. */
  private async _afterCommit(entry: _EntityEntry, task: _WriteTask, generation: number): Promise<void> {
    while (entry.staged && generation === entry.generation) await this._answers.nextFlush()
    // Thrown away meanwhile (conflict): the retried writes go first.
    if (generation !== entry.generation) return this._restart(entry, task)
    return this._run(entry, task)
  }

  /** Puts a task back after the retried ones: its entity's state was thrown away meanwhile. */
  private _restart(entry: _EntityEntry, task: _WriteTask): undefined {
    task.requeued = true
    entry.queue.splice(entry.retryFront, 0, task)
    return undefined
  }

  /** Storage conflict: forget the entity's state and decide its writes again, in order, on a fresh read. */
  private _retry(entry: _EntityEntry, failed: readonly _StagedWrite[]): void {
    const writes = [...failed, ...this._commits.takeOpen(entry)]
    entry.forget()
    const tasks: _WriteTask[] = []
    for (const { task } of writes) {
      if (task.attempts + 1 >= MAX_ATTEMPTS) {
        this._options.logger.error(
          `lensync hub: ${task.msg.r} ${task.msg.id} kept conflicting in storage; closing the writer's connection`,
        )
        this._answer(task, { kind: 'close', code: CloseCodes.INTERNAL_ERROR, reason: 'Storage conflict' })
        continue
      }
      tasks.push({ ...task, attempts: task.attempts + 1, requeued: false, finished: true, done: undefined })
    }
    entry.queue.unshift(...tasks)
    entry.retryFront += tasks.length
    this._drain(entry)
  }

  /** The commit threw: nothing of the batch is known to be stored; its writers reconnect and resend. */
  private _failed(batch: readonly _StagedWrite[]): void {
    const entries = new Set(batch.map(write => write.entry))
    const writes = [...batch]
    for (const entry of entries) {
      writes.push(...this._commits.takeOpen(entry))
      entry.forget()
    }
    for (const { task } of writes)
      this._answer(task, { kind: 'close', code: CloseCodes.INTERNAL_ERROR, reason: 'Storage failure' })
    for (const entry of entries) this._drain(entry)
  }

  private _crashed(task: _WriteTask, error: unknown): void {
    this._options.logger.error(`lensync hub: a ${task.msg.t} of ${task.msg.r} ${task.msg.id} failed`, error)
    this._answer(task, { kind: 'close', code: CloseCodes.INTERNAL_ERROR, reason: 'Internal server error' })
  }
}

const DROPPED: _WriteOutcome = Object.freeze({ kind: 'dropped' })
