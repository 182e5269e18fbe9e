#!/usr/bin/env node
// `npm run build` / `prepack` of a publishable package (run in its directory):
// compiles the package from a clean dist/ (JS, .d.ts and maps, @internal
// declarations stripped: see its tsconfig.build.json), after the publishable
// workspace packages it depends on, because its build reads their
// dist/*.d.ts (tsconfig.build.json resolves other @lensync packages without
// the @lensync/source condition). A dependency whose dist/ is newer than its
// sources, its build config and its own dependencies' builds is kept as is,
// so packing every package in dependency order compiles each once.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { repoRoot, withDependencies } from './workspacePackages.mjs'

const { name } = JSON.parse(readFileSync('package.json', 'utf8'))
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

/** The modification time of `file` in ms, or 0 when it does not exist. */
function mtime(file) {
  try {
    return statSync(file).mtimeMs
  } catch {
    return 0
  }
}

/** The newest modification time of what a package's build reads from the package itself. */
function newestInput(dir) {
  const sources = readdirSync(join(dir, 'src'), { recursive: true, encoding: 'utf8' })
  return Math.max(
    mtime(join(repoRoot, 'tsconfig.base.json')),
    mtime(join(dir, 'tsconfig.build.json')),
    mtime(join(dir, 'package.json')),
    ...sources.map(file => mtime(join(dir, 'src', file))),
  )
}

/** When each package's dist/ was built: the time of its dist/index.d.ts. */
const builtAt = new Map()
const packages = withDependencies(name)
for (const pkg of packages) {
  const stamp = join(pkg.dir, 'dist', 'index.d.ts')
  const needs = { ...pkg.manifest.dependencies, ...pkg.manifest.peerDependencies }
  const dependencies = packages.filter(dep => dep !== pkg && Object.hasOwn(needs, dep.name))
  const fresh =
    pkg.name !== name &&
    mtime(stamp) > newestInput(pkg.dir) &&
    dependencies.every(dep => mtime(stamp) > (builtAt.get(dep.name) ?? 0))
  if (!fresh) {
    const started = performance.now()
    rmSync(join(pkg.dir, 'dist'), { recursive: true, force: true })
    execFileSync(process.execPath, [tsc, '-p', join(pkg.dir, 'tsconfig.build.json')], { stdio: 'inherit' })
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    console.error(`built ${pkg.name} into ${relative(repoRoot, join(pkg.dir, 'dist'))}/ in ${seconds} s`)
  }
  builtAt.set(pkg.name, mtime(stamp))
}
