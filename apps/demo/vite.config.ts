import { defaultClientConditions, defineConfig } from 'vite'

// The sync server the dev/preview server forwards `/sync` and `/health` to,
// so the demo works from one URL (`npm start` sets these).
const syncPort = process.env.LENSYNC_PORT ?? '8787'
const syncHost = process.env.LENSYNC_HOST ?? '127.0.0.1'
const proxy = {
  '/sync': { target: `ws://${syncHost}:${syncPort}`, ws: true },
  '/health': { target: `http://${syncHost}:${syncPort}` },
}

export default defineConfig({
  // Workspace packages are used from source: no build step for the demo.
  resolve: { conditions: ['@lensync/source', ...defaultClientConditions] },
  server: { host: '127.0.0.1', proxy },
  preview: { host: '127.0.0.1', proxy },
})
