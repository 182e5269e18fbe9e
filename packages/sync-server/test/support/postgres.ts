import { randomUUID } from 'node:crypto'
import postgres from 'postgres'
import { afterAll, inject } from 'vitest'

/**
 * The database the Postgres tests use: LENSYNC_TEST_POSTGRES, by default
 * the local server's `lensync_test` (the global setup creates it).
 */
export const POSTGRES_URL =
  inject('postgresUrl') ?? 'postgres://postgres-unavailable.invalid:5432/lensync_test'

let admin: postgres.Sql | undefined
const schemas: string[] = []

/** A direct connection for inspecting and tampering with what the adapter stored. */
export function postgresAdmin(): postgres.Sql {
  admin ??= postgres(POSTGRES_URL, { max: 2, onnotice: () => {} })
  return admin
}

/**
 * A schema no other test (or CI run on the same database) uses; it is
 * dropped with everything in it after the test file.
 */
export function postgresSchema(): string {
  const problem = inject('postgresProblem')
  if (problem) throw new Error(`this test needs PostgreSQL: ${problem}`)
  const schema = `lensync_test_${randomUUID().replace(/-/g, '')}`
  schemas.push(schema)
  return schema
}

afterAll(async () => {
  if (schemas.length === 0) return
  const sql = postgresAdmin()
  for (const schema of schemas.splice(0)) await sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`
  await sql.end({ timeout: 1 })
  admin = undefined
})
