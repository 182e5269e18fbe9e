import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { OpId } from '@lensync/protocol'
import type Database from 'better-sqlite3'
import { ServerError } from '../ServerError.ts'
import {
  _dedupOptions,
  _isFresh,
  _opKey,
  _PRUNE_BATCH,
  _PruneSchedule,
  type _ResolvedDedup,
} from './dedupWindow.ts'
import { _fillRevisions } from './fillRevisions.ts'
import { _requireOptional } from './requireOptional.ts'
import type {
  AppliedWrite,
  CommitResult,
  ListedEntity,
  ListOptions,
  ListPage,
  Storage,
  StorageWrite,
  StoredEntity,
} from './Storage.ts'

/** Options of {@link sqliteStorage}. */
export interface SqliteStorageOptions {
  /**
   * The database file; its directory is created when missing. `':memory:'`
   * keeps everything in memory (tests). Default `'./data/lensync.db'`.
   */
  file?: string
  /**
   * How long a write applied with an `origin` is remembered (ms), so a
   * resent copy is recognized ({@link Storage.applied}). Default 7 days
   * (`604_800_000`).
   */
  dedupWindow?: number
  /** The clock applied writes are stamped and aged with. Default `Date.now`; tests inject one. */
  now?: () => number
}

/** The default database file of {@link sqliteStorage} and `createSyncServer`. */
export const DEFAULT_DATA_FILE = './data/lensync.db'

interface EntityRow {
  seq: number
  id: string
  rev: number
  value: string | null
}

interface EntityFieldsRow extends EntityRow {
  fields: string | null
}

interface AppliedRow {
  resource: string
  id: string
  rev: number
  at: number
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS lensync_entities (
  seq INTEGER PRIMARY KEY,
  resource TEXT NOT NULL,
  id TEXT NOT NULL,
  rev INTEGER NOT NULL,
  value TEXT,
  UNIQUE (resource, id)
);
CREATE INDEX IF NOT EXISTS lensync_entities_by_seq ON lensync_entities (resource, seq);
CREATE INDEX IF NOT EXISTS lensync_entities_by_rev ON lensync_entities (resource, rev);
CREATE TABLE IF NOT EXISTS lensync_resources (
  resource TEXT PRIMARY KEY,
  rev INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lensync_applied (
  client TEXT NOT NULL,
  op TEXT NOT NULL,
  resource TEXT NOT NULL,
  id TEXT NOT NULL,
  rev INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (client, op)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lensync_applied_by_at ON lensync_applied (at);
CREATE TABLE IF NOT EXISTS lensync_compacted (
  resource TEXT PRIMARY KEY,
  rev INTEGER NOT NULL
) WITHOUT ROWID;
`

/**
 * When a tombstone was made (ms since the epoch; `NULL` for a live entity),
 * for tombstone compaction. Added to a file of an older version when opened,
 * its tombstones stamped with the time of the upgrade.
 */
function addDeletedAt(db: Database.Database, now: number): void {
  const columns = db.prepare('PRAGMA table_info(lensync_entities)').all() as { name: string }[]
  if (!columns.some(column => column.name === 'deleted_at'))
    db.transaction(() => {
      db.exec('ALTER TABLE lensync_entities ADD COLUMN deleted_at INTEGER')
      db.prepare('UPDATE lensync_entities SET deleted_at = ? WHERE value IS NULL').run(now)
    })()
  db.exec(
    'CREATE INDEX IF NOT EXISTS lensync_entities_tombstones ON lensync_entities (deleted_at) WHERE value IS NULL',
  )
}

/**
 * The field revisions of each entity (JSON text; `NULL`: none, every field
 * unknown), beside its value. Added to a file of an older version when
 * opened: its entities start without any.
 */
function addFields(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(lensync_entities)').all() as { name: string }[]
  if (!columns.some(column => column.name === 'fields'))
    db.exec('ALTER TABLE lensync_entities ADD COLUMN fields TEXT')
}

/**
 * Keeps entities in an embedded SQLite database (better-sqlite3): one table
 * of entities (value, revision, field revisions; a `NULL` value is a
 * tombstone) and one of resource revisions. The database runs in WAL mode
 * with `synchronous=FULL`, so a batch is on disk when {@link Storage.commit}
 * returns; each batch is one transaction. Every method answers synchronously.
 *
 * A write applied with an `origin` is also recorded in `lensync_applied`, in
 * the write's transaction, and kept for `dedupWindow`; commits delete
 * expired records in steps of at most 1 000 (about once a minute). The
 * tables are created when missing, so a file of an older version gains the
 * new tables (and the `fields` column) when opened.
 *
 * One storage at a time per file: it holds an exclusive lock on `<file>.lock`
 * while open, so a second server on the same file fails to start instead of
 * handing out the same revisions. The lock is the operating system's, so it
 * ends with the process however the process ends (a `kill -9` leaves no stale
 * lock behind); other programs can still read the database.
 *
 * better-sqlite3 is loaded on the first call, so servers that keep their data
 * elsewhere run without its native addon.
 *
 * @param options - `file` (default `'./data/lensync.db'`, `':memory:'` for tests),
 *   `dedupWindow` (default 7 days), `now` (default `Date.now`).
 * @returns The storage; `close()` closes the database and releases the lock.
 * @throws ServerError `STORAGE_LOCKED` when another storage has the file open
 *   (in this process or another); `MODULE_MISSING` when better-sqlite3's
 *   native addon cannot be loaded; the SQLite error when the file cannot be
 *   opened (e.g. not a database).
 * @example
 * const storage = sqliteStorage({ file: './data/lensync.db' })
 */
export function sqliteStorage(options: SqliteStorageOptions = {}): Storage {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('sqliteStorage(options): options must be an object')
  const file = options.file ?? DEFAULT_DATA_FILE
  if (typeof file !== 'string' || file === '') {
    throw new TypeError(
      `sqliteStorage(options): file must be a path such as './data/lensync.db' or ':memory:', got ${String(file)}`,
    )
  }
  return new SqliteStorage(file, _dedupOptions('sqliteStorage', options))
}

let betterSqlite3: typeof Database | undefined

/** Loads better-sqlite3 and its native addon once, on the first SQLite storage. */
function loadBetterSqlite3(): typeof Database {
  if (betterSqlite3) return betterSqlite3
  const Constructor = _requireOptional<typeof Database>('better-sqlite3', 'sqliteStorage')
  try {
    // The addon loads on the first open; find out here, with a message that says what to do.
    new Constructor(':memory:').close()
  } catch (error) {
    throw new ServerError(
      'MODULE_MISSING',
      `sqliteStorage needs better-sqlite3's native addon, which could not be loaded (installed with --ignore-scripts? run \`npm rebuild better-sqlite3\`), or keep the data elsewhere (memory: true, redis): ${(error as Error).message}`,
      { cause: error },
    )
  }
  betterSqlite3 = Constructor
  return Constructor
}

/**
 * Takes the exclusive lock of `file`: an exclusive transaction on the
 * database `<file>.lock`, held open until the returned connection closes.
 * SQLite locks with fcntl, which the kernel drops when the process ends,
 * and it tracks locks per file across connections in one process too.
 */
function lockFile(Sqlite: typeof Database, file: string): Database.Database {
  const lockPath = `${file}.lock`
  const lock = new Sqlite(lockPath, { timeout: 0 })
  try {
    lock.exec('BEGIN EXCLUSIVE')
  } catch (error) {
    lock.close()
    if ((error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error
    throw new ServerError(
      'STORAGE_LOCKED',
      `The SQLite file ${file} is in use by another lensync server (it holds ${lockPath}); stop it or give this one another file`,
      { cause: error },
    )
  }
  return lock
}

/** @internal The {@link sqliteStorage} implementation. */
class SqliteStorage implements Storage {
  private readonly _db: Database.Database
  /** Holds the file's exclusive lock; `undefined` for `':memory:'`. */
  private readonly _lock: Database.Database | undefined
  private readonly _get: Database.Statement<[string, string], EntityFieldsRow>
  private readonly _getRev: Database.Statement<[string, string], { rev: number }>
  private readonly _revision: Database.Statement<[string], { rev: number }>
  private readonly _listLive: Database.Statement<[string, number, number], EntityRow>
  private readonly _listSince: Database.Statement<[string, number, number, number], EntityRow>
  private readonly _upsert: Database.Statement<
    [string, string, number, string | null, number | null, string | null]
  >
  private readonly _oldTombstones: Database.Statement<
    [number, number],
    { seq: number; resource: string; rev: number }
  >
  private readonly _deleteSeq: Database.Statement<[number]>
  private readonly _cover: Database.Statement<[string, number]>
  private readonly _covered: Database.Statement<[string], { rev: number }>
  private readonly _compact: (cutoff: number, limit: number) => number
  private readonly _setRevision: Database.Statement<[string, number]>
  private readonly _getApplied: Database.Statement<[string, string], AppliedRow>
  private readonly _record: Database.Statement<[string, string, string, string, number, number]>
  private readonly _pruneApplied: Database.Statement<[number, number]>
  private readonly _commit: (writes: readonly StorageWrite[]) => CommitResult[]
  private readonly _dedup: _ResolvedDedup
  private readonly _prune: _PruneSchedule

  constructor(file: string, dedup: _ResolvedDedup) {
    this._dedup = dedup
    this._prune = new _PruneSchedule(dedup.dedupWindow)
    const Sqlite = loadBetterSqlite3()
    const inMemory = file === ':memory:'
    if (!inMemory) mkdirSync(dirname(file), { recursive: true })
    this._lock = inMemory ? undefined : lockFile(Sqlite, file)
    let db: Database.Database | undefined
    try {
      db = new Sqlite(file)
      db.pragma('journal_mode = WAL')
      // FULL: a commit is on disk (WAL fsynced) before it returns, so an ack
      // never promises a write a power cut could take back.
      db.pragma('synchronous = FULL')
      db.exec(SCHEMA)
      addDeletedAt(db, dedup.now())
      addFields(db)
    } catch (error) {
      db?.close()
      this._lock?.close()
      throw error
    }
    this._db = db
    this._get = db.prepare(
      'SELECT seq, id, rev, value, fields FROM lensync_entities WHERE resource = ? AND id = ?',
    )
    this._getRev = db.prepare('SELECT rev FROM lensync_entities WHERE resource = ? AND id = ?')
    this._revision = db.prepare('SELECT rev FROM lensync_resources WHERE resource = ?')
    this._listLive = db.prepare(
      `SELECT seq, id, rev, value FROM lensync_entities
       WHERE resource = ? AND seq > ? AND value IS NOT NULL ORDER BY seq LIMIT ?`,
    )
    this._listSince = db.prepare(
      `SELECT seq, id, rev, value FROM lensync_entities
       WHERE resource = ? AND seq > ? AND rev > ? ORDER BY seq LIMIT ?`,
    )
    this._upsert = db.prepare(
      `INSERT INTO lensync_entities (resource, id, rev, value, deleted_at, fields) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (resource, id) DO UPDATE
       SET rev = excluded.rev, value = excluded.value, deleted_at = excluded.deleted_at, fields = excluded.fields`,
    )
    this._oldTombstones = db.prepare(
      `SELECT seq, resource, rev FROM lensync_entities
       WHERE value IS NULL AND deleted_at <= ? ORDER BY deleted_at LIMIT ?`,
    )
    this._deleteSeq = db.prepare('DELETE FROM lensync_entities WHERE seq = ?')
    this._cover = db.prepare(
      `INSERT INTO lensync_compacted (resource, rev) VALUES (?, ?)
       ON CONFLICT (resource) DO UPDATE SET rev = max(rev, excluded.rev)`,
    )
    this._covered = db.prepare('SELECT rev FROM lensync_compacted WHERE resource = ?')
    // One transaction: the tombstones go and the resources' coveredSince rises together.
    this._compact = db.transaction((cutoff: number, limit: number) => {
      const rows = this._oldTombstones.all(cutoff, limit)
      const tops = new Map<string, number>()
      for (const row of rows) {
        this._deleteSeq.run(row.seq)
        tops.set(row.resource, Math.max(tops.get(row.resource) ?? 0, row.rev))
      }
      for (const [resource, rev] of tops) this._cover.run(resource, rev)
      return rows.length
    })
    this._setRevision = db.prepare(
      `INSERT INTO lensync_resources (resource, rev) VALUES (?, ?)
       ON CONFLICT (resource) DO UPDATE SET rev = excluded.rev`,
    )
    this._getApplied = db.prepare(
      'SELECT resource, id, rev, at FROM lensync_applied WHERE client = ? AND op = ?',
    )
    // The first record of an op is kept (a duplicate the hub let through does not move it).
    this._record = db.prepare(
      `INSERT INTO lensync_applied (client, op, resource, id, rev, at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (client, op) DO NOTHING`,
    )
    this._pruneApplied = db.prepare(
      `DELETE FROM lensync_applied WHERE (client, op) IN
       (SELECT client, op FROM lensync_applied WHERE at <= ? LIMIT ?)`,
    )
    this._commit = db.transaction((writes: readonly StorageWrite[]) => this._apply(writes))
  }

  get(resource: string, id: string): StoredEntity | undefined {
    const row = this._get.get(resource, id)
    if (!row) return undefined
    return row.fields === null
      ? { id: row.id, rev: row.rev, value: row.value }
      : { id: row.id, rev: row.rev, value: row.value, fields: row.fields }
  }

  revision(resource: string): number {
    return this._revision.get(resource)?.rev ?? 0
  }

  list(resource: string, options: ListOptions): ListPage {
    const after = typeof options.after === 'number' ? options.after : 0
    // One more row than asked tells whether another page follows.
    const rows =
      options.since === undefined
        ? this._listLive.all(resource, after, options.limit + 1)
        : this._listSince.all(resource, after, options.since, options.limit + 1)
    const more = rows.length > options.limit
    if (more) rows.pop()
    const entities: ListedEntity[] = rows.map(row => ({
      id: row.id,
      rev: row.rev,
      value: row.value,
      cursor: row.seq,
    }))
    return { entities, more }
  }

  applied(client: string, op: OpId): AppliedWrite | undefined {
    const row = this._getApplied.get(client, _opKey(op))
    if (!row || !_isFresh(row.at, this._dedup.now(), this._dedup.dedupWindow)) return undefined
    return { resource: row.resource, id: row.id, rev: row.rev }
  }

  commit(writes: readonly StorageWrite[]): CommitResult[] {
    if (writes.length === 0) return []
    return this._commit(writes)
  }

  compactTombstones(maxAge: number, limit: number): number {
    return this._compact(this._dedup.now() - maxAge, limit)
  }

  coveredSince(resource: string): number {
    return this._covered.get(resource)?.rev ?? 0
  }

  close(): void {
    if (this._db.open) this._db.close()
    // After the database: the next server may open the file once the lock is gone.
    if (this._lock?.open) this._lock.close()
  }

  /** Runs inside the transaction. */
  private _apply(writes: readonly StorageWrite[]): CommitResult[] {
    const at = this._dedup.now()
    if (this._prune.due(at))
      this._prune.pruned(this._pruneApplied.run(at - this._dedup.dedupWindow, _PRUNE_BATCH).changes)
    const revisions = new Map<string, number>()
    const conflicted = new Set<string>()
    // Each applied write's revision, by batch index, for the placeholders of field revisions.
    const revs: (number | undefined)[] = []
    const results = writes.map((write, index): CommitResult => {
      const key = `${write.resource}\u0000${write.id}`
      if (write.expectedRev === undefined) {
        if (conflicted.has(key)) return { conflict: true }
      } else if ((this._getRev.get(write.resource, write.id)?.rev ?? 0) !== write.expectedRev) {
        conflicted.add(key)
        return { conflict: true }
      }
      const rev = (revisions.get(write.resource) ?? this.revision(write.resource)) + 1
      revisions.set(write.resource, rev)
      const deleted = write.value === null
      // A tombstone keeps no field revisions.
      revs[index] = rev
      const fields = deleted ? undefined : _fillRevisions(write.fields, k => revs[k])
      this._upsert.run(write.resource, write.id, rev, write.value, deleted ? at : null, fields ?? null)
      const { origin } = write
      if (origin) this._record.run(origin.client, _opKey(origin.op), write.resource, write.id, rev, at)
      return { rev }
    })
    for (const [resource, rev] of revisions) this._setRevision.run(resource, rev)
    return results
  }
}
