import react from '@vitejs/plugin-react'
import { defaultClientConditions, defineConfig } from 'vite'

// The sync server the dev/preview server forwards `/sync` and `/health` to,
// so the app works from one URL (`npm run start:todo` sets these).
const syncPort = process.env.LENSYNC_PORT ?? '8787'
const syncHost = process.env.LENSYNC_HOST ?? '127.0.0.1'
const proxy = {
  '/sync': { target: `ws://${syncHost}:${syncPort}`, ws: true },
  '/health': { target: `http://${syncHost}:${syncPort}` },
}

export default defineConfig({
  plugins: [react()],
  // Workspace packages are used from source: no build step for the app.
  resolve: { conditions: ['@lensync/source', ...defaultClientConditions] },
  server: { host: '127.0.0.1', port: 5174, proxy },
  preview: { host: '127.0.0.1', port: 5174, proxy },
})
