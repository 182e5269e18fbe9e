import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/** The packages, in dependency order. */
const PACKAGES = ['store', 'sync-client', 'sync-server'] as const

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Compiles the packages to `packages/<name>/dist` — JavaScript only, without
 * type checking (the bench measures code, `npm run typecheck` checks it) —
 * so that workers run what an npm user runs. Running the TypeScript sources
 * through tsx instead would measure tsx too: it compiles with esbuild's
 * `keepNames`, which gives every closure created at run time an own `name`
 * property (~250 bytes and a `defineProperty` per closure).
 *
 * @returns How long it took, in seconds.
 */
export function buildPackages(): number {
  const started = Date.now()
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  for (const name of PACKAGES) {
    execFileSync(
      process.execPath,
      [
        tsc,
        '-p',
        `packages/${name}/tsconfig.build.json`,
        '--noCheck',
        '--declaration',
        'false',
        '--declarationMap',
        'false',
        '--sourceMap',
        'false',
      ],
      { cwd: repoRoot, stdio: 'inherit' },
    )
  }
  return (Date.now() - started) / 1000
}
