// The packages as npm users get them: every publishable workspace package is
// packed (its prepack builds dist/), linted with publint --strict, and
// installed from the tarballs with `ws` into a fresh project outside the
// repository with --ignore-scripts (no native build of better-sqlite3, no
// tsx, no ioredis). There, plain Node runs a memory sync server with two
// syncWith clients and the lensync-server command. The declarations must
// type-check with skipLibCheck off: stripInternal must not leave a published
// declaration pointing at a stripped one.
import { type ChildProcess, spawn } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { publishablePackages, repoRoot } from '../workspacePackages.mjs'

const packages = publishablePackages()
const project = mkdtempSync(join(tmpdir(), 'lensync-packaging-'))
const tarballs = new Map<string, string>()

interface Ran {
  stdout: string
  /** stdout and stderr, interleaved. */
  output: string
}

/** npm's settings from the environment, without those of the `npm run` this test may run under (workspace, prefix …). */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep =
    /^npm_config_(userconfig|globalconfig|cache|cafile|registry|noproxy|proxy|https_proxy|strict_ssl)$/
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || keep.test(key.toLowerCase())),
  )
}

/** Runs a command to its end, bounded by `timeoutMs` (then killed); rejects when it fails. */
function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    let stdout = ''
    child.stdout.on('data', chunk => {
      output += chunk
      stdout += chunk
    })
    child.stderr.on('data', chunk => {
      output += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve({ stdout, output })
      else
        reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) ended with ${signal ?? code}:\n${output}`))
    })
  })
}

beforeAll(async () => {
  const packs = join(project, 'tarballs')
  mkdirSync(packs)
  // In dependency order, so each prepack finds its dependencies' fresh dist/.
  for (const pkg of packages) {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packs], pkg.dir, 120_000)
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }]
    tarballs.set(pkg.name, join(packs, filename))
  }
  const ws = packages.find(pkg => pkg.name === '@lensync/sync-server')?.manifest.dependencies?.ws ?? '^8'
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'lensync-consumer', private: true, type: 'module' }, null, 2)}\n`,
  )
  await run(
    'npm',
    [
      'install',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      ...tarballs.values(),
      `ws@${ws}`,
    ],
    project,
    120_000,
  )
  copyFileSync(
    fileURLToPath(new URL('../fixtures/consumer.mjs', import.meta.url)),
    join(project, 'consumer.mjs'),
  )
}, 240_000)

afterAll(() => {
  rmSync(project, { recursive: true, force: true })
})

function installed(name: string): string {
  return join(project, 'node_modules', name)
}

describe('the packed packages', () => {
  it('pass publint --strict', async () => {
    for (const pkg of packages) {
      const tarball = readFileSync(tarballs.get(pkg.name) as string)
      const { messages, pkg: manifest } = await publint({
        pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
        strict: true,
      })
      const problems = messages.map(message => `${message.type}: ${formatMessage(message, manifest)}`)
      expect.soft(problems, `publint --strict on ${pkg.name}`).toEqual([])
    }
  })

  it('ship a LICENSE, the .d.ts of their types entry, and no @internal declarations', () => {
    for (const pkg of packages) {
      const dir = installed(pkg.name)
      expect.soft(existsSync(join(dir, 'LICENSE')), `${pkg.name}/LICENSE`).toBe(true)
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      const types: string = manifest.exports['.'].types
      expect.soft(types, `${pkg.name} exports["."].types`).toMatch(/\.d\.ts$/)
      expect.soft(existsSync(join(dir, types)), `${pkg.name}/${types}`).toBe(true)
      const declarations = readdirSync(join(dir, 'dist'), { recursive: true, encoding: 'utf8' }).filter(
        file => file.endsWith('.d.ts'),
      )
      const internal = declarations.filter(file =>
        readFileSync(join(dir, 'dist', file), 'utf8').includes('@internal'),
      )
      expect.soft(internal, `${pkg.name}: declarations still marked @internal`).toEqual([])
    }
  })

  it('have declarations that type-check in a strict consumer with skipLibCheck off', async () => {
    // Against the packages' dist/ in the repository (what was just packed): the
    // sync-server declarations import the types of its optional peers (ioredis,
    // postgres), which the repository has and the fresh project lacks.
    const dir = mkdtempSync(join(tmpdir(), 'lensync-types-'))
    try {
      symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir')
      const compilerOptions = {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023', 'DOM'],
        types: ['node'],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
      }
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['check.ts'] }))
      const imports = packages.map((pkg, i) => `export * as p${i} from '${pkg.name}'\n`)
      writeFileSync(join(dir, 'check.ts'), imports.join(''))
      const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
      await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], dir, 120_000)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 150_000)

  it('were installed without tsx, ioredis or a native build of better-sqlite3', () => {
    expect(existsSync(installed('tsx'))).toBe(false)
    expect(existsSync(installed('ioredis'))).toBe(false)
    expect(existsSync(installed('better-sqlite3'))).toBe(true)
    expect(existsSync(join(installed('better-sqlite3'), 'build'))).toBe(false)
  })

  it('sync a store between two syncWith clients through a memory server, in plain Node', async () => {
    const { output } = await run(process.execPath, ['consumer.mjs'], project, 60_000)
    expect(output).toContain('consumer: all checks passed')
  }, 90_000)

  it('run `npx lensync-server --port 0 --memory`, which answers /health', async () => {
    // Its own process group: npx runs the bin as a grandchild, and the group stops together.
    const child = spawn('npx', ['--no-install', 'lensync-server', '--port', '0', '--memory'], {
      cwd: project,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    try {
      const url = await listeningUrl(child, 30_000)
      const health = await fetch(url.replace(/^ws:/, 'http:').replace(/\/sync$/, '/health'), {
        signal: AbortSignal.timeout(10_000),
      })
      expect(health.status).toBe(200)
      expect(await health.json()).toMatchObject({ ok: true, connections: 0 })
    } finally {
      await stopGroup(child, 10_000)
    }
  }, 60_000)
})

/** The ws URL from the command's "listening on" line; rejects when it exits first or after `timeoutMs`. */
function listeningUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = ''
    const timer = setTimeout(
      () => finish(new Error(`no "listening on" line within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    )
    const onData = (chunk: Buffer) => {
      output += chunk
      const match = /listening on (ws:\/\/\S+)/.exec(output)
      if (match) finish(undefined, match[1])
    }
    const onExit = (code: number | null, signal: string | null) =>
      finish(new Error(`lensync-server exited (${signal ?? code}) before listening:\n${output}`))
    const finish = (error?: Error, url?: string) => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onData)
      child.off('exit', onExit)
      if (error) reject(error)
      else resolve(url as string)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.on('exit', onExit)
  })
}

/** SIGTERM to the child's process group; SIGKILL when it has not exited after `timeoutMs`. */
async function stopGroup(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  process.kill(-child.pid, 'SIGTERM')
  const timer = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL')
    } catch {}
  }, timeoutMs)
  await exited
  clearTimeout(timer)
}
