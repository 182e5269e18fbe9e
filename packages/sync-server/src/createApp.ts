import { App } from './App.ts'
import { _resolveAppOptions } from './options.ts'
import type { AppOptions } from './types.ts'

/**
 * Creates a server app, as Ktor's `embeddedServer { install(WebSockets) { … } }`.
 * Options are merged over the defaults and checked here, once.
 *
 * @param options - `pingPeriod` (30 000 ms, 0 disables), `timeout` (15 000 ms),
 *   `maxFrameSize` (1 MiB), `perMessageDeflate` (false), `maxBufferedBytes`
 *   (4 MiB), `closeTimeout` (5 000 ms), `logger` (console), `timers`, `createId`.
 * @returns The app; add routes, then `listen()`.
 * @throws TypeError naming an option with a bad value.
 * @example
 * const app = createApp({ pingPeriod: 10_000, timeout: 5_000 })
 * app.get('/health', () => ({ ok: true }))
 */
export function createApp(options?: AppOptions): App {
  return new App(_resolveAppOptions(options))
}
