import { defaultClientConditions, defaultServerConditions } from 'vite'
import { defineConfig } from 'vitest/config'

// Workspace packages are consumed from source through the `@lensync/source`
// export condition, so tests never need a build step.
const source = '@lensync/source'

export default defineConfig({
  resolve: { conditions: [source, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [source, ...defaultServerConditions], externalConditions: [source] } },
  test: {
    include: ['packages/*/test/**/*.test.{ts,tsx}'],
    // The scale-out tests' Redis: the local one, or a throwaway redis-server;
    // their PostgreSQL: the local one, with its test role and database created.
    globalSetup: [
      'packages/sync-server/test/support/globalRedis.ts',
      'packages/sync-server/test/support/globalPostgres.ts',
    ],
    typecheck: { enabled: true, include: ['packages/*/test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
})
