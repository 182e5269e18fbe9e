import { _fillRevisions } from './fillRevisions.ts'
import type { CommitResult, StorageWrite } from './Storage.ts'

/** @internal One applied write of a {@link _CommitPlan}: what goes into the change table. */
export interface _PlannedChange {
  /** Index of the write in the batch. */
  readonly index: number
  readonly write: StorageWrite
  /** The resource revision the write gets. */
  readonly rev: number
  /** Its number in the change feed. */
  readonly n: number
  /** Its field revisions with the batch's revisions filled in; `null`: none (a delete, or nothing known). */
  readonly fields: string | null
}

/** @internal What one group commit writes, decided from what storage held when the commit locked the feed. */
export interface _CommitPlan {
  /** One result per write, in batch order. */
  readonly results: CommitResult[]
  /** The applied writes, in batch order (feed numbers and revisions increasing). */
  readonly changes: readonly _PlannedChange[]
  /** Each written entity's last applied write (an entity row is written once per commit). */
  readonly entities: readonly _PlannedChange[]
  /** Each written resource's new revision counter. */
  readonly resources: ReadonlyMap<string, number>
  /** The feed number of the last change (the feed's head after the commit). */
  readonly head: number
}

/** @internal The key of an entity in the plan's maps. */
export function _entityKey(resource: string, id: string): string {
  return `${resource}\u0000${id}`
}

/**
 * @internal
 * Decides a group commit, as memory and SQLite storage do: a write whose
 * `expectedRev` differs from the entity's stored revision is a conflict and
 * so are the later writes of that entity in the batch that build on it
 * (`expectedRev` undefined); every other write takes its resource's next
 * revision and the feed's next number, in batch order.
 *
 * @param writes - The batch.
 * @param stored - Revision of every entity of the batch that exists (by {@link _entityKey}).
 * @param revisions - Revision counter of every resource of the batch that has one.
 * @param head - The feed's number of its last change.
 */
export function _planCommit(
  writes: readonly StorageWrite[],
  stored: ReadonlyMap<string, number>,
  revisions: ReadonlyMap<string, number>,
  head: number,
): _CommitPlan {
  const current = new Map(stored)
  const resources = new Map<string, number>()
  const conflicted = new Set<string>()
  const changes: _PlannedChange[] = []
  const entities = new Map<string, _PlannedChange>()
  const revs: (number | undefined)[] = []
  let n = head
  const results = writes.map((write, index): CommitResult => {
    const key = _entityKey(write.resource, write.id)
    if (write.expectedRev === undefined) {
      if (conflicted.has(key)) return { conflict: true }
    } else if ((current.get(key) ?? 0) !== write.expectedRev) {
      conflicted.add(key)
      return { conflict: true }
    }
    const rev = (resources.get(write.resource) ?? revisions.get(write.resource) ?? 0) + 1
    resources.set(write.resource, rev)
    current.set(key, rev)
    // Its own revision is needed for its placeholders too.
    revs[index] = rev
    const fields = write.value === null ? undefined : _fillRevisions(write.fields, k => revs[k])
    const change = { index, write, rev, n: ++n, fields: fields ?? null }
    changes.push(change)
    entities.set(key, change)
    return { rev }
  })
  return { results, changes, entities: [...entities.values()], resources, head: n }
}
