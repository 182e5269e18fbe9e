import type { ISql, Sql } from 'postgres'
import { ServerError } from '../ServerError.ts'

/**
 * @internal
 * The tables of one schema, as quoted SQL names (`"lensync"."lensync_entities"` …).
 */
export interface _PostgresTables {
  readonly schema: string
  readonly version: string
  readonly resources: string
  readonly entities: string
  readonly feed: string
  readonly changes: string
  readonly applied: string
  readonly compacted: string
}

/** @internal Quotes an identifier for SQL. */
export function _quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** @internal The quoted names of the tables in `schema`. */
export function _postgresTables(schema: string): _PostgresTables {
  const q = _quoteIdent(schema)
  return {
    schema: q,
    version: `${q}.lensync_schema_version`,
    resources: `${q}.lensync_resources`,
    entities: `${q}.lensync_entities`,
    feed: `${q}.lensync_feed`,
    changes: `${q}.lensync_changes`,
    applied: `${q}.lensync_applied`,
    compacted: `${q}.lensync_compacted`,
  }
}

/**
 * The migrations, in order: migration `i` brings the schema from version
 * `i` to `i + 1`. Never edit one that shipped; append a new one.
 */
const MIGRATIONS: readonly ((t: _PostgresTables) => readonly string[])[] = [
  t => [
    // A resource's revision counter: the revision of its last write.
    `CREATE TABLE ${t.resources} (resource text PRIMARY KEY, rev bigint NOT NULL)`,
    // One row per entity; a NULL value is a tombstone. seq is the creation
    // order (listing without since); rev the resource revision of its last write.
    `CREATE TABLE ${t.entities} (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      resource text NOT NULL,
      id text NOT NULL,
      rev bigint NOT NULL,
      value text,
      UNIQUE (resource, id)
    )`,
    `CREATE INDEX lensync_entities_by_seq ON ${t.entities} (resource, seq)`,
    `CREATE INDEX lensync_entities_by_rev ON ${t.entities} (resource, rev)`,
    // One row: the number of the last change. Every commit locks it first,
    // which numbers changes gaplessly in commit order across all nodes.
    `CREATE TABLE ${t.feed} (one boolean PRIMARY KEY DEFAULT true CHECK (one), n bigint NOT NULL)`,
    `INSERT INTO ${t.feed} (n) VALUES (0)`,
    // The change feed: one row per committed write, numbered by the feed;
    // trimmed to about feedLength rows.
    `CREATE TABLE ${t.changes} (
      n bigint PRIMARY KEY,
      resource text NOT NULL,
      id text NOT NULL,
      rev bigint NOT NULL,
      value text,
      change text NOT NULL,
      origin text NOT NULL,
      token bigint NOT NULL
    )`,
  ],
  t => [
    // Writes applied with an origin, so a resent one is recognized: client
    // and op as the client sent them (op as JSON text: 1 and "1" differ), at
    // in ms since the epoch; rows older than dedupWindow are deleted.
    `CREATE TABLE ${t.applied} (
      client text NOT NULL,
      op text NOT NULL,
      resource text NOT NULL,
      id text NOT NULL,
      rev bigint NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (client, op)
    )`,
    `CREATE INDEX lensync_applied_by_at ON ${t.applied} (at)`,
  ],
  t => [
    // Tombstone compaction: when a tombstone was made (ms since the epoch;
    // NULL while the entity lives). Tombstones of older versions count from
    // the upgrade.
    `ALTER TABLE ${t.entities} ADD COLUMN deleted_at bigint`,
    `UPDATE ${t.entities} SET deleted_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint WHERE value IS NULL`,
    `CREATE INDEX lensync_entities_tombstones ON ${t.entities} (deleted_at) WHERE value IS NULL`,
    // Per resource, the highest revision of a removed tombstone: a since
    // below it gets a full snapshot.
    `CREATE TABLE ${t.compacted} (resource text PRIMARY KEY, rev bigint NOT NULL)`,
  ],
  t => [
    // Field revisions (who wrote each field last, at which revision) beside
    // each entity's value, and with each change for the other nodes. NULL:
    // none (entities of older versions: every field unknown).
    `ALTER TABLE ${t.entities} ADD COLUMN fields text`,
    `ALTER TABLE ${t.changes} ADD COLUMN fields text`,
  ],
]

/** The schema version this code writes and reads. */
export const _POSTGRES_SCHEMA_VERSION = MIGRATIONS.length

/**
 * @internal
 * Creates the schema and its tables, or brings them up to
 * {@link _POSTGRES_SCHEMA_VERSION}, in one transaction. Nodes starting
 * together take turns on an advisory lock, so each migration runs once.
 * Nothing is created that already exists, so a role without `CREATE`
 * rights works on a database that is up to date.
 *
 * @throws ServerError `STORAGE_UNAVAILABLE` when the database holds a newer version.
 */
export async function _migrate(sql: Sql, schema: string): Promise<void> {
  const t = _postgresTables(schema)
  if ((await versionOf(sql, schema, t)) === _POSTGRES_SCHEMA_VERSION) return
  await sql.begin(async tx => {
    // 'lensync' as the lock's class, so other advisory locks of the application stay apart.
    await tx`SELECT pg_advisory_xact_lock(hashtext('lensync'), hashtext(${schema}))`
    const [found] = await tx`SELECT 1 FROM pg_namespace WHERE nspname = ${schema}`
    if (!found) await tx.unsafe(`CREATE SCHEMA ${t.schema}`)
    const [table] =
      await tx`SELECT to_regclass(${`${t.schema}.lensync_schema_version`}) IS NOT NULL AS present`
    if (!table?.present)
      await tx.unsafe(
        `CREATE TABLE ${t.version} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      )
    const current = await versionOf(tx, schema, t)
    for (let version = current; version < MIGRATIONS.length; version++) {
      for (const statement of (MIGRATIONS[version] as (typeof MIGRATIONS)[number])(t))
        await tx.unsafe(statement)
      await tx.unsafe(`INSERT INTO ${t.version} (version) VALUES ($1)`, [version + 1])
    }
  })
}

/** The schema's version: 0 when it has no version table yet. */
async function versionOf(sql: ISql, schema: string, t: _PostgresTables): Promise<number> {
  const [table] =
    await sql`SELECT to_regclass(${`${t.schema}.lensync_schema_version`}) IS NOT NULL AS present`
  if (!table?.present) return 0
  const [row] = await sql.unsafe(`SELECT coalesce(max(version), 0)::int AS version FROM ${t.version}`)
  const version = Number(row?.version ?? 0)
  if (version > _POSTGRES_SCHEMA_VERSION)
    throw new ServerError(
      'STORAGE_UNAVAILABLE',
      `postgresStorage: schema ${schema} is at version ${version}, newer than this lensync server knows (${_POSTGRES_SCHEMA_VERSION}); upgrade @lensync/sync-server`,
    )
  return version
}
