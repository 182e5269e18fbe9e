import type { DelMessage, PatchMessage, PutMessage } from '@lensync/protocol'
import type { Storage, StoredEntity } from '../storage/Storage.ts'
import type { _FieldRevisions } from './fieldRevisions.ts'
import type { HubClient } from './HubClient.ts'
import type { _Flight, _WriteOrigin } from './InFlightWrites.ts'
import type { _Slot } from './Outbox.ts'
import type { _TextLayout } from './TextLayout.ts'
import { isThenable } from './whenDone.ts'

/** @internal Marks a state whose value was not decoded yet. */
export const _NOT_DECODED: unique symbol = Symbol('not decoded')

/** @internal One state of an entity: its envelope text (null: absent/deleted) and, lazily, the decoded value. */
export interface _EntityState {
  readonly text: string | null
  /** The stored text of the field revisions (`null`: none); `undefined` for a decided state, which has `revisions`. */
  readonly fields?: string | null | undefined
  /** The decoded value, or {@link _NOT_DECODED}. Never mutated: merges copy. */
  decoded: unknown
  /** Whether the envelope has no `meta` (plain JSON); meaningful once decoded. */
  plain: boolean
  /** The field revisions, or {@link _NOT_DECODED} (read from `fields` when needed). Never mutated. */
  revisions: _FieldRevisions | typeof _NOT_DECODED
  /** Where the top-level fields of the envelope's `json` are in its text, for patches (missing: none). */
  layout?: _TextLayout | undefined
}

/** @internal The last committed state and its revision (`0` and `text: null` when it never existed). */
export interface _Committed extends _EntityState {
  readonly rev: number
}

/** @internal A write waiting in (or running from) an entity's queue. */
export interface _WriteTask {
  readonly client: HubClient
  readonly msg: PutMessage | PatchMessage | DelMessage
  /** Whether the writer may read the entity (a create-only put that finds it answers with its value). */
  readonly readable: boolean
  /**
   * Who sent it, for at-most-once: the write's `client` (another tab's
   * outbox) or else its connection's `hello.client`, and its `op`;
   * `undefined` without a client id (no `hello`).
   */
  readonly origin: _WriteOrigin | undefined
  /** While it is decided and committed, its origin's record of this node ({@link _InFlightWrites}). */
  flight: _Flight | undefined
  /** How many times it was retried after a storage conflict. */
  attempts: number
  /** Set while it sits in the queue again after a restart. */
  requeued: boolean
  /** Whether it was decided (staged, rejected or answered). */
  finished: boolean
  /** The place in the client's outbox for the answer, once staged. */
  slot: _Slot | undefined
  /** Called once when finished (the connection waits for it to keep frame order). */
  done: (() => void) | undefined
}

/**
 * @internal
 * What the hub knows about one entity: the committed state (a cache of
 * storage), the staged state (accepted writes not committed yet, which later
 * writes build on), and the queue that keeps its writes in arrival order.
 */
export class _EntityEntry {
  committed: _Committed | undefined = undefined
  staged: _EntityState | undefined = undefined
  loading: Promise<void> | undefined = undefined
  readonly queue: _WriteTask[] = []
  running = false
  /** Bumped when staged work was thrown away (conflict, storage failure): running work restarts. */
  generation = 0
  /** How many retried tasks were put in front of the queue while a task was running. */
  retryFront = 0
  /**
   * The revision storage got for this node's last committed write of the
   * entity: what a write staged on top of that one expects to find. (With
   * shared storage `committed` may already be newer: another node's write.)
   */
  chainRev = 0

  constructor(
    readonly key: string,
    readonly resource: string,
    readonly id: string,
  ) {}

  /** Whether it holds anything besides a cached committed state (then it must stay in memory). */
  get busy(): boolean {
    return this.staged !== undefined || this.loading !== undefined || this.running || this.queue.length > 0
  }

  /** Takes a newer committed state into the cache (an older one is ignored). */
  freshen(rev: number, state: _EntityState): void {
    if (this.committed && this.committed.rev >= rev) return
    this.committed = {
      rev,
      text: state.text,
      fields: state.fields,
      decoded: state.decoded,
      plain: state.plain,
      revisions: state.revisions,
      layout: state.layout,
    }
  }

  /** Throws away what is cached and staged (conflict, storage failure): running work restarts on a fresh read. */
  forget(): void {
    this.generation++
    this.staged = undefined
    this.committed = undefined
  }
}

/** The key of an entity; the length prefix keeps `('a:b', 'c')` and `('a', 'b:c')` apart. */
function entityKey(resource: string, id: string): string {
  return `${resource.length}:${resource}${id}`
}

/**
 * @internal
 * The hub's entities, least recently used first, read from storage when
 * needed; and the highest revision seen per resource. Idle entries beyond
 * `capacity` are dropped (their state is in storage); busy ones stay.
 */
export class _EntityTable {
  private readonly _entries = new Map<string, _EntityEntry>()
  private readonly _revisions = new Map<string, number>()
  /** The entry {@link _EntityTable.entry} last made or moved to the end (the end while it is in the table). */
  private _newest: _EntityEntry | undefined = undefined

  constructor(
    private readonly _capacity: number,
    private readonly _storage: Storage,
  ) {}

  /** The entry of an entity, made when missing, and marked as most recently used. */
  entry(resource: string, id: string): _EntityEntry {
    const key = entityKey(resource, id)
    let entry = this._entries.get(key)
    // Already the most recently used (a busy entity): nothing to move.
    if (entry !== undefined && entry === this._newest) return entry
    if (entry) this._entries.delete(key)
    else entry = new _EntityEntry(key, resource, id)
    this._entries.set(key, entry)
    this._newest = entry
    return entry
  }

  /** The entry of an entity when the hub has one, without touching the order. */
  peek(resource: string, id: string): _EntityEntry | undefined {
    return this._entries.get(entityKey(resource, id))
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

  /** Records a committed revision of a resource (from this node or, through the feed, another). */
  noteRevision(resource: string, rev: number): void {
    if (rev > (this._revisions.get(resource) ?? 0)) this._revisions.set(resource, rev)
  }

  /** The highest revision of a resource this hub saw committed; `0` when none. */
  revision(resource: string): number {
    return this._revisions.get(resource) ?? 0
  }

  /** Drops idle least-recently-used entries until at most `capacity` remain (busy ones are skipped). */
  trim(): void {
    let excess = this._entries.size - this._capacity
    if (excess <= 0) return
    for (const [key, entry] of this._entries) {
      if (!entry.busy) {
        this._entries.delete(key)
        if (--excess <= 0) return
      }
    }
  }

  /**
   * Forgets every cached state and revision (the cache may be stale): idle
   * entries are dropped, busy ones restart their running work on a fresh read.
   */
  invalidate(): void {
    this._revisions.clear()
    for (const [key, entry] of this._entries) {
      if (!entry.busy) {
        this._entries.delete(key)
        continue
      }
      entry.generation++
      entry.committed = undefined
      entry.loading = undefined
    }
  }
}

function committedFrom(stored: StoredEntity | undefined): _Committed {
  return {
    rev: stored?.rev ?? 0,
    text: stored?.value ?? null,
    fields: stored?.fields ?? null,
    decoded: _NOT_DECODED,
    plain: false,
    revisions: _NOT_DECODED,
  }
}
