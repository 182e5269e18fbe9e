import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineConfig } from '@playwright/test'

/** Ports of the servers Playwright starts (the restart test starts its own on RESTART_PORT). */
export const SYNC_PORT = Number(process.env.E2E_SYNC_PORT ?? 18787)
export const DEMO_PORT = Number(process.env.E2E_DEMO_PORT ?? 15173)
export const RESTART_PORT = Number(process.env.E2E_RESTART_PORT ?? 18788)
/** The React todo example (apps/todo), and the port of the todo restart test's own sync server. */
export const TODO_PORT = Number(process.env.E2E_TODO_PORT ?? 15174)
export const TODO_RESTART_PORT = Number(process.env.E2E_TODO_RESTART_PORT ?? 18789)

// A fresh database per run; set once here so the workers see the same path.
process.env.LENSYNC_E2E_DATA ??= join(tmpdir(), `lensync-e2e-${Date.now()}.db`)
const vite = 'node ../../node_modules/vite/bin/vite.js'

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: true,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: 'list',
  use: {
    baseURL: `http://127.0.0.1:${DEMO_PORT}`,
    trace: 'retain-on-failure',
    launchOptions: {
      // Debian's Chromium: Playwright cannot download its own browser here.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: [
    {
      // The server from its TypeScript sources (see packages/sync-server/bin): no build needed.
      command: `node --import tsx --conditions=@lensync/source ../packages/sync-server/bin/lensync-server.mjs --port ${SYNC_PORT} --host 127.0.0.1 --data ${process.env.LENSYNC_E2E_DATA}`,
      url: `http://127.0.0.1:${SYNC_PORT}/health`,
      reuseExistingServer: false,
      stdout: 'pipe',
      timeout: 60_000,
    },
    {
      // The production build, as users get it; the preview server forwards /sync.
      command: `${vite} build --logLevel warn && ${vite} preview --port ${DEMO_PORT} --strictPort --host 127.0.0.1`,
      cwd: '../apps/demo',
      env: { LENSYNC_PORT: String(SYNC_PORT) },
      url: `http://127.0.0.1:${DEMO_PORT}/`,
      reuseExistingServer: false,
      // Closing browser contexts resets proxied sockets; Vite logs each one.
      stderr: 'ignore',
      timeout: 120_000,
    },
    {
      // The React todo example, built and previewed like the demo.
      command: `${vite} build --logLevel warn && ${vite} preview --port ${TODO_PORT} --strictPort --host 127.0.0.1`,
      cwd: '../apps/todo',
      env: { LENSYNC_PORT: String(SYNC_PORT) },
      url: `http://127.0.0.1:${TODO_PORT}/`,
      reuseExistingServer: false,
      stderr: 'ignore',
      timeout: 120_000,
    },
  ],
})
