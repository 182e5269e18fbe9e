import { Buffer } from 'node:buffer'
import {
  applyFieldChanges,
  type Encoded,
  type FieldChange,
  type Issue,
  type PatchMessage,
  type PutMessage,
  plainIssues,
  type RejectCode,
  type StandardResult,
} from '@lensync/sync-client'
import type { CommitResult, Storage, StorageWrite, StoredEntity } from '../storage/Storage.ts'
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
  _broadcast(resource: string, id: string, sender: HubClient, text: string): void
  _noteRevision(resource: string, rev: number): void
  _closeClient(client: HubClient, code: number, reason: string): void
  _scheduleFlush(): void
  _nextFlush(): Promise<void>
}

/** @internal A write accepted and waiting in the open batch for its commit. */
interface _StagedWrite {
  readonly task: _WriteTask
  readonly entry: _EntityEntry
  readonly state: _EntityState
  /** The broadcast envelope once the revision is known. */
  readonly change: (rev: number) => string
}

/**
 * @internal
 * Applies writes: one queue per entity keeps them in arrival order, even when
 * `authorize`, a schema or storage answers asynchronously; with synchronous
 * storage and a cached entity a write is decided without leaving the call.
 * Accepted writes are staged (later writes build on them) and committed
 * together once per tick (group commit); acks and broadcasts follow the
 * commit. A storage conflict re-runs the entity's writes on the fresh state.
 */
export class _EntityWriter {
  private _batch: _StagedWrite[] = []
  private _committing: Promise<void> | undefined

  constructor(
    private readonly _host: _WriterHost,
    private readonly _storage: Storage,
    private readonly _table: _EntityTable,
    private readonly _options: _ResolvedSyncOptions,
  ) {}

  /** Whether writes are staged or a commit is running. */
  get pending(): boolean {
    return this._batch.length > 0 || this._committing !== undefined
  }

  /** The commit in flight (async storage), if any. */
  get committing(): Promise<void> | undefined {
    return this._committing
  }

  /**
   * Queues a write on its entity.
   *
   * @returns `undefined` when it was decided at once, else a promise for that.
   */
  enqueue(client: HubClient, msg: _WriteTask['msg']): Promise<void> | undefined {
    const entry = this._table.entry(msg.r, msg.id)
    const task: _WriteTask = {
      client,
      msg,
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
    const loading = Promise.resolve(found).then(
      stored => {
        if (entry.loading === loading) entry.loading = undefined
        // A commit that finished meanwhile knows better than this read.
        if (!entry.committed) entry.committed = committedFrom(stored)
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
    const writes: StorageWrite[] = batch.map(({ entry, state }) => {
      // Commits run one at a time, so the committed revision of an entity's
      // first write in the batch is known; its later writes build on it.
      const first = !seen.has(entry)
      seen.add(entry)
      return {
        resource: entry.resource,
        id: entry.id,
        value: state.text,
        ...(first ? { expectedRev: (entry.committed as _Committed).rev } : {}),
      }
    })
    let result: CommitResult[] | Promise<CommitResult[]>
    try {
      result = this._storage.commit(writes)
    } catch (error) {
      this._failed(batch, error)
      return
    }
    if (!isThenable(result)) {
      this._committed(batch, result)
      return
    }
    this._committing = Promise.resolve(result)
      .then(
        results => this._committed(batch, results),
        error => this._failed(batch, error),
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
    if (msg.t === 'del') {
      if (base.text !== null) {
        const prefix = envelopePrefix('gone', msg.r, msg.id)
        return this._stage(entry, task, { text: null, decoded: null, plain: true }, rev => `${prefix}${rev}}`)
      }
      // Deleting what is absent is acknowledged with the entity's revision,
      // which a staged (uncommitted) delete does not know yet.
      if (entry.staged) return this._afterCommit(entry, task, generation)
      this._host._ack(task, entry.committed.rev)
      return undefined
    }
    if (msg.t === 'put' && msg.create === true && base.text !== null) {
      // An offer for an existing entity: the sender gets the committed value.
      if (entry.staged) return this._afterCommit(entry, task, generation)
      this._host._sendEntitySnap(client, entry, task)
      this._host._ack(task, entry.committed.rev, false)
      return undefined
    }
    if (msg.t === 'patch' && base.text === null) {
      this._host._reject(task, 'NOT_FOUND', `${msg.r} ${msg.id} does not exist; send a put`)
      return undefined
    }
    let next: _EntityState
    let change: (rev: number) => string
    try {
      ;[next, change] = msg.t === 'put' ? this._put(msg) : this._patch(msg, base)
    } catch (error) {
      this._host._reject(task, 'BAD_FIELD', `the value could not be decoded: ${messageOf(error)}`)
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
    if (!schema) return this._stage(entry, task, next, change)
    let result: StandardResult<unknown> | Promise<StandardResult<unknown>>
    try {
      result = schema['~standard'].validate(this.decoded(next))
    } catch (error) {
      return this._schemaFailed(task, error)
    }
    if (!isThenable(result)) return this._validated(entry, task, generation, next, change, result)
    return Promise.resolve(result).then(
      done => this._validated(entry, task, generation, next, change, done),
      error => this._schemaFailed(task, error),
    )
  }

  private _put(msg: PutMessage): [_EntityState, (rev: number) => string] {
    const text = JSON.stringify(msg.value)
    const plain = msg.value.meta === undefined
    // A value with meta is decoded now (from a copy: superjson rewrites its
    // input), so one that cannot be decoded never reaches storage.
    const decoded = plain ? msg.value.json : this._options.serializer.deserialize(JSON.parse(text) as Encoded)
    const prefix = envelopePrefix('change', msg.r, msg.id)
    return [{ text, decoded, plain }, rev => `${prefix}${rev},"value":${text}}`]
  }

  private _patch(msg: PatchMessage, base: _EntityState): [_EntityState, (rev: number) => string] {
    // Serialized before decoding: decoding may rewrite the envelopes in place.
    const fields = `,"set":${JSON.stringify(msg.set)}${msg.unset ? `,"unset":${JSON.stringify(msg.unset)}` : ''}}`
    const current = this.decoded(base)
    let plain = base.plain
    const changes: FieldChange[] = msg.set.map(([path, value]) => {
      if (value.meta === undefined) return [path, value.json]
      plain = false
      return [path, this._options.serializer.deserialize(value)]
    })
    const merged = applyFieldChanges(current, changes, msg.unset ?? [])
    const encoded: Encoded = plain ? { json: merged } : this._options.serializer.serialize(merged)
    const prefix = envelopePrefix('change', msg.r, msg.id)
    return [
      { text: JSON.stringify(encoded), decoded: merged, plain: encoded.meta === undefined },
      rev => `${prefix}${rev}${fields}`,
    ]
  }

  private _validated(
    entry: _EntityEntry,
    task: _WriteTask,
    generation: number,
    next: _EntityState,
    change: (rev: number) => string,
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
    return this._stage(entry, task, next, change)
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
    change: (rev: number) => string,
  ): undefined {
    entry.staged = state
    task.slot ??= this._host._reserve(task.client, entry)
    this._batch.push({ task, entry, state, change })
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

  private _committed(batch: readonly _StagedWrite[], results: readonly CommitResult[]): void {
    const conflicts = new Map<_EntityEntry, _StagedWrite[]>()
    batch.forEach((write, i) => {
      const result = results[i]
      const { entry, state, task } = write
      if (!result || !('rev' in result)) {
        const list = conflicts.get(entry) ?? []
        list.push(write)
        conflicts.set(entry, list)
        return
      }
      const { rev } = result
      entry.committed = { rev, text: state.text, decoded: state.decoded, plain: state.plain }
      if (entry.staged === state) entry.staged = undefined
      this._host._noteRevision(entry.resource, rev)
      this._host._ack(task, rev)
      this._host._broadcast(entry.resource, entry.id, task.client, write.change(rev))
    })
    for (const [entry, writes] of conflicts) this._retry(entry, writes)
    this._table.trim()
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
  private _failed(batch: readonly _StagedWrite[], error: unknown): void {
    this._options.logger.error('lensync hub: storage failed to commit a batch of writes', error)
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

/** `{"t":"<t>","r":…,"id":…,"rev":` — the revision and the rest are appended once known. */
function envelopePrefix(t: string, r: string, id: string): string {
  return `{"t":"${t}","r":${JSON.stringify(r)},"id":${JSON.stringify(id)},"rev":`
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** @internal True for a promise or any thenable. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}
