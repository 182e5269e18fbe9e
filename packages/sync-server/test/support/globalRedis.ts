import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { connect, createServer } from 'node:net'
import type { TestProject } from 'vitest/node'

// Vitest global setup: the scale-out tests need a Redis server. Use the one
// on 127.0.0.1:6379 (or LENSYNC_TEST_REDIS) when it answers; otherwise start
// a throwaway `redis-server` (nothing on disk) for this run when one is
// installed. The URL reaches the tests through `inject('redisUrl')`.

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Redis the tests use, or `undefined` when none could be found or started. */
    redisUrl: string | undefined
    /** Why there is no Redis, for the error the Redis tests throw. */
    redisProblem: string | undefined
  }
}

const WANTED = process.env.LENSYNC_TEST_REDIS ?? 'redis://127.0.0.1:6379'

/** Whether a Redis server answers PING at `url` within `timeoutMs`. */
function answers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise(resolve => {
    const socket = connect({ host: hostname, port: Number(port || 6379) })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', data => done(data.toString().startsWith('+PONG')))
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Waits until the started server answers (it logs "Ready" when it does), bounded. */
function ready(child: ChildProcess, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start within 10 s')), 10_000)
    child.once('exit', code => reject(new Error(`redis-server exited with ${code}`)))
    child.stdout?.on('data', async (chunk: Buffer) => {
      if (!/Ready to accept connections/.test(chunk.toString())) return
      if (!(await answers(url))) return
      clearTimeout(timer)
      resolve()
    })
  })
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  if (await answers(WANTED)) {
    project.provide('redisUrl', WANTED)
    project.provide('redisProblem', undefined)
    return undefined
  }
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    project.provide('redisUrl', undefined)
    project.provide(
      'redisProblem',
      `no Redis answers at ${WANTED} and redis-server is not installed (Debian: apt-get install -y redis-server; .ci/run does this)`,
    )
    return undefined
  }
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  await ready(child, url)
  project.provide('redisUrl', url)
  project.provide('redisProblem', undefined)
  return () => {
    child.kill('SIGTERM')
  }
}
