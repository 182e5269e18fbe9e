// The entities every metric works on, in one place so each figure can be traced to its data.

/** A typical synced entity: a task with plain JSON data only (no Date/Set/Map). */
export interface Task {
  _id: string
  title: string
  done: boolean
  priority: number
  estimate: number
  assignee: { id: string; name: string; email: string }
  tags: string[]
  notes: string
  order: number
  project: string
}

/**
 * A task (~300 bytes of JSON).
 *
 * @param id - Its `_id`.
 * @returns A fresh object.
 */
export function task(id: string): Task {
  return {
    _id: id,
    title: 'Write the benchmark chapter',
    done: false,
    priority: 2,
    estimate: 3.5,
    assignee: { id: 'u-17', name: 'Ada Lovelace', email: 'ada@example.com' },
    tags: ['docs', 'bench', 'q3'],
    notes: 'Measure against the raw layers in the same run; report ratios with ranges.',
    order: 42,
    project: 'lensync',
  }
}

/** The same task with the rich types a hand codec would have to handle: a Date and a Set. */
export interface RichTask extends Omit<Task, 'tags'> {
  due: Date
  tags: Set<string>
}

/**
 * A {@link RichTask}.
 *
 * @param id - Its `_id`.
 * @returns A fresh object.
 */
export function richTask(id: string): RichTask {
  const { tags, ...rest } = task(id)
  return { ...rest, due: new Date(Date.UTC(2025, 8, 30, 17, 0, 0)), tags: new Set(tags) }
}

/**
 * An entity of 20 fields: `_id` and 19 typical scalar fields.
 *
 * @param id - Its `_id`.
 * @returns A fresh object.
 */
export function wideEntity(id: string) {
  return {
    _id: id,
    title: 'Quarterly planning',
    status: 'open',
    owner: 'u-17',
    createdBy: 'u-3',
    createdAt: 1727712000000,
    updatedAt: 1727798400000,
    priority: 2,
    estimate: 8,
    spent: 2.5,
    progress: 0.3,
    archived: false,
    pinned: true,
    color: '#3366ff',
    icon: 'calendar',
    project: 'lensync',
    milestone: 'v0.2',
    team: 'sync',
    location: 'Berlin',
    summary: 'Agree on the scope of the next release',
  }
}

/** A 20-field entity (P5: bytes of a one-field edit). */
export type WideEntity = ReturnType<typeof wideEntity>

/** The field P5 edits and its new value (a short string, as most edits are). */
export const WIDE_EDIT = { field: 'status', value: 'in review' } as const

/** Nested objects three levels deep (P3: a depth-3 field, `meta.level.value`). */
export interface Deep {
  _id: string
  name: string
  count: number
  flag: boolean
  meta: { kind: string; version: number; level: { a: number; b: string; value: number } }
}

/**
 * A {@link Deep} value. Writing `meta.level.value` immutably copies three
 * objects: the root, `meta` and `level`.
 *
 * @returns A fresh object.
 */
export function deep(): Deep {
  return {
    _id: 'd-1',
    name: 'sensor',
    count: 0,
    flag: true,
    meta: { kind: 'gauge', version: 3, level: { a: 1, b: 'x', value: 0 } },
  }
}
