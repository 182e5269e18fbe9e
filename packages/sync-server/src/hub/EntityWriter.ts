import { Buffer } from 'node:buffer'
import {
  applyFieldChanges,
  type Encoded,
  type FieldChange,
  findValueProblem,
  type Issue,
  MAX_VALUE_DEPTH,
  type PatchMessage,
  type PutMessage,
  plainIssues,
  type RejectCode,
  type StandardResult,
  splitChange,
  splitGone,
} from '@lensync/protocol'
import type {
  CommitResult,
  CommittedChange,
  Storage,
  StorageWrite,
  StoredEntity,
} from '../storage/Storage.ts'
import {
  type _Committed,
  type _EntityEntry,
  type _EntityState,
  type _EntityTable,
  _NOT_DECODED,
  type _WriteTask,
} from './EntityTable.ts'
import type { HubClient } from './HubClient.ts'
import type { _Slot } from './Outbox.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'

/** Retries of one write after storage conflicts before its connection is closed. */
const MAX_ATTEMPTS = 8

/** @internal What the writer needs from the hub: answers, broadcasts and scheduling. */
export interface _WriterHost {
  _ack(task: _WriteTask, rev: number, applied?: boolean): void
  _reject(task: _WriteTask, code: RejectCode, message: string, issues?: Issue[]): void
  _sendEntitySnap(client: HubClient, entry: _EntityEntry, task?: _WriteTask): void
  _reserve(client: HubClient, entity: _EntityEntry): _Slot
  _broadcast(resource: string, id: string, sender: HubClient | undefined, text: string): void
  _noteRevision(resource: string, rev: number): void
  _closeClient(client: HubClient, code: number, reason: string): void
  _scheduleFlush(): void
  _nextFlush(): Promise<void>
}

/** @internal The broadcast envelope of a write, split around its revision: `head + rev + tail`. */
type _Change = readonly [head: string, tail: string]

/** @internal A write accepted and waiting in the open batch for its commit. */
interface _StagedWrite {
  readonly task: _WriteTask
  readonly entry: _EntityEntry
  readonly state: _EntityState
  readonly change: _Change
  /**
   * The committed revision the write was decided on; `undefined` when it was
   * decided on a staged write (it expects that write's revision).
   */
  readonly baseRev: number | undefined
}

/**
 * @internal
 * Applies writes: one queue per entity keeps them in arrival order, even when
 * `authorize`, a schema or storage answers asynchronously; with synchronous
 * storage and a cached entity a write is decided without leaving the call.
 * Accepted writes are staged (later writes build on them) and committed
 * together once per tick (group commit); acks and broadcasts follow the
 * commit. A storage conflict re-runs the entity's writes on the fresh state.
 *
 * With storage shared between nodes (`Storage.watch`), a committed write is
 * acknowledged and broadcast when it comes back through the feed, in the
 * feed's order, so acks and changes of one entity leave in revision order
 * however the nodes' writes interleave; the feed also keeps cached states fresh.
 */
export class _EntityWriter {
  private _batch: _StagedWrite[] = []
  private _committing: Promise<void> | undefined
  /** Whether storage reports commits through a feed (shared storage). */
  private readonly _feed: boolean
  /** Committed (or committing) writes whose change has not come back through the feed yet. */
  private readonly _awaiting = new Map<StorageWrite, _StagedWrite>()
  private _awaitingDrained: (() => void)[] = []

  constructor(
    private readonly _host: _WriterHost,
    private readonly _storage: Storage,
    private readonly _table: _EntityTable,
    private readonly _options: _ResolvedSyncOptions,
  ) {
    this._feed = typeof _storage.watch === 'function'
  }

  /** Whether writes are staged or a commit is running. */
  get pending(): boolean {
    return this._batch.length > 0 || this._committing !== undefined
  }

  /** The commit in flight (async storage), if any. */
  get committing(): Promise<void> | undefined {
    return this._committing
  }

  /**
   * Resolves when every committed write came back through the feed (at once
   * without a feed), or after `timeoutMs`.
   */
  feedDrained(timeoutMs: number): Promise<void> {
    if (this._awaiting.size === 0) return Promise.resolve()
    return new Promise(resolve => {
      const timer = setTimeout(done, timeoutMs)
      timer.unref?.()
      const waiters = this._awaitingDrained
      function done() {
        clearTimeout(timer)
        const i = waiters.indexOf(done)
        if (i >= 0) waiters.splice(i, 1)
        resolve()
      }
      waiters.push(done)
    })
  }

  /**
   * Queues a write on its entity.
   *
   * @returns `undefined` when it was decided at once, else a promise for that.
   */
  enqueue(client: HubClient, msg: _WriteTask['msg'], readable = true): Promise<void> | undefined {
    const entry = this._table.entry(msg.r, msg.id)
    const task: _WriteTask = {
      client,
      msg,
      readable,
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

  /**
   * Makes sure the entity's committed state is known.
   *
   * @returns `undefined` when it is, else a promise for the read.
   */
  load(entry: _EntityEntry): Promise<void> | undefined {
    if (entry.committed) return undefined
    if (entry.loading) return entry.loading
    const found = this._storage.get(entry.resource, entry.id)
    if (!isThenable(found)) {
      entry.committed = committedFrom(found)
      return undefined
    }
    const generation = entry.generation
    const loading = Promise.resolve(found).then(
      stored => {
        if (entry.loading === loading) entry.loading = undefined
        // A commit (or a change from the feed) that came meanwhile knows
        // better than this read; a read from before an invalidation is stale.
        if (!entry.committed && generation === entry.generation) entry.committed = committedFrom(stored)
      },
      error => {
        if (entry.loading === loading) entry.loading = undefined
        throw error
      },
    )
    entry.loading = loading
    return loading
  }

  /** The decoded value of a state (decoded once, then kept). */
  decoded(state: _EntityState): unknown {
    if (state.decoded === _NOT_DECODED) {
      const encoded = JSON.parse(state.text as string) as Encoded
      state.plain = encoded.meta === undefined || encoded.meta === null
      state.decoded = state.plain ? encoded.json : this._options.serializer.deserialize(encoded)
    }
    return state.decoded
  }

  /**
   * Commits the open batch in one storage transaction, unless a commit is
   * still running (the next flush commits then). Synchronous storage answers
   * at once: acks and broadcasts are queued before this returns.
   */
  commit(): void {
    if (this._committing || this._batch.length === 0) return
    const batch = this._batch
    this._batch = []
    const seen = new Set<_EntityEntry>()
    const writes: StorageWrite[] = batch.map(staged => {
      const { entry, state, change, baseRev } = staged
      // Commits run one at a time, so the revision the entity's first write
      // in the batch builds on is known; its later writes build on it.
      const first = !seen.has(entry)
      seen.add(entry)
      const write: StorageWrite = {
        resource: entry.resource,
        id: entry.id,
        value: state.text,
        change,
        ...(first ? { expectedRev: baseRev ?? entry.chainRev } : {}),
      }
      if (this._feed) this._awaiting.set(write, staged)
      return write
    })
    let result: CommitResult[] | Promise<CommitResult[]>
    try {
      result = this._storage.commit(writes)
    } catch (error) {
      this._failed(batch, writes, error)
      return
    }
    if (!isThenable(result)) {
      this._committed(batch, writes, result)
      return
    }
    this._committing = Promise.resolve(result)
      .then(
        results => this._committed(batch, writes, results),
        error => this._failed(batch, writes, error),
      )
      .finally(() => {
        this._committing = undefined
        this._host._scheduleFlush()
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

  private _run(entry: _EntityEntry, task: _WriteTask): Promise<void> | undefined {
    const generation = entry.generation
    const loading = this.load(entry)
    if (loading) return loading.then(() => this._decide(entry, task, generation))
    return this._decide(entry, task, generation)
  }

  private _decide(entry: _EntityEntry, task: _WriteTask, generation: number): Promise<void> | undefined {
    if (generation !== entry.generation || !entry.committed) return this._restart(entry, task)
    const { client, msg } = task
    const base = entry.staged ?? entry.committed
    const baseRev = entry.staged ? undefined : entry.committed.rev
    if (msg.t === 'del') {
      if (base.text !== null) {
        const gone: _Change = splitGone(msg.r, msg.id)
        return this._stage(entry, task, { text: null, decoded: null, plain: true }, gone, baseRev)
      }
      // Deleting what is absent is acknowledged with the entity's revision,
      // which a staged (uncommitted) delete does not know yet.
      if (entry.staged) return this._afterCommit(entry, task, generation)
      this._host._ack(task, entry.committed.rev)
      return undefined
    }
    if (msg.t === 'put' && msg.create === true && base.text !== null) {
      // An offer for an existing entity: the sender gets the committed value —
      // if it may read it (being allowed to create is not being allowed to read).
      if (entry.staged) return this._afterCommit(entry, task, generation)
      if (!task.readable) {
        this._host._reject(task, 'FORBIDDEN', `${msg.r} ${msg.id} exists and you may not read it`)
        return undefined
      }
      this._host._sendEntitySnap(client, entry, task)
      this._host._ack(task, entry.committed.rev, false)
      return undefined
    }
    if (msg.t === 'patch' && base.text === null) {
      this._host._reject(task, 'NOT_FOUND', `${msg.r} ${msg.id} does not exist; send a put`)
      return undefined
    }
    let next: _EntityState
    let change: _Change
    try {
      ;[next, change] = msg.t === 'put' ? this._put(msg) : this._patch(msg, base)
    } catch (error) {
      this._host._reject(task, 'BAD_FIELD', `${msg.r} ${msg.id}: ${messageOf(error)}`)
      return undefined
    }
    if (next.text !== null && Buffer.byteLength(next.text) > this._options.maxEntityBytes) {
      this._host._reject(
        task,
        'TOO_LARGE',
        `${msg.r} ${msg.id} would be ${Buffer.byteLength(next.text)} bytes; the limit is ${this._options.maxEntityBytes}`,
      )
      return undefined
    }
    const schema = this._options.resources.get(msg.r)?.schema
    if (!schema) return this._stage(entry, task, next, change, baseRev)
    let result: StandardResult<unknown> | Promise<StandardResult<unknown>>
    try {
      result = schema['~standard'].validate(this.decoded(next))
    } catch (error) {
      return this._schemaFailed(task, error)
    }
    if (!isThenable(result)) return this._validated(entry, task, generation, next, change, baseRev, result)
    return Promise.resolve(result).then(
      done => this._validated(entry, task, generation, next, change, baseRev, done),
      error => this._schemaFailed(task, error),
    )
  }

  private _put(msg: PutMessage): [_EntityState, _Change] {
    const text = JSON.stringify(msg.value)
    const plain = msg.value.meta === undefined
    // A value with meta is decoded now (from a copy: superjson rewrites its
    // input), so one that cannot be decoded never reaches storage.
    const decoded = plain ? msg.value.json : this._options.serializer.deserialize(JSON.parse(text) as Encoded)
    // Plain JSON is a tree whose depth the parser checked; a decoded value may share (and cycle).
    if (!plain) checkShape(decoded, MAX_VALUE_DEPTH)
    return [{ text, decoded, plain }, splitChange(msg.r, msg.id, { value: text })]
  }

  private _patch(msg: PatchMessage, base: _EntityState): [_EntityState, _Change] {
    // Serialized before decoding: decoding may rewrite the envelopes in place.
    const body = {
      set: JSON.stringify(msg.set),
      unset: msg.unset ? JSON.stringify(msg.unset) : undefined,
    }
    const current = this.decoded(base)
    let plain = base.plain
    const changes: FieldChange[] = msg.set.map(([path, value]) => {
      // Checked per value (a cycle lives within one envelope), with the depth its path adds.
      if (value.meta === undefined) {
        checkShape(value.json, MAX_VALUE_DEPTH - path.length)
        return [path, value.json]
      }
      plain = false
      const decoded = this._options.serializer.deserialize(value)
      checkShape(decoded, MAX_VALUE_DEPTH - path.length)
      return [path, decoded]
    })
    const merged = applyFieldChanges(current, changes, msg.unset ?? [])
    const encoded: Encoded = plain ? { json: merged } : this._options.serializer.serialize(merged)
    return [
      { text: JSON.stringify(encoded), decoded: merged, plain: encoded.meta === undefined },
      splitChange(msg.r, msg.id, body),
    ]
  }

  private _validated(
    entry: _EntityEntry,
    task: _WriteTask,
    generation: number,
    next: _EntityState,
    change: _Change,
    baseRev: number | undefined,
    result: StandardResult<unknown>,
  ): Promise<void> | undefined {
    if (result.issues) {
      const { msg } = task
      this._host._reject(
        task,
        'VALIDATION_FAILED',
        `${msg.r} ${msg.id}: the value does not match the schema`,
        plainIssues(result.issues),
      )
      return undefined
    }
    // An async schema may have let the entity move on (a conflict): start over.
    if (generation !== entry.generation) return this._restart(entry, task)
    return this._stage(entry, task, next, change, baseRev)
  }

  private _schemaFailed(task: _WriteTask, error: unknown): undefined {
    this._options.logger.error(`lensync hub: the schema of resource ${task.msg.r} threw`, error)
    this._host._reject(task, 'VALIDATION_FAILED', 'the schema could not check the value')
    return undefined
  }

  private _stage(
    entry: _EntityEntry,
    task: _WriteTask,
    state: _EntityState,
    change: _Change,
    baseRev: number | undefined,
  ): undefined {
    entry.staged = state
    task.slot ??= this._host._reserve(task.client, entry)
    this._batch.push({ task, entry, state, change, baseRev })
    this._host._scheduleFlush()
    return undefined
  }

  /** Waits until the entity has nothing staged, then decides the task again. */
  private async _afterCommit(entry: _EntityEntry, task: _WriteTask, generation: number): Promise<void> {
    while (entry.staged && generation === entry.generation) await this._host._nextFlush()
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

  private _committed(
    batch: readonly _StagedWrite[],
    writes: readonly StorageWrite[],
    results: readonly CommitResult[],
  ): void {
    const conflicts = new Map<_EntityEntry, _StagedWrite[]>()
    batch.forEach((write, i) => {
      const result = results[i]
      const { entry, state, task, change } = write
      if (!result || !('rev' in result)) {
        this._stopAwaiting(writes[i])
        const list = conflicts.get(entry) ?? []
        list.push(write)
        conflicts.set(entry, list)
        return
      }
      const { rev } = result
      entry.chainRev = rev
      this._freshen(entry, rev, state)
      if (entry.staged === state) entry.staged = undefined
      this._host._noteRevision(entry.resource, rev)
      // With a feed the write is answered when its change comes back.
      if (this._feed) return
      // The others first: the writer already shows its edit, so their frames
      // leave (and are on the wire) before its ack.
      this._host._broadcast(entry.resource, entry.id, task.client, `${change[0]}${rev}${change[1]}`)
      this._host._ack(task, rev)
    })
    for (const [entry, writes] of conflicts) this._retry(entry, writes)
    this._table.trim()
  }

  /**
   * A committed write reported by the storage feed (shared storage), from
   * this node or another, in commit order: answers this node's write, sends
   * the change to the subscribers and freshens the cached state.
   */
  changed(change: CommittedChange): void {
    const staged = change.write && this._awaiting.get(change.write)
    const { resource, id, rev } = change
    if (staged) {
      this._stopAwaiting(change.write)
      this._freshen(staged.entry, rev, staged.state)
    } else {
      const entry = this._table.peek(resource, id)
      if (entry) this._freshen(entry, rev, { text: change.value, decoded: _NOT_DECODED, plain: false })
    }
    this._host._noteRevision(resource, rev)
    // The others first, as in a local commit.
    this._host._broadcast(resource, id, staged?.task.client, change.change)
    if (staged) this._host._ack(staged.task, rev)
  }

  /** The storage feed lost changes: nothing cached can be trusted, and no lost write will be answered. */
  reset(): void {
    this._awaiting.clear()
    this._drained()
    this._table.invalidate()
  }

  /** Takes a newer committed state into the cache (an older one is ignored). */
  private _freshen(entry: _EntityEntry, rev: number, state: _EntityState): void {
    if (entry.committed && entry.committed.rev >= rev) return
    entry.committed = { rev, text: state.text, decoded: state.decoded, plain: state.plain }
  }

  private _stopAwaiting(write: StorageWrite | undefined): void {
    if (write && this._awaiting.delete(write) && this._awaiting.size === 0) this._drained()
  }

  private _drained(): void {
    for (const done of [...this._awaitingDrained]) done()
  }

  /** Storage conflict: forget the entity's state and decide its writes again, in order, on a fresh read. */
  private _retry(entry: _EntityEntry, failed: readonly _StagedWrite[]): void {
    const writes = [...failed, ...this._takeOpen(entry)]
    this._forget(entry)
    const tasks: _WriteTask[] = []
    for (const { task } of writes) {
      if (task.attempts + 1 >= MAX_ATTEMPTS) {
        this._options.logger.error(
          `lensync hub: ${task.msg.r} ${task.msg.id} kept conflicting in storage; closing the writer's connection`,
        )
        this._host._closeClient(task.client, 1011, 'Storage conflict')
        continue
      }
      tasks.push({ ...task, attempts: task.attempts + 1, requeued: false, finished: true, done: undefined })
    }
    entry.queue.unshift(...tasks)
    entry.retryFront += tasks.length
    this._drain(entry)
  }

  /** The commit threw: nothing of the batch is known to be stored; its writers reconnect and resend. */
  private _failed(batch: readonly _StagedWrite[], written: readonly StorageWrite[], error: unknown): void {
    this._options.logger.error('lensync hub: storage failed to commit a batch of writes', error)
    for (const write of written) this._stopAwaiting(write)
    const entries = new Set(batch.map(write => write.entry))
    const writes = [...batch]
    for (const entry of entries) {
      writes.push(...this._takeOpen(entry))
      this._forget(entry)
    }
    for (const { task } of writes) this._host._closeClient(task.client, 1011, 'Storage failure')
    for (const entry of entries) this._drain(entry)
  }

  private _takeOpen(entry: _EntityEntry): _StagedWrite[] {
    const mine = this._batch.filter(write => write.entry === entry)
    if (mine.length > 0) this._batch = this._batch.filter(write => write.entry !== entry)
    return mine
  }

  private _forget(entry: _EntityEntry): void {
    entry.generation++
    entry.staged = undefined
    entry.committed = undefined
  }

  private _crashed(task: _WriteTask, error: unknown): void {
    this._options.logger.error(`lensync hub: a ${task.msg.t} of ${task.msg.r} ${task.msg.id} failed`, error)
    this._host._closeClient(task.client, 1011, 'Internal server error')
  }
}

function committedFrom(stored: StoredEntity | undefined): _Committed {
  return { rev: stored?.rev ?? 0, text: stored?.value ?? null, decoded: _NOT_DECODED, plain: false }
}

/**
 * Refuses a value readers could not hold: a cycle (superjson's
 * `referentialEqualities` can make one) or nesting deeper than `MAX_VALUE_DEPTH`.
 */
function checkShape(value: unknown, maxDepth: number): void {
  const problem = findValueProblem(value, maxDepth)
  if (problem === 'cycle') throw new Error('the value refers to itself (a cycle)')
  if (problem === 'depth') throw new Error('the value is nested too deeply')
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** @internal True for a promise or any thenable. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}
