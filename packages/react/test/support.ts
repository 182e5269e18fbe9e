import { storeOf } from '@lensync/store'
import { resource, type Socket, websocket } from '@lensync/sync-client'
import { createSyncServer } from '@lensync/sync-server'
import { cleanup } from '@testing-library/react'
import { afterEach } from 'vitest'

export type Person = { _id: string; name: string; age: number }
export type Todo = { id: string; title: string; done: boolean }

export const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
export const TodoResource = resource<Todo>({ name: 'todo', id: t => t.id })

export const person = (id = 'p1', name = 'Ada', age = 36) => storeOf<Person>({ _id: id, name, age })

/**
 * The page's WebSocket (happy-dom's, see installDom.ts), counting its
 * constructions, recording what every instance sends, and listing the
 * instances (to see which are still open).
 */
export function countingWebSocket() {
  const sockets: WebSocket[] = []
  const sent: string[] = []
  class CountingWebSocket extends globalThis.WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      sockets.push(this)
    }
    override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
      sent.push(String(data))
      super.send(data)
    }
  }
  return {
    WebSocket: CountingWebSocket,
    sockets,
    sent,
    /** The protocol messages sent (a frame holds one message or an array of them). */
    messages(): Array<{ t: string } & Record<string, unknown>> {
      return sent.flatMap(frame => {
        const parsed = JSON.parse(frame)
        return Array.isArray(parsed) ? parsed : [parsed]
      })
    },
  }
}

/** A socket to `url` over `WebSocketImpl` (default: the page's), reconnecting fast. */
export function testSocket(url: string, WebSocketImpl: typeof WebSocket = globalThis.WebSocket): Socket {
  return websocket(url, {
    WebSocket: WebSocketImpl,
    reconnect: { minDelay: 10, maxDelay: 100 },
  })
}

/**
 * Per-test fixtures: an in-memory sync server, and cleanups run after each
 * test, newest first (React trees unmounted, syncs stopped, servers closed).
 */
export function fixtures() {
  const cleanups: Array<() => unknown> = []
  afterEach(async () => {
    cleanup()
    for (const undo of cleanups.splice(0).reverse()) await undo()
  })
  return {
    cleanups,
    async server() {
      const server = await createSyncServer({
        port: 0,
        memory: true,
        pingPeriod: 0,
        logger: { error: console.error, warn: console.warn, info: () => {} },
      })
      cleanups.push(() => server.close())
      return server
    },
  }
}
