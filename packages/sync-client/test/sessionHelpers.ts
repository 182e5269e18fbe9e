import type { Stream } from '@lensync/store'
import { type WebSocket, WebSocketServer } from 'ws'

/** The first `count` events of `stream` (it stays subscribed only until then). */
export function take<T>(stream: Stream<T>, count: number): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const seen: T[] = []
    let unsubscribe: (() => void) | undefined
    let done = false
    unsubscribe = stream.subscribe(
      value => {
        if (done) return
        seen.push(value)
        if (seen.length < count) return
        done = true
        unsubscribe?.()
        resolve(seen)
      },
      () => {
        if (!done) reject(new Error(`stream ended after ${seen.length} of ${count} events`))
      },
    )
    if (done) unsubscribe()
  })
}

/** The next event of `stream`. */
export async function next<T>(stream: Stream<T>): Promise<T> {
  const [value] = await take(stream, 1)
  return value as T
}

/** A `ws` server on 127.0.0.1 with a free port, and the sockets it accepted. */
export interface TestServer {
  readonly url: string
  readonly wss: WebSocketServer
  /** Connections in the order they came. */
  readonly connections: WebSocket[]
  /** Resolves with the `n`-th connection (1-based) once it is there. */
  connection(n: number): Promise<WebSocket>
  /** Resolves with the first `count` messages the `n`-th connection received (text as strings). */
  received(n: number, count: number): Promise<unknown[]>
  close(): Promise<void>
}

/** Starts a `ws` server; `onConnection` runs for each client. Close it with `close()`. */
export async function startServer(onConnection: (ws: WebSocket) => void = () => {}): Promise<TestServer> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve)
    wss.once('error', reject)
  })
  const connections: WebSocket[] = []
  const inboxes: unknown[][] = []
  const listeners = new Set<() => void>()
  const changed = () => {
    for (const listener of [...listeners]) listener()
  }
  const until = <T>(check: () => T | undefined): Promise<T> =>
    new Promise(resolve => {
      const listener = () => {
        const value = check()
        if (value === undefined) return
        listeners.delete(listener)
        resolve(value)
      }
      listeners.add(listener)
      listener()
    })
  wss.on('connection', ws => {
    const inbox: unknown[] = []
    connections.push(ws)
    inboxes.push(inbox)
    ws.on('message', (data, isBinary) => {
      inbox.push(isBinary ? data : data.toString())
      changed()
    })
    onConnection(ws)
    changed()
  })
  const address = wss.address()
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address')
  return {
    url: `ws://127.0.0.1:${address.port}`,
    wss,
    connections,
    connection: n => until(() => connections[n - 1]),
    received: (n, count) =>
      until(() => {
        const inbox = inboxes[n - 1]
        return inbox && inbox.length >= count ? inbox.slice(0, count) : undefined
      }),
    close: () =>
      new Promise<void>(resolve => {
        for (const ws of wss.clients) ws.terminate()
        wss.close(() => resolve())
      }),
  }
}

/** Echoes every message back, text as text and binary as binary. */
export function echo(ws: WebSocket): void {
  ws.on('message', (data, isBinary) => ws.send(isBinary ? data : data.toString(), { binary: isBinary }))
}

/**
 * A scripted WebSocket for tests of timing: nothing happens until the test
 * calls `open()`, `fail()`, `drop()` or `receive()`.
 */
export class FakeWebSocket extends EventTarget {
  /** Every instance made, oldest first. Reset it in `beforeEach`. */
  static instances: FakeWebSocket[] = []
  readyState = 0
  binaryType = 'blob'
  readonly sent: unknown[] = []

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    super()
    FakeWebSocket.instances.push(this)
  }

  /** The newest instance. */
  static get last(): FakeWebSocket {
    const last = FakeWebSocket.instances.at(-1)
    if (!last) throw new Error('no FakeWebSocket was made')
    return last
  }

  send(data: unknown): void {
    if (this.readyState !== 1) throw new Error(`send in readyState ${this.readyState}`)
    this.sent.push(data)
  }

  close(code = 1005, reason = ''): void {
    if (this.readyState >= 2) return
    this.readyState = 2
    queueMicrotask(() => this.closed(code, reason))
  }

  /** The handshake succeeded. */
  open(): void {
    this.readyState = 1
    this.dispatchEvent(new Event('open'))
  }

  /** The connection failed or dropped: error, then close 1006. */
  fail(): void {
    this.dispatchEvent(new Event('error'))
    this.closed(1006, '')
  }

  /** The server closed the connection. */
  closed(code: number, reason = ''): void {
    this.readyState = 3
    this.dispatchEvent(Object.assign(new Event('close'), { code, reason, wasClean: code !== 1006 }))
  }

  receive(data: unknown): void {
    this.dispatchEvent(new MessageEvent('message', { data }))
  }
}
