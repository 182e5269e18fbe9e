import type { Timers } from './types.ts'

/** @internal What the heartbeat drives. */
export interface _HeartbeatTarget {
  /** Milliseconds between pings; `0` disables. Read before every round. */
  pingPeriod(): number
  /** Milliseconds to wait for the pong. Read before every round. */
  timeout(): number
  /** Sends a ping carrying `payload`. */
  ping(payload: string): void
  /**
   * Whether the server itself stopped reading (its incoming queue is full):
   * a pong cannot be read then, but the peer was talking a moment ago, so a
   * missing pong is not held against it.
   */
  readsPaused(): boolean
  /** No pong within `timeout`. */
  timedOut(): void
}

/** @internal A running heartbeat: `pong` feeds it, `restart` applies new periods, `stop` ends it. */
export interface _Heartbeat {
  pong(payload: string): void
  restart(): void
  stop(): void
}

/**
 * @internal
 * Ktor's pinger: wait `pingPeriod`, send a ping with a fresh payload, wait up
 * to `timeout` for the matching pong; none → `timedOut()`. Then again.
 *
 * @param target - The session being watched.
 * @param timers - Timer functions (injectable for tests).
 * @returns The running heartbeat.
 */
export function startHeartbeat(target: _HeartbeatTarget, timers: Timers): _Heartbeat {
  let timer: unknown
  let expected: string | undefined
  let round = 0
  let stopped = false

  const clear = () => {
    if (timer !== undefined) timers.clearTimeout(timer)
    timer = undefined
    expected = undefined
  }
  const schedule = () => {
    clear()
    if (stopped || target.pingPeriod() <= 0) return
    timer = timers.setTimeout(ping, target.pingPeriod())
  }
  const ping = () => {
    timer = undefined
    if (stopped) return
    expected = `[ping ${++round}]`
    target.ping(expected)
    timer = timers.setTimeout(expire, target.timeout())
  }
  const expire = () => {
    timer = undefined
    const waitingFor = expected
    // After a stall (a busy or descheduled process) the timer phase runs before
    // the poll phase that would read a pong already waiting in the socket; give
    // that read one turn of the event loop before calling the peer dead.
    setImmediate(() => {
      if (stopped || expected !== waitingFor || timer !== undefined) return
      if (target.readsPaused()) {
        schedule()
      } else {
        stopped = true
        expected = undefined
        target.timedOut()
      }
    })
  }

  schedule()
  return {
    pong(payload) {
      // An unsolicited pong (RFC 6455 §5.5.3) or a stale one does not answer the current ping.
      if (expected !== undefined && payload === expected) schedule()
    },
    restart() {
      if (!stopped) schedule()
    },
    stop() {
      stopped = true
      clear()
    },
  }
}
