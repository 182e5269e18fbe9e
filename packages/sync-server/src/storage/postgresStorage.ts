import { createHash, randomUUID } from 'node:crypto'
import type { OpId } from '@lensync/protocol'
import type { Options, Sql, TransactionSql } from 'postgres'
import { ServerError } from '../ServerError.ts'
import {
  _DEFAULT_DEDUP_WINDOW,
  _dedupOptions,
  _isFresh,
  _opKey,
  _PRUNE_BATCH,
  _PruneSchedule,
  type _ResolvedDedup,
} from './dedupWindow.ts'
import { _entityKey, _planCommit } from './postgresCommitPlan.ts'
import { _PostgresFeed } from './postgresFeed.ts'
import { _migrate, type _PostgresTables, _postgresTables } from './postgresSchema.ts'
import { _requireOptional } from './requireOptional.ts'
import type {
  AppliedWrite,
  ChangeListener,
  CommitResult,
  ListedEntity,
  ListOptions,
  ListPage,
  Storage,
  StorageWrite,
  StoredEntity,
} from './Storage.ts'

/** Options of {@link postgresStorage}. */
export interface PostgresStorageOptions {
  /** The database, as a `postgres://` or `postgresql://` URL (user, password, host, port, database, `?sslmode=`). Required. */
  url: string
  /**
   * The schema that holds lensync's tables; created when missing. Nodes that
   * share data use the same database and schema. Default `'lensync'`.
   */
  schema?: string
  /**
   * About how many changes the change table keeps (trimmed by commits). A
   * node that falls further behind than this resets: its clients reconnect.
   * Default `10_000`.
   */
  feedLength?: number
  /**
   * More options for the `postgres` client (`ssl`, `max` connections,
   * `connect_timeout` …). `url` wins for what it says.
   */
  postgresOptions?: Options<Record<string, never>>
  /** Where connection and feed problems are reported. Default `console`. */
  logger?: { warn?(message: string, ...details: unknown[]): void }
  /**
   * How long a write applied with an `origin` is remembered (ms), so a
   * resent copy is recognized ({@link Storage.applied}) on every node.
   * Default 7 days (`604_800_000`).
   */
  dedupWindow?: number
  /** The clock applied writes are stamped and aged with. Default `Date.now`; tests inject one. */
  now?: () => number
}

/** The defaults of {@link postgresStorage}. */
export const defaultPostgresStorageOptions = Object.freeze({
  schema: 'lensync',
  feedLength: 10_000,
  dedupWindow: _DEFAULT_DEDUP_WINDOW,
})

/**
 * Keeps entities in PostgreSQL, shared by every server node that uses the
 * same database and schema. Each group commit is one transaction: it locks
 * the feed's head row (so commits of all nodes take turns), checks every
 * write's expected revision, assigns the resources' next revisions, stores
 * the values, appends one row per write to the change table and NOTIFYs the
 * other nodes, which read the new rows ({@link Storage.watch}) and send
 * their subscribers the changes in revision order.
 *
 * A write applied with an `origin` is recorded in `lensync_applied` in the
 * same transaction and kept for `dedupWindow`; each node deletes expired
 * records after a commit, at most 1 000 at a time, about once a minute,
 * outside the commit's transaction (so the feed lock is not held for it).
 *
 * The tables are created, and migrated when a newer server needs it, at the
 * first use (see the README). The `postgres` package is an optional peer
 * dependency, loaded here.
 *
 * @param options - `url`, `schema`, `feedLength`, `postgresOptions`, `logger`,
 *   `dedupWindow` (default 7 days), `now` (default `Date.now`).
 * @returns The storage; `close()` closes its connections.
 * @throws TypeError naming a bad option; ServerError `MODULE_MISSING` when `postgres` is not installed.
 * @example
 * const storage = postgresStorage({ url: 'postgres://app@127.0.0.1:5432/app' })
 * app.webSocket('/sync', syncRoute({ storage }))
 */
export function postgresStorage(options: PostgresStorageOptions): Storage {
  if (typeof options !== 'object' || options === null)
    throw new TypeError("postgresStorage(options): options must be an object such as { url: 'postgres://…' }")
  const { url, schema, feedLength } = {
    ...defaultPostgresStorageOptions,
    ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
  } as Required<Pick<PostgresStorageOptions, 'url' | 'schema' | 'feedLength' | 'dedupWindow'>>
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url))
    throw new TypeError(
      `postgresStorage(options): url must be a postgres:// or postgresql:// URL, got ${String(url && maskUrl(String(url)))}`,
    )
  if (typeof schema !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema))
    throw new TypeError(
      `postgresStorage(options): schema must be 1 to 63 letters, digits or _ (not starting with a digit), got ${String(schema)}`,
    )
  if (!Number.isSafeInteger(feedLength) || feedLength < 100)
    throw new TypeError(
      `postgresStorage(options): feedLength must be an integer >= 100, got ${String(feedLength)}`,
    )
  const dedup = _dedupOptions('postgresStorage', options)
  return new PostgresStorage(
    url,
    schema,
    feedLength,
    options.postgresOptions ?? {},
    options.logger ?? console,
    dedup,
  )
}

/** `postgres://user:secret@host/db?password=x` → `postgres://***@host/db?password=***`. */
function maskUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@').replace(/([?&]password=)[^&]*/gi, '$1***')
}

/** The NOTIFY channel of a schema (a channel name has at most 63 bytes). */
function channelOf(schema: string): string {
  const name = `lensync_${schema}`
  return name.length <= 63 ? name : `lensync_${createHash('sha1').update(schema).digest('hex')}`
}

/** How long a connection may sit in an open transaction before PostgreSQL ends it (ms). */
const IDLE_IN_TRANSACTION_MS = 15_000

interface EntityRow {
  seq: string
  id: string
  rev: string
  value: string | null
}

/** @internal The {@link postgresStorage} implementation. */
class PostgresStorage implements Storage {
  readonly sql: Sql
  readonly url: string
  readonly tables: _PostgresTables
  readonly channel: string
  readonly origin = randomUUID()
  private readonly _connect: (options: Options<Record<string, never>>, name: string) => Sql
  private readonly _schema: string
  private readonly _feedLength: number
  /** Rows trimmed at a time: the change table keeps between feedLength and feedLength + this. */
  private readonly _trimStep: number
  private readonly _feed: _PostgresFeed
  private readonly _logger: NonNullable<PostgresStorageOptions['logger']>
  /** This storage's writes whose change has not come back through the feed yet, by token. */
  private readonly _mine = new Map<number, StorageWrite>()
  private _nextToken = 1
  private readonly _dedup: _ResolvedDedup
  private readonly _prune: _PruneSchedule
  /** The running pruning step, if any (one at a time; `close()` waits for it). */
  private _pruning: Promise<void> | undefined
  private _ready: Promise<void> | undefined
  private _closed: Promise<void> | undefined

  constructor(
    url: string,
    schema: string,
    feedLength: number,
    postgresOptions: Options<Record<string, never>>,
    logger: NonNullable<PostgresStorageOptions['logger']>,
    dedup: _ResolvedDedup,
  ) {
    this._dedup = dedup
    this._prune = new _PruneSchedule(dedup.dedupWindow)
    const postgres = _requireOptional<typeof import('postgres')>('postgres', 'postgresStorage')
    this.url = maskUrl(url)
    this._schema = schema
    this.tables = _postgresTables(schema)
    this.channel = channelOf(schema)
    this._feedLength = feedLength
    this._trimStep = Math.max(1, Math.floor(feedLength / 10))
    this._logger = logger
    this._connect = (options, name) =>
      postgres(url, {
        // Notices ("relation exists, skipping" …) are not worth a line on the console.
        onnotice: () => {},
        ...postgresOptions,
        ...options,
        connection: {
          // Named, so pg_stat_activity shows which connections are lensync's.
          application_name: name,
          // A node that vanishes mid-commit (host gone, no TCP reset) would
          // hold the feed lock, and with it every node's commits, until the
          // server noticed; a commit never idles for more than milliseconds.
          idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
          ...postgresOptions.connection,
        },
      })
    this.sql = this._connect({}, 'lensync')
    this._feed = new _PostgresFeed(this)
  }

  async get(resource: string, id: string): Promise<StoredEntity | undefined> {
    await this.ready()
    const [row] = await this.sql.unsafe<(EntityRow & { fields: string | null })[]>(
      `SELECT id, rev, value, fields FROM ${this.tables.entities} WHERE resource = $1 AND id = $2`,
      [resource, id],
    )
    if (!row) return undefined
    const entity = { id: row.id, rev: Number(row.rev), value: row.value }
    return row.fields === null ? entity : { ...entity, fields: row.fields }
  }

  async revision(resource: string): Promise<number> {
    await this.ready()
    const [row] = await this.sql.unsafe<{ rev: string }[]>(
      `SELECT rev FROM ${this.tables.resources} WHERE resource = $1`,
      [resource],
    )
    return Number(row?.rev ?? 0)
  }

  async list(resource: string, options: ListOptions): Promise<ListPage> {
    await this.ready()
    const { entities: table } = this.tables
    // Live entities in creation order; with `since`, everything written
    // after it in revision order (an entity rewritten while the listing
    // runs moves behind the cursor and is listed again, never skipped).
    const after = typeof options.after === 'number' ? options.after : Number(options.after ?? 0)
    const rows =
      options.since === undefined
        ? await this.sql.unsafe<EntityRow[]>(
            `SELECT seq, id, rev, value FROM ${table}
             WHERE resource = $1 AND seq > $2 AND value IS NOT NULL ORDER BY seq LIMIT $3`,
            [resource, after, options.limit + 1],
          )
        : await this.sql.unsafe<EntityRow[]>(
            `SELECT seq, id, rev, value FROM ${table}
             WHERE resource = $1 AND rev > $2 ORDER BY rev LIMIT $3`,
            [resource, Math.max(after, options.since), options.limit + 1],
          )
    const more = rows.length > options.limit
    if (more) rows.pop()
    const entities: ListedEntity[] = rows.map(row => ({
      id: row.id,
      rev: Number(row.rev),
      value: row.value,
      cursor: Number(options.since === undefined ? row.seq : row.rev),
    }))
    return { entities, more }
  }

  async applied(client: string, op: OpId): Promise<AppliedWrite | undefined> {
    await this.ready()
    const [row] = await this.sql.unsafe<{ resource: string; id: string; rev: string; at: string }[]>(
      `SELECT resource, id, rev, at FROM ${this.tables.applied} WHERE client = $1 AND op = $2`,
      [client, _opKey(op)],
    )
    if (!row || !_isFresh(Number(row.at), this._dedup.now(), this._dedup.dedupWindow)) return undefined
    return { resource: row.resource, id: row.id, rev: Number(row.rev) }
  }

  async commit(writes: readonly StorageWrite[]): Promise<CommitResult[]> {
    if (writes.length === 0) return []
    await this.ready()
    const at = this._dedup.now()
    const tokens = writes.map(write => {
      const token = this._nextToken++
      this._mine.set(token, write)
      return token
    })
    let results: CommitResult[]
    try {
      results = (await this.sql.begin(tx => this._apply(tx, writes, tokens, at))) as CommitResult[]
    } catch (error) {
      for (const token of tokens) this._mine.delete(token)
      throw error
    }
    // A refused write leaves no change row.
    results.forEach((result, i) => {
      if ('conflict' in result) this._mine.delete(tokens[i] as number)
    })
    if (!this._pruning && !this._closed && this._prune.due(at))
      this._pruning = this._pruneApplied(at).finally(() => {
        this._pruning = undefined
      })
    return results
  }

  async compactTombstones(maxAge: number, limit: number): Promise<number> {
    await this.ready()
    const t = this.tables
    // One statement: the tombstones go and coveredSince rises together. A
    // tombstone a commit is rewriting right now is skipped, not waited for.
    const [row] = await this.sql.unsafe<{ n: number }[]>(
      `WITH gone AS (
         DELETE FROM ${t.entities} WHERE seq IN (
           SELECT seq FROM ${t.entities} WHERE value IS NULL AND deleted_at <= $1
           ORDER BY deleted_at LIMIT $2 FOR UPDATE SKIP LOCKED
         ) RETURNING resource, rev
       ), covered AS (
         INSERT INTO ${t.compacted} (resource, rev)
         SELECT resource, max(rev) FROM gone GROUP BY resource
         ON CONFLICT (resource) DO UPDATE SET rev = greatest(${t.compacted}.rev, excluded.rev)
       )
       SELECT count(*)::int AS n FROM gone`,
      [this._dedup.now() - maxAge, limit],
    )
    return Number(row?.n ?? 0)
  }

  async coveredSince(resource: string): Promise<number> {
    await this.ready()
    const [row] = await this.sql.unsafe<{ rev: string }[]>(
      `SELECT rev FROM ${this.tables.compacted} WHERE resource = $1`,
      [resource],
    )
    return Number(row?.rev ?? 0)
  }

  watch(listener: ChangeListener): Promise<() => void> {
    if (this._closed) return Promise.reject(new Error('postgresStorage: watch() after close()'))
    return this._feed.watch(listener)
  }

  close(): Promise<void> {
    this._closed ??= (async () => {
      this._mine.clear()
      await this._pruning
      await this._feed.stop()
      await this.sql.end({ timeout: 5 })
    })()
    return this._closed
  }

  // ——— for the feed (internal) ———

  /** Creates or migrates the tables once; a failure is retried by the next call. */
  ready(): Promise<void> {
    this._ready ??= _migrate(this.sql, this._schema).catch(cause => {
      this._ready = undefined
      if (cause instanceof ServerError) throw cause
      throw new ServerError(
        'STORAGE_UNAVAILABLE',
        `postgresStorage: cannot use PostgreSQL at ${this.url}: ${(cause as Error)?.message ?? cause}`,
        { cause },
      )
    })
    return this._ready
  }

  openListener(events: { onnotify(channel: string, payload: string): void; onclose(): void }): Sql {
    // onnotify is how postgres' own listen() connection gets notifications.
    return this._connect(
      {
        max: 1,
        idle_timeout: 0,
        max_lifetime: null,
        fetch_types: false,
        onclose: events.onclose,
        ...({ onnotify: events.onnotify } as object),
      },
      'lensync feed',
    )
  }

  takeWrite(token: number): StorageWrite | undefined {
    const write = this._mine.get(token)
    this._mine.delete(token)
    return write
  }

  warn(message: string, error: unknown): void {
    this._logger.warn?.(message, error)
  }

  /**
   * Deletes up to a batch of expired records, in a statement of its own:
   * inside the commit it would hold the feed lock, and every node's commits
   * with it. Rows another node is deleting are skipped, not waited for.
   */
  private async _pruneApplied(now: number): Promise<void> {
    const t = this.tables
    try {
      const deleted = await this.sql.unsafe(
        `DELETE FROM ${t.applied} WHERE (client, op) IN
         (SELECT client, op FROM ${t.applied} WHERE at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [now - this._dedup.dedupWindow, _PRUNE_BATCH],
      )
      this._prune.pruned(deleted.count)
    } catch (error) {
      this.warn(
        'lensync postgresStorage: deleting expired applied-write records failed; retrying later',
        error,
      )
    }
  }

  /** One group commit, inside its transaction. */
  private async _apply(
    tx: TransactionSql,
    writes: readonly StorageWrite[],
    tokens: readonly number[],
    at: number,
  ): Promise<CommitResult[]> {
    const t = this.tables
    const resources = [...new Set(writes.map(write => write.resource))]
    // Sent together: the lock first, so the reads (each statement sees what
    // was committed when it started) come after every earlier commit.
    const [heads, stored, revisions] = await Promise.all([
      tx.unsafe<{ n: string }[]>(`SELECT n FROM ${t.feed} FOR UPDATE`),
      tx.unsafe<{ resource: string; id: string; rev: string }[]>(
        `SELECT e.resource, e.id, e.rev FROM ${t.entities} e
         JOIN unnest($1::text[], $2::text[]) AS w(resource, id) ON e.resource = w.resource AND e.id = w.id`,
        [writes.map(write => write.resource), writes.map(write => write.id)],
      ),
      tx.unsafe<{ resource: string; rev: string }[]>(
        `SELECT resource, rev FROM ${t.resources} WHERE resource = ANY($1::text[])`,
        [resources],
      ),
    ])
    const head = Number(heads[0]?.n ?? 0)
    const plan = _planCommit(
      writes,
      new Map(stored.map(row => [_entityKey(row.resource, row.id), Number(row.rev)])),
      new Map(revisions.map(row => [row.resource, Number(row.rev)])),
      head,
    )
    if (plan.changes.length === 0) return plan.results
    const { changes, entities } = plan
    const recorded = changes.filter(c => c.write.origin)
    // Trim in steps, when the head crosses a multiple of the step.
    const trimTo =
      Math.floor(plan.head / this._trimStep) > Math.floor(head / this._trimStep)
        ? plan.head - this._feedLength
        : 0
    await tx.unsafe(
      `WITH entities AS (
         INSERT INTO ${t.entities} (resource, id, rev, value, deleted_at, fields)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $24::int8[], $25::text[])
         ON CONFLICT (resource, id) DO UPDATE
         SET rev = excluded.rev, value = excluded.value, deleted_at = excluded.deleted_at,
           fields = excluded.fields
       ), resources AS (
         INSERT INTO ${t.resources} (resource, rev) SELECT * FROM unnest($5::text[], $6::int8[])
         ON CONFLICT (resource) DO UPDATE SET rev = excluded.rev
       ), changes AS (
         INSERT INTO ${t.changes} (n, resource, id, rev, value, change, origin, token, fields)
         SELECT n, resource, id, rev, value, change, $13::text, token, fields
         FROM unnest($7::int8[], $8::text[], $9::text[], $10::int8[], $11::text[], $12::text[], $14::int8[],
           $26::text[])
           AS c(n, resource, id, rev, value, change, token, fields)
       ), head AS (
         UPDATE ${t.feed} SET n = $15::int8
       ), trimmed AS (
         DELETE FROM ${t.changes} WHERE n <= $16::int8
       ), applied AS (
         INSERT INTO ${t.applied} (client, op, resource, id, rev, at)
         SELECT client, op, resource, id, rev, $23::int8
         FROM unnest($18::text[], $19::text[], $20::text[], $21::text[], $22::int8[])
           AS a(client, op, resource, id, rev)
         ON CONFLICT (client, op) DO NOTHING
       )
       SELECT pg_notify($17, $15::int8::text)`,
      [
        entities.map(c => c.write.resource),
        entities.map(c => c.write.id),
        entities.map(c => c.rev),
        entities.map(c => c.write.value),
        [...plan.resources.keys()],
        [...plan.resources.values()],
        changes.map(c => c.n),
        changes.map(c => c.write.resource),
        changes.map(c => c.write.id),
        changes.map(c => c.rev),
        changes.map(c => c.write.value),
        changes.map(c => `${c.write.change?.[0] ?? ''}${c.rev}${c.write.change?.[1] ?? ''}`),
        this.origin,
        changes.map(c => tokens[c.index] as number),
        plan.head,
        trimTo,
        this.channel,
        recorded.map(c => c.write.origin?.client as string),
        recorded.map(c => _opKey(c.write.origin?.op as OpId)),
        recorded.map(c => c.write.resource),
        recorded.map(c => c.write.id),
        recorded.map(c => c.rev),
        at,
        entities.map(c => (c.write.value === null ? at : null)),
        entities.map(c => c.fields),
        changes.map(c => c.fields),
      ],
    )
    return plan.results
  }
}
