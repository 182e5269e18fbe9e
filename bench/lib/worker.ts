import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { RoleMethods, RoleName } from '../roles/index.ts'
import type { Pinning, ProcessKind } from './pinning.ts'
import type { Reply, Request } from './rpc.ts'

const workerEntry = fileURLToPath(new URL('../worker.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/** The methods a role offers: plain async functions of structured-cloneable arguments. */
export type Methods = Record<string, (...args: never[]) => unknown>

/** A child process running one role, driven by calls over IPC. */
export interface Worker<M extends Methods> {
  /** The role it runs. */
  readonly role: string
  /** Its process id. */
  readonly pid: number
  /** The CPU it is pinned to, if any. */
  readonly cpu: number | undefined
  /**
   * Calls one of the role's methods in the child.
   *
   * @returns What the method returned (structured-cloned); rejects with its error, or after the timeout.
   */
  call<K extends keyof M & string>(method: K, ...args: Parameters<M[K]>): Promise<Awaited<ReturnType<M[K]>>>
  /** Ends the process (disconnects; kills it if it does not exit within a second, or 30 s while profiling). */
  stop(): Promise<void>
}

/** How to start a worker. */
export interface WorkerOptions {
  /** Decides the CPU from `kind`. */
  readonly pinning: Pinning
  /** A server (what a metric is about) or a client (load). */
  readonly kind: ProcessKind
  /** Resolve `@lensync/*` to the TypeScript sources (`@lensync/source` condition) instead of `dist/`. */
  readonly source: boolean
  /** Extra `node` flags, e.g. `['--expose-gc']`. */
  readonly nodeFlags?: readonly string[]
  /** Longest a call may take before it fails, in ms. Default 60 000. */
  readonly callTimeoutMs?: number
}

/**
 * Starts `bench/worker.ts <role>` as a child process (pinned with `taskset`
 * when the pinning says so). The role's own TypeScript runs through tsx;
 * `@lensync/*` resolves to the compiled `dist/` (or, with `source`, to the
 * sources through the `@lensync/source` condition). Resolves once the role is loaded.
 *
 * @param role - Which role (see `bench/roles/index.ts`).
 * @param options - Pinning, process kind, node flags.
 * @returns The worker.
 */
export async function startWorker<R extends RoleName>(
  role: R,
  options: WorkerOptions,
): Promise<Worker<RoleMethods<R>>> {
  const cpu = options.pinning.cpuFor(options.kind)
  // BENCH_CPU_PROF=<dir>: every worker writes a V8 CPU profile there when it ends
  // (read them with bench/profileSummary.ts). Profiling slows everything: never publish those figures.
  const profileDir = process.env.BENCH_CPU_PROF
  const profiling = profileDir ? ['--cpu-prof', '--cpu-prof-interval=50', `--cpu-prof-dir=${profileDir}`] : []
  // BENCH_NODE_FLAGS="--perf-basic-prof": extra node flags for every worker (e.g. JIT
  // symbols for `perf record`, or `--trace-deopt`); space-separated.
  const extraFlags = process.env.BENCH_NODE_FLAGS?.split(' ').filter(flag => flag !== '') ?? []
  const command = [
    ...options.pinning.prefix(cpu),
    process.execPath,
    ...(options.source ? ['--conditions=@lensync/source'] : []),
    '--import',
    'tsx',
    ...profiling,
    ...(options.nodeFlags ?? []),
    ...extraFlags,
    workerEntry,
    role,
  ]
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  })
  if (profileDir)
    console.log(`[bench] profiling ${role} as pid ${child.pid} (CPU.*.${child.pid}.*.cpuprofile)`)
  const timeoutMs = options.callTimeoutMs ?? 60_000
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  let nextId = 1
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  void exited.then(() => {
    for (const { reject } of waiting.values()) reject(new Error(`worker ${role} exited`))
    waiting.clear()
  })
  child.on('message', (message: Reply | { ready: true }) => {
    if ('ready' in message) return
    const pending = waiting.get(message.id)
    if (!pending) return
    waiting.delete(message.id)
    if (message.ok) pending.resolve(message.value)
    else pending.reject(new Error(`${role}: ${message.error}`))
  })
  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'ready' in message) {
        child.off('message', onMessage)
        resolve()
      }
    }
    child.on('message', onMessage)
    void exited.then(() => reject(new Error(`worker ${role} exited before it was ready`)))
  })
  return {
    role,
    pid: child.pid as number,
    cpu,
    call(method, ...args) {
      const id = nextId++
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id)
          reject(new Error(`${role}.${method}() took longer than ${timeoutMs} ms`))
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
        child.send({ id, method, args } satisfies Request)
      })
    },
    stop: () => stopChild(child, exited, profileDir ? 30_000 : 1000),
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  if (child.connected) child.disconnect()
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
