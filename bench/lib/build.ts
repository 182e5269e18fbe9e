import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { publishablePackages, repoRoot } from '../../packaging/workspacePackages.mjs'

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
  // Every publishable package under packages/, in dependency order.
  for (const { path } of publishablePackages()) {
    execFileSync(
      process.execPath,
      [
        tsc,
        '-p',
        `${path}/tsconfig.build.json`,
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
