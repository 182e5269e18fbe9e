import type {
  CommitResult,
  ListedEntity,
  ListOptions,
  ListPage,
  Storage,
  StorageWrite,
  StoredEntity,
} from './Storage.ts'

interface MemoryEntity {
  rev: number
  value: string | null
  /** Position in creation order. */
  seq: number
}

interface MemoryResource {
  rev: number
  /** Entity ids in creation order (tombstones keep their place). */
  readonly order: string[]
  readonly entities: Map<string, MemoryEntity>
}

/**
 * Keeps entities in memory: nothing survives the process. For tests,
 * demos and servers whose data may be lost on restart.
 *
 * @returns A {@link Storage} that answers synchronously.
 * @example
 * app.webSocket('/sync', syncRoute({ storage: memoryStorage() }))
 */
export function memoryStorage(): Storage {
  return new MemoryStorage()
}

/** @internal The {@link memoryStorage} implementation. */
class MemoryStorage implements Storage {
  private readonly _resources = new Map<string, MemoryResource>()

  get(resource: string, id: string): StoredEntity | undefined {
    const entity = this._resources.get(resource)?.entities.get(id)
    return entity && { id, rev: entity.rev, value: entity.value }
  }

  revision(resource: string): number {
    return this._resources.get(resource)?.rev ?? 0
  }

  list(resource: string, options: ListOptions): ListPage {
    const found = this._resources.get(resource)
    const entities: ListedEntity[] = []
    if (!found) return { entities, more: false }
    const { since, limit } = options
    const start = typeof options.after === 'number' ? options.after + 1 : 0
    for (let seq = start; seq < found.order.length; seq++) {
      const id = found.order[seq] as string
      const entity = found.entities.get(id) as MemoryEntity
      if (since === undefined ? entity.value === null : entity.rev <= since) continue
      if (entities.length === limit) return { entities, more: true }
      entities.push({ id, rev: entity.rev, value: entity.value, cursor: seq })
    }
    return { entities, more: false }
  }

  commit(writes: readonly StorageWrite[]): CommitResult[] {
    const conflicted = new Set<string>()
    return writes.map(write => {
      const key = `${write.resource}\u0000${write.id}`
      let found = this._resources.get(write.resource)
      const current = found?.entities.get(write.id)
      if (write.expectedRev === undefined ? conflicted.has(key) : (current?.rev ?? 0) !== write.expectedRev) {
        conflicted.add(key)
        return { conflict: true }
      }
      if (!found) {
        found = { rev: 0, order: [], entities: new Map() }
        this._resources.set(write.resource, found)
      }
      const rev = ++found.rev
      if (current) {
        current.rev = rev
        current.value = write.value
      } else {
        found.entities.set(write.id, { rev, value: write.value, seq: found.order.length })
        found.order.push(write.id)
      }
      return { rev }
    })
  }

  close(): void {}
}
