import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../workspacePackages.mjs'

// The direction of dependencies between the workspace packages (issue #14):
// store ← protocol ← sync-client; protocol ← sync-server; the server never
// imports the client — not even in its tests — and no workspace package
// depends on another in a cycle, counting devDependencies.

type Manifest = {
  name: string
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}

function manifests(): Map<string, Manifest> {
  const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] }
  const out = new Map<string, Manifest>()
  for (const path of root.workspaces) {
    const manifest = JSON.parse(readFileSync(join(repoRoot, path, 'package.json'), 'utf8')) as Manifest
    out.set(manifest.name, manifest)
  }
  return out
}

function edges(manifest: Manifest, names: Set<string>): string[] {
  const all = { ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.devDependencies }
  return Object.keys(all).filter(name => names.has(name))
}

function filesUnder(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) out.push(...filesUnder(path))
    else out.push(path)
  }
  return out
}

describe('workspace dependency graph', () => {
  const all = manifests()
  const names = new Set(all.keys())

  it('has no cycle, devDependencies included', () => {
    const state = new Map<string, 'visiting' | 'done'>()
    const visit = (name: string, chain: string[]) => {
      if (state.get(name) === 'done') return
      if (state.get(name) === 'visiting') throw new Error(`cycle: ${[...chain, name].join(' → ')}`)
      state.set(name, 'visiting')
      for (const dep of edges(all.get(name) as Manifest, names)) visit(dep, [...chain, name])
      state.set(name, 'done')
    }
    for (const name of names) visit(name, [])
  })

  it('points one way: protocol depends on no workspace package; the server never on the client', () => {
    expect(edges(all.get('@lensync/protocol') as Manifest, names)).toEqual([])
    expect(edges(all.get('@lensync/sync-server') as Manifest, names)).not.toContain('@lensync/sync-client')
    expect(edges(all.get('@lensync/sync-server') as Manifest, names)).not.toContain('@lensync/store')
    const client = all.get('@lensync/sync-client') as Manifest
    expect(Object.keys(client.dependencies ?? {})).toContain('@lensync/protocol')
    expect(Object.keys(client.peerDependencies ?? {})).toContain('@lensync/store')
  })

  it('no file of the server package names the client package', () => {
    const server = join(repoRoot, 'packages/sync-server')
    const naming = filesUnder(server).filter(file =>
      readFileSync(file, 'utf8').includes(['@lensync', 'sync-client'].join('/')),
    )
    expect(naming.map(file => relative(repoRoot, file))).toEqual([])
  })
})
