import type { Stream } from '@lensync/store'
import { WebSocket } from 'ws'

/**
 * A `ws` WebSocket that counts its constructions and can close every live one
 * as a closing tab does (a close frame, 1001), after which new attempts are
 * refused until `reopen()`.
 */
export function trackedWebSocket() {
  let cut = false
  let constructed = 0
  const live = new Set<WebSocket>()
  class TrackedWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      // Port 1 on the loopback refuses the connection.
      super(cut ? 'ws://127.0.0.1:1/' : url, protocols)
      constructed++
      live.add(this)
      this.once('close', () => live.delete(this))
    }
  }
  return {
    WebSocket: TrackedWebSocket as unknown as typeof WebSocket,
    /** How many WebSockets were made (connection attempts included). */
    get constructed(): number {
      return constructed
    },
    /** Closes the open connections with a close frame; later attempts fail. */
    closeTab(): void {
      cut = true
      for (const ws of live) ws.close(1001, 'tab closed')
    },
  }
}

/** Everything a stream emits, in order. */
export function recorded<T>(stream: Stream<T>): T[] {
  const seen: T[] = []
  stream.subscribe(value => void seen.push(value))
  return seen
}
