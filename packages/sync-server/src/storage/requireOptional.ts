import { createRequire } from 'node:module'
import { ServerError } from '../ServerError.ts'

const require = createRequire(import.meta.url)

/**
 * @internal
 * Loads a package only when a feature that needs it is used (ioredis for
 * Redis storage, better-sqlite3 for SQLite storage), so a server that does
 * not use it starts without it installed, or without its native build.
 * Both are CommonJS, so `require` loads them synchronously and the storage
 * factories stay synchronous.
 *
 * @param name - The package to load.
 * @param feature - What needs it, for the message (e.g. `'redisStorage'`).
 * @returns The package's exports.
 * @throws ServerError `MODULE_MISSING` when the package is not installed.
 */
export function _requireOptional<T>(name: string, feature: string): T {
  try {
    return require(name) as T
  } catch (error) {
    const missing =
      (error as NodeJS.ErrnoException | undefined)?.code === 'MODULE_NOT_FOUND' &&
      String((error as Error).message).includes(`'${name}'`)
    if (!missing) throw error
    throw new ServerError(
      'MODULE_MISSING',
      `${feature} needs the package "${name}", which is not installed: npm install ${name}`,
      { cause: error },
    )
  }
}
