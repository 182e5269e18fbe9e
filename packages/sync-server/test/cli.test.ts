import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { enc, rawClient } from './hubHelpers.ts'
import { lensyncServerCommand } from './support/childServer.ts'
import { REDIS_URL, redisPrefix } from './support/redis.ts'

const children: ChildProcess[] = []
const dirs: string[] = []

afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

interface Running {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

function run(args: string[]): Running {
  const child = spawn(process.execPath, [...lensyncServerCommand, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: '', HOST: '' },
  })
  children.push(child)
  let output = ''
  child.stdout?.on('data', chunk => {
    output += chunk
  })
  child.stderr?.on('data', chunk => {
    output += chunk
  })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  return { child, output: () => output, exited }
}

/** Resolves with the ws URL from the "listening" line; rejects when the process ends first. */
function listening(running: Running): Promise<string> {
  return new Promise((resolve, reject) => {
    const look = () => {
      const match = /listening on (ws:\/\/\S+)/.exec(running.output())
      if (match) {
        running.child.stdout?.off('data', look)
        resolve(match[1] as string)
      }
    }
    running.child.stdout?.on('data', look)
    look()
    void running.exited.then(code =>
      reject(new Error(`exited with ${code} before listening: ${running.output()}`)),
    )
  })
}

describe('lensync-server command', () => {
  it('starts with --memory --port 0, serves /health and /sync, and exits 0 on SIGTERM after closing sessions with 1001', async () => {
    const server = run(['--memory', '--port', '0'])
    const url = await listening(server)
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/sync$/)
    const health = await fetch(url.replace('ws://', 'http://').replace('/sync', '/health'))
    expect(await health.json()).toMatchObject({ ok: true, connections: 0 })

    const client = await rawClient(url)
    client.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ hi: 1 }) })
    expect(await client.next()).toEqual({ t: 'ack', op: 1, rev: 1 })
    server.child.kill('SIGTERM')
    expect(await client.closed).toBe(1001)
    expect(await server.exited).toBe(0)
  }, 30_000)

  it('keeps data in the --data file across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lensync-cli-'))
    dirs.push(dir)
    const data = join(dir, 'db', 'lensync.db')
    const first = run(['--port', '0', '--data', data])
    const client = await rawClient(await listening(first))
    client.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ kept: true }) })
    await client.next({ t: 'ack' })
    first.child.kill('SIGINT')
    expect(await first.exited).toBe(0)

    const second = run(['--port', '0', '--data', data])
    const again = await rawClient(await listening(second))
    again.send({ t: 'sub', r: 'doc', id: 'x' })
    expect(await again.next()).toEqual({ t: 'snap', r: 'doc', id: 'x', rev: 1, value: enc({ kept: true }) })
    await again.close()
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  }, 30_000)

  it('shares entities between two --redis nodes on one --redis-prefix', async () => {
    const args = ['--port', '0', '--redis', REDIS_URL, '--redis-prefix', redisPrefix()]
    const one = run(args)
    const two = run(args)
    const [url1, url2] = await Promise.all([listening(one), listening(two)])
    expect(one.output()).toContain(`redis ${REDIS_URL}`)
    const reader = await rawClient(url2)
    reader.send({ t: 'sub', r: 'doc', id: 'x' })
    await reader.next({ t: 'snap' })
    const writer = await rawClient(url1)
    writer.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ via: 'node 1' }) })
    await writer.next({ t: 'ack' })
    expect(await reader.next({ t: 'change' })).toMatchObject({ value: enc({ via: 'node 1' }) })
    one.child.kill('SIGTERM')
    two.child.kill('SIGTERM')
    expect(await one.exited).toBe(0)
    expect(await two.exited).toBe(0)
  }, 30_000)

  it('refuses --redis with --memory or --data, and --redis-prefix without --redis (exit 2)', async () => {
    for (const args of [
      ['--redis', REDIS_URL, '--memory'],
      ['--redis', REDIS_URL, '--data', 'x.db'],
      ['--redis-prefix', 'p'],
    ]) {
      const bad = run(args)
      expect(await bad.exited).toBe(2)
      expect(bad.output()).toMatch(/--redis/)
    }
  }, 30_000)

  it('prints usage for --help (exit 0) and for an unknown flag (exit 2)', async () => {
    const help = run(['--help'])
    expect(await help.exited).toBe(0)
    expect(help.output()).toContain('Usage: lensync-server')
    const bad = run(['--nope'])
    expect(await bad.exited).toBe(2)
    expect(bad.output()).toMatch(/Unknown option '--nope'/)
  }, 30_000)
})
