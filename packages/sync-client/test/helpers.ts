import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFrameDecoder, ProtocolError } from '@lensync/protocol'
import { effect, type ReadonlySignal } from '@lensync/store'
import type { Sync } from '@lensync/sync-client'
import { type Socket, websocket } from '@lensync/sync-client'
import { createSyncServer } from '@lensync/sync-server'
import { afterEach } from 'vitest'
import { WebSocket } from 'ws'

/**
 * Reads the frames of one connection as version 1 text: a client speaks
 * protocol version 2 to the hub, whose compact envelopes depend on the
 * connection's earlier frames (entity handles, op sequence), so each
 * connection gets one reader, fed every frame in order. A frame it cannot
 * read is kept as it is.
 */
export function frameReader(): { sent(frame: string): string; received(frame: string): string } {
  const decoder = createFrameDecoder()
  const asText = (frame: string, messages: readonly unknown[]) =>
    JSON.stringify(frame.trimStart().startsWith('[') ? messages : messages[0])
  return {
    sent(frame) {
      const messages = decoder.client(frame)
      if (!Array.isArray(messages) || messages.some(m => m instanceof ProtocolError)) return frame
      return asText(frame, messages)
    },
    received(frame) {
      const parsed = decoder.server(frame)
      if (!Array.isArray(parsed) || parsed.some(p => !p.ok)) return frame
      return asText(
        frame,
        parsed.map(p => (p.ok ? p.message : undefined)),
      )
    },
  }
}

/**
 * A `ws` WebSocket that records the frames it sends and receives (to prove
 * what a client did and did not send), as version 1 text (see {@link frameReader}).
 */
export function countingWebSocket() {
  const sent: string[] = []
  const received: string[] = []
  /** Both directions in the order they happened. */
  const log: Array<{ sent: boolean; frame: string }> = []
  class CountingWebSocket extends WebSocket {
    private readonly reader = frameReader()
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args)
      this.on('message', data => {
        const frame = this.reader.received(String(data))
        received.push(frame)
        log.push({ sent: false, frame })
      })
    }
    override send(data: unknown, ...rest: unknown[]): void {
      const frame = this.reader.sent(typeof data === 'string' ? data : String(data))
      sent.push(frame)
      log.push({ sent: true, frame })
      // biome-ignore lint/suspicious/noExplicitAny: forwarding ws's overloads
      ;(super.send as any)(data, ...rest)
    }
  }
  return { WebSocket: CountingWebSocket as unknown as typeof WebSocket, sent, received, log }
}

/** The protocol messages in text frames (a frame holds one envelope or an array of them). */
export function envelopes(frames: readonly string[]): Array<{ t: string } & Record<string, unknown>> {
  return frames.flatMap(frame => {
    const parsed = JSON.parse(frame) as ({ t: string } & Record<string, unknown>) | []
    return Array.isArray(parsed) ? parsed : [parsed]
  })
}

/**
 * A `ws` WebSocket that cuts one client off while the server stays up:
 * `offline()` drops its connections and makes new attempts fail (connection
 * refused) until `online()`.
 */
export function switchableWebSocket() {
  let cut = false
  const live = new Set<WebSocket>()
  class SwitchableWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      // Port 1 on the loopback refuses the connection.
      super(cut ? 'ws://127.0.0.1:1/' : url, protocols)
      live.add(this)
      this.once('close', () => live.delete(this))
    }
  }
  return {
    WebSocket: SwitchableWebSocket as unknown as typeof WebSocket,
    offline(): void {
      cut = true
      for (const ws of live) ws.terminate()
    },
    online(): void {
      cut = false
    },
  }
}

/** Fast reconnects for tests: the logic is the same, the waits are short. */
export const fastReconnect = { minDelay: 10, maxDelay: 100, factor: 2 }

/** A socket to `url` with `ws` injected and fast reconnects. */
export function testSocket(url: string, WebSocketImpl: typeof WebSocket = WebSocket): Socket {
  return websocket(url, { WebSocket: WebSocketImpl as never, reconnect: fastReconnect })
}

/** Resolves when `predicate(signal.value)` holds (checked on every change). */
export function until<T>(
  source: ReadonlySignal<T>,
  predicate: (value: T) => boolean,
  what = 'condition',
): Promise<T> {
  return new Promise((resolve, reject) => {
    let dispose: (() => void) | undefined
    let done = false
    const timer = setTimeout(() => {
      done = true
      dispose?.()
      reject(new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(source.peek())}`))
    }, 10_000)
    dispose = effect(() => {
      const value = source.value
      if (done || !predicate(value)) return
      done = true
      clearTimeout(timer)
      queueMicrotask(() => dispose?.())
      resolve(value)
    })
    if (done) dispose()
  })
}

/** A temporary directory removed by the returned disposer. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'lensync-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Logs errors and warnings, not the routine "listening" lines. */
export const quietLogger = { error: console.error, warn: console.warn, info: () => {} }

/** Starts an in-memory sync server on a free port. */
export function memoryServer(options: Parameters<typeof createSyncServer>[0] = {}) {
  return createSyncServer({
    port: 0,
    host: '127.0.0.1',
    dataFile: ':memory:',
    pingPeriod: 0,
    logger: quietLogger,
    ...options,
  })
}

/**
 * Per-test cleanup for sync tests: everything registered is undone after
 * each test, newest first (syncs stopped, servers closed).
 */
export function syncFixtures() {
  const cleanups: Array<() => unknown> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  })
  return {
    cleanups,
    /** Stops `sync` after the test. */
    track<T extends Sync>(sync: T): T {
      cleanups.push(() => sync.stop())
      return sync
    },
    /** An in-memory sync server, closed after the test. */
    async server(options: Parameters<typeof memoryServer>[0] = {}) {
      const s = await memoryServer(options)
      cleanups.push(() => s.close())
      return s
    },
  }
}
