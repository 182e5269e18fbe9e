import { parseArgs } from 'node:util'
import { createSyncServer } from './createSyncServer.ts'
import type { SyncServer } from './hub/syncTypes.ts'
import { DEFAULT_DATA_FILE } from './storage/sqliteStorage.ts'

const USAGE = `Usage: lensync-server [options]

Runs the lensync sync server: a WebSocket endpoint at /sync and GET /health.

Options:
  --port <n>     port to listen on; 0 picks a free one   (default 8787, env PORT)
  --host <host>  interface to bind                      (default 127.0.0.1, env HOST)
  --data <file>  SQLite database file                   (default ${DEFAULT_DATA_FILE})
  --memory       keep entities in memory only; nothing survives a restart
  --redis <url>  keep entities in Redis, shared with every node on it
                 (e.g. redis://127.0.0.1:6379; --data is then unused)
  --redis-prefix <p>  the Redis key prefix nodes share   (default lensync)
  --postgres <url>  keep entities in PostgreSQL, shared with every node on it
                 (e.g. postgres://app@127.0.0.1:5432/app; tables are created)
  --postgres-schema <s>  the schema nodes share          (default lensync)
  --help         show this help

Stops gracefully on SIGINT / SIGTERM.`

/** Where the command writes, and the environment it reads; injectable for tests. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>
  out(line: string): void
  err(line: string): void
}

const processIo: CliIo = {
  env: process.env,
  out: line => process.stdout.write(`${line}\n`),
  err: line => process.stderr.write(`${line}\n`),
}

/**
 * Parses the `lensync-server` flags and starts the server.
 *
 * @param argv - The arguments after the command name.
 * @param io - Output and environment; default the process's.
 * @returns The running server, or `undefined` after `--help` or a usage error (then `process.exitCode` is set).
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = processIo,
): Promise<SyncServer | undefined> {
  let values: {
    port?: string
    host?: string
    data?: string
    memory?: boolean
    redis?: string
    'redis-prefix'?: string
    postgres?: string
    'postgres-schema'?: string
    help?: boolean
  }
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        memory: { type: 'boolean' },
        redis: { type: 'string' },
        'redis-prefix': { type: 'string' },
        postgres: { type: 'string' },
        'postgres-schema': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (error) {
    io.err(`lensync-server: ${(error as Error).message}\n\n${USAGE}`)
    process.exitCode = 2
    return undefined
  }
  if (values.help) {
    io.out(USAGE)
    return undefined
  }
  const portText = values.port ?? (io.env.PORT || '8787')
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65_535) {
    io.err(`lensync-server: --port must be a number from 0 to 65535, got ${JSON.stringify(portText)}`)
    process.exitCode = 2
    return undefined
  }
  const host = values.host ?? (io.env.HOST || '127.0.0.1')
  const dataFile = values.data ?? DEFAULT_DATA_FILE
  const { redis } = values
  const prefix = values['redis-prefix']
  if (redis !== undefined && (values.memory || values.data !== undefined)) {
    io.err('lensync-server: --redis cannot be combined with --memory or --data')
    process.exitCode = 2
    return undefined
  }
  if (prefix !== undefined && redis === undefined) {
    io.err('lensync-server: --redis-prefix needs --redis')
    process.exitCode = 2
    return undefined
  }
  const { postgres } = values
  const schema = values['postgres-schema']
  if (postgres !== undefined && (redis !== undefined || values.memory || values.data !== undefined)) {
    io.err('lensync-server: --postgres cannot be combined with --redis, --memory or --data')
    process.exitCode = 2
    return undefined
  }
  if (schema !== undefined && postgres === undefined) {
    io.err('lensync-server: --postgres-schema needs --postgres')
    process.exitCode = 2
    return undefined
  }
  const server = await createSyncServer({
    port,
    host,
    dataFile,
    memory: values.memory === true,
    ...(redis === undefined ? {} : { redis: { url: redis, ...(prefix === undefined ? {} : { prefix }) } }),
    ...(postgres === undefined
      ? {}
      : { postgres: { url: postgres, ...(schema === undefined ? {} : { schema }) } }),
    logger: { error: console.error, warn: console.warn },
  })
  const where =
    redis !== undefined
      ? `redis ${redis}`
      : postgres !== undefined
        ? `postgres ${postgres.replace(/\/\/[^@/]*@/, '//***@')}`
        : values.memory
          ? 'memory only'
          : `data ${dataFile}`
  io.out(`lensync-server listening on ${server.url} (node ${server.node}, ${where})`)
  return server
}

/**
 * The `lensync-server` command: starts the server and closes it gracefully on
 * SIGINT / SIGTERM (sessions get 1001, storage is flushed), then exits 0.
 *
 * @param argv - The arguments after the command name.
 */
export async function main(argv: readonly string[]): Promise<void> {
  let server: SyncServer | undefined
  try {
    server = await runCli(argv)
  } catch (error) {
    processIo.err(`lensync-server: ${(error as Error).message}`)
    process.exitCode = 1
    return
  }
  if (!server) return
  const running = server
  const stop = (signal: NodeJS.Signals) => {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    processIo.out(`lensync-server: ${signal}, closing`)
    running.close().then(
      () => process.exit(0),
      error => {
        processIo.err(`lensync-server: closing failed: ${(error as Error).message}`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  // Past startup only a signal ends the server: an exception that escaped
  // (a bug, a library callback) is logged and every other connection goes on.
  const survive = (error: unknown) =>
    processIo.err(
      `lensync-server: uncaught, still serving: ${error instanceof Error ? error.stack : String(error)}`,
    )
  process.on('uncaughtException', survive)
  process.on('unhandledRejection', survive)
}
