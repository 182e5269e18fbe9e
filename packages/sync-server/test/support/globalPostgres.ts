import postgres from 'postgres'
import type { TestProject } from 'vitest/node'

// Vitest global setup: the Postgres tests need a PostgreSQL server. Use the
// one at LENSYNC_TEST_POSTGRES (default: the local one, role `lensync`,
// database `lensync_test`, which the role owns: lensync runs without
// superuser rights). When the role or the database is missing, or the role
// may not create schemas there, fix that as `postgres` (passwordless, as
// with trust authentication; `.ci/run` provisions them on a fresh machine).
// The URL reaches the tests through `inject('postgresUrl')`.

declare module 'vitest' {
  export interface ProvidedContext {
    /** The database the Postgres tests use, or `undefined` when none could be reached. */
    postgresUrl: string | undefined
    /** Why there is no database, for the error the Postgres tests throw. */
    postgresProblem: string | undefined
  }
}

const WANTED = process.env.LENSYNC_TEST_POSTGRES ?? 'postgres://lensync:lensync@127.0.0.1:5432/lensync_test'

/** Runs `work` on a one-connection client of `url`, closing it afterwards. */
async function withClient<T>(url: string, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} })
  try {
    return await work(sql)
  } finally {
    await sql.end({ timeout: 1 })
  }
}

/** The same server with another user and database. */
function sibling(url: string, user: string | undefined, database: string): string {
  const other = new URL(url)
  if (user !== undefined) {
    other.username = user
    other.password = ''
  }
  other.pathname = `/${database}`
  return other.toString()
}

/** A SQL string literal. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}

/** A quoted SQL identifier. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** Runs a statement; another test run that created the same thing at the same time is no failure. */
async function idempotent(sql: postgres.Sql, statement: string): Promise<void> {
  try {
    await sql.unsafe(statement)
  } catch (error) {
    // 42710: role exists; 42P04: database exists; 23505: the same, caught by a unique index.
    if (!['42710', '42P04', '23505'].includes((error as { code?: string }).code ?? '')) throw error
  }
}

/**
 * Creates the URL's role (with the URL's password) and database (owned by
 * the role) when missing, and lets the role create schemas in it.
 */
async function provision(url: string): Promise<void> {
  const wanted = new URL(url)
  const role = decodeURIComponent(wanted.username) || 'postgres'
  const password = decodeURIComponent(wanted.password)
  const database = decodeURIComponent(wanted.pathname.slice(1)) || role
  await withClient(sibling(url, 'postgres', 'postgres'), async sql => {
    const [hasRole] = await sql`SELECT 1 FROM pg_roles WHERE rolname = ${role}`
    if (!hasRole)
      await idempotent(
        sql,
        `CREATE ROLE ${ident(role)} LOGIN${password ? ` PASSWORD ${literal(password)}` : ''}`,
      )
    const [hasDatabase] = await sql`SELECT 1 FROM pg_database WHERE datname = ${database}`
    if (!hasDatabase) await idempotent(sql, `CREATE DATABASE ${ident(database)} OWNER ${ident(role)}`)
    else await sql.unsafe(`GRANT CREATE ON DATABASE ${ident(database)} TO ${ident(role)}`)
  })
}

/** Whether the URL's role may create schemas in its database. */
async function mayCreateSchemas(url: string): Promise<boolean> {
  const [row] = await withClient(
    url,
    sql => sql`SELECT has_database_privilege(current_database(), 'CREATE') AS ok`,
  )
  return row?.ok === true
}

export default async function setup(project: TestProject): Promise<void> {
  const shown = WANTED.replace(/\/\/[^@/]*@/, '//***@')
  try {
    const ready = await mayCreateSchemas(WANTED).catch(error => {
      // 3D000: no such database; 28000 / 28P01: no such role (or not with that password).
      if (!['3D000', '28000', '28P01'].includes((error as { code?: string }).code ?? '')) throw error
      return false
    })
    if (!ready) {
      await provision(WANTED)
      if (!(await mayCreateSchemas(WANTED)))
        throw new Error('the role may not create schemas in the database')
    }
    project.provide('postgresUrl', WANTED)
    project.provide('postgresProblem', undefined)
  } catch (error) {
    project.provide('postgresUrl', undefined)
    project.provide(
      'postgresProblem',
      `no PostgreSQL could be used at ${shown} (${(error as Error).message}); install and start one ` +
        '(Debian: apt-get install -y postgresql, then pg_ctlcluster <version> main start; .ci/run does this) ' +
        'or point LENSYNC_TEST_POSTGRES at one',
    )
  }
}
