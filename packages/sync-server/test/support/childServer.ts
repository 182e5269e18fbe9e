import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

/**
 * Node's arguments before the command's own: the `lensync-server` bin, run
 * from the TypeScript sources (tsx, and the `@lensync/source` condition that
 * points its `#cli` import at src/cli.ts), so tests need no build.
 */
export const lensyncServerCommand: readonly string[] = [
  '--import',
  pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
  '--conditions=@lensync/source',
  fileURLToPath(new URL('../../bin/lensync-server.mjs', import.meta.url)),
]

/** A `lensync-server` command running as a child process. */
export interface ChildServer {
  readonly child: ChildProcess
  /** The sync URL from the "listening" line. */
  readonly url: string
  readonly port: number
  /** Everything the process printed so far. */
  output(): string
  /** Resolves with the exit code, or the signal name when a signal ended it. */
  readonly exited: Promise<number | string | null>
  /** Ends the process with `signal` (unless it already ended) and waits for it. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>
}

/**
 * Starts `lensync-server` with `args` and waits for its "listening on ws://…"
 * line (bounded by `timeoutMs`; a process that exits first fails at once).
 *
 * @param args - Command-line flags, e.g. `['--port', '0', '--data', file]`.
 * @param track - Receives the process at once, so a test can kill it even when startup fails.
 * @param nodeArgs - Node's own flags before the command (e.g. `--import` of a test hook).
 */
export async function startChildServer(
  args: readonly string[],
  track: (child: ChildProcess) => void,
  timeoutMs = 20_000,
  nodeArgs: readonly string[] = [],
): Promise<ChildServer> {
  const child = spawn(process.execPath, [...nodeArgs, ...lensyncServerCommand, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: '', HOST: '' },
  })
  track(child)
  let output = ''
  child.stdout?.on('data', chunk => {
    output += chunk
  })
  child.stderr?.on('data', chunk => {
    output += chunk
  })
  const exited = new Promise<number | string | null>(resolve =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  )
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      finish()
      reject(new Error(`lensync-server did not print its listening line within ${timeoutMs} ms: ${output}`))
    }, timeoutMs)
    const look = () => {
      const match = /listening on (ws:\/\/\S+)/.exec(output)
      if (!match) return
      finish()
      resolve(match[1] as string)
    }
    const finish = () => {
      clearTimeout(timer)
      child.stdout?.off('data', look)
    }
    child.stdout?.on('data', look)
    void exited.then(code => {
      finish()
      reject(new Error(`lensync-server exited (${code}) before listening: ${output}`))
    })
    look()
  })
  return {
    child,
    url,
    port: Number(new URL(url).port),
    output: () => output,
    exited,
    stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}
