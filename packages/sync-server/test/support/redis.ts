import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, inject } from 'vitest'

/**
 * The Redis server the scale-out tests use: the one on 127.0.0.1:6379 (or
 * `LENSYNC_TEST_REDIS`), else one the global setup started for this run.
 */
export const REDIS_URL = inject('redisUrl') ?? 'redis://redis-unavailable.invalid:6379'

let admin: Redis | undefined
const prefixes: string[] = []

/** A direct connection for inspecting and tampering with what the adapter stored. */
export function redisAdmin(): Redis {
  admin ??= new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  return admin
}

/**
 * A key prefix no other test (or CI run on the same Redis) uses; its keys
 * are deleted after the test file.
 */
export function redisPrefix(): string {
  const problem = inject('redisProblem')
  if (problem) throw new Error(`this test needs Redis: ${problem}`)
  const prefix = `lensync-test-${randomUUID()}`
  prefixes.push(prefix)
  return prefix
}

afterAll(async () => {
  if (!admin) return
  for (const prefix of prefixes.splice(0)) {
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await admin.del(...keys)
    } while (cursor !== '0')
  }
  admin.disconnect()
  admin = undefined
})
