import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Pinning, ProcessKind } from '../../lib/pinning.ts'
import type { Reply, Request } from '../../lib/rpc.ts'
import type { RoleMethods, RoleName } from '../roles/index.ts'
import type { SystemId } from '../systems/index.ts'

const workerEntry = fileURLToPath(new URL('../worker.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))

/** A call to a worker that did not answer in time. */
export class TimeoutError extends Error {
  readonly code = 'TIMEOUT'
}

/** A child process running one role for one system, driven by calls over IPC. */
export interface PeerWorker<M> {
  readonly pid: number
  /** Calls one of the role's methods in the child; rejects with its error or after the timeout. */
  call<K extends keyof M & string>(
    method: K,
    ...args: M[K] extends (...a: infer A) => unknown ? A : never
  ): Promise<M[K] extends (...a: never[]) => infer R ? Awaited<R> : never>
  /** {@link call} with its own timeout, in ms. */
  callWithin<K extends keyof M & string>(
    timeoutMs: number,
    method: K,
    ...args: M[K] extends (...a: infer A) => unknown ? A : never
  ): Promise<M[K] extends (...a: never[]) => infer R ? Awaited<R> : never>
  /** Ends the process (disconnect; SIGKILL after a second). */
  stop(): Promise<void>
}

/** How to start a worker. */
export interface PeerWorkerOptions {
  readonly pinning: Pinning
  readonly kind: ProcessKind
  /** lensync from its TypeScript sources (the `@lensync/source` condition) instead of `dist/`. */
  readonly source: boolean
  readonly nodeFlags?: readonly string[]
  /** Longest a call may take, in ms. */
  readonly callTimeoutMs: number
}

/**
 * Starts `bench/peers/worker.ts <role> <system>` as a child process, pinned
 * with `taskset` when the pinning says so (as the main bench's workers).
 *
 * @returns The worker, once its role is loaded.
 */
export async function startPeerWorker<R extends RoleName>(
  role: R,
  system: SystemId,
  options: PeerWorkerOptions,
): Promise<PeerWorker<RoleMethods<R>>> {
  const cpu = options.pinning.cpuFor(options.kind)
  const command = [
    ...options.pinning.prefix(cpu),
    process.execPath,
    ...(options.source ? ['--conditions=@lensync/source'] : []),
    '--import',
    'tsx',
    ...(options.nodeFlags ?? []),
    workerEntry,
    role,
    system,
  ]
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  })
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  let nextId = 1
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  void exited.then(() => {
    for (const { reject } of waiting.values()) reject(new Error(`worker ${role} ${system} exited`))
    waiting.clear()
  })
  // A send to a process that died is reported here; the call fails by `exited` (or its timeout).
  child.on('error', error => console.error(`[bench:peers] worker ${role} ${system}: ${error.message}`))
  child.on('message', (message: Reply | { ready: true }) => {
    if ('ready' in message) return
    const pending = waiting.get(message.id)
    if (!pending) return
    waiting.delete(message.id)
    if (message.ok) pending.resolve(message.value)
    else pending.reject(new Error(`${role} ${system}: ${message.error}`))
  })
  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'ready' in message) {
        child.off('message', onMessage)
        resolve()
      }
    }
    child.on('message', onMessage)
    void exited.then(() => reject(new Error(`worker ${role} ${system} exited before it was ready`)))
  })
  const callWithin = (timeoutMs: number, method: string, ...args: unknown[]): Promise<never> => {
    const id = nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id)
        reject(new TimeoutError(`${role} ${system}.${method}() took longer than ${timeoutMs} ms`))
      }, timeoutMs)
      waiting.set(id, {
        resolve: value => {
          clearTimeout(timer)
          resolve(value as never)
        },
        reject: error => {
          clearTimeout(timer)
          reject(error)
        },
      })
      if (!child.connected) {
        waiting.delete(id)
        clearTimeout(timer)
        reject(new Error(`worker ${role} ${system} exited`))
        return
      }
      child.send({ id, method, args } satisfies Request)
    })
  }
  return {
    pid: child.pid as number,
    call: (method, ...args) => callWithin(options.callTimeoutMs, method, ...args),
    callWithin: (timeoutMs, method, ...args) => callWithin(timeoutMs, method, ...args),
    stop: () => stopChild(child, exited),
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  if (child.connected) child.disconnect()
  const timer = setTimeout(() => child.kill('SIGKILL'), 1000)
  await exited
  clearTimeout(timer)
}
