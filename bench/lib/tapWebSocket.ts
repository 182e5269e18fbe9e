import type { WebSocketConstructor, WebSocketLike } from '@lensync/sync-client'
import { WebSocket } from 'ws'

/** One thing that happened on a tapped socket. */
export interface TapEvent {
  /** `connect`: the real socket was created (after `release()` for a held one). */
  readonly kind: 'connect' | 'open' | 'send' | 'recv' | 'close'
  /** `performance.now()` when it happened. */
  readonly at: number
  /** Payload bytes (UTF-8 for text) of a `send` or `recv`; 0 otherwise. */
  readonly bytes: number
  /** The payload of a `send` or `recv` as text. */
  readonly text: string
}

type Listener = (event: unknown) => void

function byteLength(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data)
  if (data instanceof ArrayBuffer) return data.byteLength
  if (ArrayBuffer.isView(data)) return data.byteLength
  return 0
}

function textOf(data: unknown): string {
  if (typeof data === 'string') return data
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString()
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString()
  return ''
}

/**
 * A `WebSocket` constructor for `websocket(url, { WebSocket })` that wraps
 * `ws` and records every frame sent and received (bytes, order, time), and
 * that can hold new connections back (`hold()` … `release()`) or drop every
 * open one as a vanished network would (`dropAll()`). It is injected through
 * the client's public `WebSocket` option, so the client under test is
 * unchanged.
 */
export class Tap {
  /** Everything recorded since the last `clear()`. */
  readonly events: TapEvent[] = []
  /** The constructor to pass as the `WebSocket` option. */
  readonly WebSocket: WebSocketConstructor
  private held = false
  private readonly waiting = new Set<() => void>()
  private readonly open = new Set<WebSocket>()

  constructor() {
    const tap = this
    this.WebSocket = class TappedWebSocket implements WebSocketLike {
      private real: WebSocket | undefined
      private closedEarly = false
      private type = 'arraybuffer'
      private readonly listeners = new Map<string, Set<Listener>>()

      constructor(url: string, protocols?: string | string[]) {
        tap.whenReleased(() => {
          if (!this.closedEarly) this.connect(url, protocols)
        })
      }

      get readyState(): number {
        return this.real?.readyState ?? (this.closedEarly ? 3 : 0)
      }

      get binaryType(): string {
        return this.type
      }

      set binaryType(type: string) {
        this.type = type
        if (this.real) this.real.binaryType = type as 'arraybuffer'
      }

      send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
        tap.record('send', data)
        this.real?.send(data as string)
      }

      close(code?: number, reason?: string): void {
        if (this.real) {
          this.real.close(code, reason)
          return
        }
        this.closedEarly = true
        queueMicrotask(() => this.dispatch('close', { code: 1006, reason: '', wasClean: false }))
      }

      addEventListener(type: string, listener: Listener): void {
        let set = this.listeners.get(type)
        if (!set) {
          set = new Set()
          this.listeners.set(type, set)
        }
        set.add(listener)
      }

      removeEventListener(type: string, listener: Listener): void {
        this.listeners.get(type)?.delete(listener)
      }

      private connect(url: string, protocols: string | string[] | undefined): void {
        tap.record('connect', undefined)
        const real = new WebSocket(url, protocols)
        real.binaryType = this.type as 'arraybuffer'
        this.real = real
        real.addEventListener('open', event => {
          tap.open.add(real)
          tap.record('open', undefined)
          this.dispatch('open', event)
        })
        real.addEventListener('message', event => {
          tap.record('recv', event.data)
          this.dispatch('message', event)
        })
        real.addEventListener('error', event => this.dispatch('error', event))
        real.addEventListener('close', event => {
          tap.open.delete(real)
          tap.record('close', undefined)
          this.dispatch('close', event)
        })
      }

      private dispatch(type: string, event: unknown): void {
        for (const listener of this.listeners.get(type) ?? []) listener(event)
      }
    }
  }

  /** New connections wait (appear to be connecting) until `release()`. */
  hold(): void {
    this.held = true
  }

  /** Lets held and later connections go ahead. */
  release(): void {
    this.held = false
    const waiting = [...this.waiting]
    this.waiting.clear()
    for (const go of waiting) go()
  }

  /** Drops every open connection without a close handshake (the client sees 1006). */
  dropAll(): void {
    for (const socket of this.open) socket.terminate()
  }

  /** Forgets what was recorded. */
  clear(): void {
    this.events.length = 0
  }

  private whenReleased(go: () => void): void {
    if (this.held) this.waiting.add(go)
    else go()
  }

  private record(kind: TapEvent['kind'], data: unknown): void {
    this.events.push({ kind, at: performance.now(), bytes: byteLength(data), text: textOf(data) })
  }
}

/**
 * Counts the round trips in a recorded exchange: the WebSocket upgrade (one
 * HTTP request and response), then one for every turn where the client sent
 * something and then waited for an answer.
 *
 * @param events - What a {@link Tap} recorded from the connection attempt on.
 * @returns The number of round trips.
 */
export function roundTrips(events: readonly TapEvent[]): number {
  let trips = 0
  let sending = false
  for (const event of events) {
    if (event.kind === 'open') trips++
    else if (event.kind === 'send') sending = true
    else if (event.kind === 'recv' && sending) {
      trips++
      sending = false
    }
  }
  return trips
}
