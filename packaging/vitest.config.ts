import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// `npm run test:packaging`: packs, lints and installs the publishable
// packages, so it runs apart from the unit tests (which use the sources).
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['packaging/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    pool: 'forks',
  },
})
