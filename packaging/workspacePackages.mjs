// The publishable packages of the repository: every workspace under packages/
// whose package.json is not private, in dependency order (a package after the
// workspace packages it depends on), so builds and packs can run front to back.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (absolute, with a trailing separator). */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url))

/**
 * @typedef {object} WorkspacePackage
 * @property {string} name - The package name, e.g. `@lensync/store`.
 * @property {string} dir - The absolute package directory.
 * @property {string} path - The directory relative to the root, e.g. `packages/store`.
 * @property {Record<string, any>} manifest - The parsed package.json.
 */

/** @param {string} file */
function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'))
}

/**
 * Lists the publishable workspace packages in dependency order. Only
 * `dependencies` and `peerDependencies` order them: dev dependencies between
 * packages (tests of one using another) do not take part in a build.
 *
 * @returns {WorkspacePackage[]}
 * @throws {Error} When the packages depend on each other in a cycle.
 */
export function publishablePackages() {
  const workspaces = readJson(join(repoRoot, 'package.json')).workspaces ?? []
  /** @type {Map<string, WorkspacePackage>} */
  const byName = new Map()
  for (const path of workspaces) {
    if (!path.startsWith('packages/')) continue
    const dir = join(repoRoot, path)
    const manifest = readJson(join(dir, 'package.json'))
    if (manifest.private) continue
    byName.set(manifest.name, { name: manifest.name, dir, path, manifest })
  }
  /** @type {WorkspacePackage[]} */
  const ordered = []
  const state = new Map()
  /** @param {WorkspacePackage} pkg @param {string[]} chain */
  const visit = (pkg, chain) => {
    if (state.get(pkg.name) === 'done') return
    if (state.get(pkg.name) === 'visiting')
      throw new Error(
        `workspace packages depend on each other in a cycle: ${[...chain, pkg.name].join(' → ')}`,
      )
    state.set(pkg.name, 'visiting')
    for (const dep of workspaceDependencies(pkg, byName)) visit(dep, [...chain, pkg.name])
    state.set(pkg.name, 'done')
    ordered.push(pkg)
  }
  for (const pkg of byName.values()) visit(pkg, [])
  return ordered
}

/**
 * The publishable workspace packages `pkg` needs at run time (its
 * `dependencies` and `peerDependencies`), directly.
 *
 * @param {WorkspacePackage} pkg
 * @param {Map<string, WorkspacePackage>} byName
 * @returns {WorkspacePackage[]}
 */
function workspaceDependencies(pkg, byName) {
  const names = Object.keys({ ...pkg.manifest.dependencies, ...pkg.manifest.peerDependencies })
  return names.flatMap(name => byName.get(name) ?? [])
}

/**
 * The package itself and every publishable workspace package it needs,
 * transitively, in build order (dependencies first, `pkg` last).
 *
 * @param {string} name - The package name.
 * @returns {WorkspacePackage[]}
 */
export function withDependencies(name) {
  const all = publishablePackages()
  const byName = new Map(all.map(pkg => [pkg.name, pkg]))
  const needed = new Set([name])
  // `all` is in dependency order, so walking it backwards sees a package before its dependencies.
  for (const pkg of [...all].reverse())
    if (needed.has(pkg.name)) for (const dep of workspaceDependencies(pkg, byName)) needed.add(dep.name)
  if (!byName.has(name)) throw new Error(`${name} is not a publishable workspace package under packages/`)
  return all.filter(pkg => needed.has(pkg.name))
}
