import postgres from 'postgres'
import type { TestProject } from 'vitest/node'

// Vitest global setup: the Postgres tests need a PostgreSQL server. Use the
// one at LENSYNC_TEST_POSTGRES (default: the local one, role `postgres`,
// database `lensync_test`), creating the role and the database when they are
// missing (connecting as the URL's user, else as `postgres`, to the `postgres`
// database). The URL reaches the tests through `inject('postgresUrl')`.

declare module 'vitest' {
  export interface ProvidedContext {
    /** The database the Postgres tests use, or `undefined` when none could be reached. */
    postgresUrl: string | undefined
    /** Why there is no database, for the error the Postgres tests throw. */
    postgresProblem: string | undefined
  }
}

const WANTED = process.env.LENSYNC_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/lensync_test'

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

/** Creates the URL's role and database when missing, through the first administrative connection that works. */
async function provision(url: string): Promise<void> {
  const wanted = new URL(url)
  const role = decodeURIComponent(wanted.username) || 'postgres'
  const database = decodeURIComponent(wanted.pathname.slice(1)) || role
  let lastError: unknown
  for (const admin of [sibling(url, undefined, 'postgres'), sibling(url, 'postgres', 'postgres')]) {
    try {
      await withClient(admin, async sql => {
        const [hasRole] = await sql`SELECT 1 FROM pg_roles WHERE rolname = ${role}`
        if (!hasRole) await sql`CREATE ROLE ${sql(role)} LOGIN`
        const [hasDatabase] = await sql`SELECT 1 FROM pg_database WHERE datname = ${database}`
        if (!hasDatabase) await sql`CREATE DATABASE ${sql(database)} OWNER ${sql(role)}`
      })
      return
    } catch (error) {
      // Two Vitest runs creating the same database at once: the other one won.
      if ((error as { code?: string }).code === '42P04' || (error as { code?: string }).code === '23505')
        return
      lastError = error
    }
  }
  throw lastError
}

export default async function setup(project: TestProject): Promise<void> {
  const shown = WANTED.replace(/\/\/[^@/]*@/, '//***@')
  try {
    await withClient(WANTED, sql => sql`SELECT 1`).catch(async error => {
      // 3D000: no such database; 28000: no such role.
      const code = (error as { code?: string }).code
      if (code !== '3D000' && code !== '28000') throw error
      await provision(WANTED)
      await withClient(WANTED, sql => sql`SELECT 1`)
    })
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
