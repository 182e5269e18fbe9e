import type { Timers } from './types.ts'

/**
 * @internal
 * What the heartbeat drives: a session, through methods of its own. It also
 * keeps its own place in the wheel (the `_beat…` fields, which only the wheel
 * reads and writes), so a session costs the wheel no object of its own.
 * Start each with {@link _HeartbeatWheel.start}.
 */
export interface _HeartbeatTarget {
  /** Milliseconds between pings; `0` disables. Read before every round. */
  readonly pingPeriod: number
  /** Milliseconds to wait for the pong. Read before every round. */
  readonly timeout: number
  /** Sends a ping carrying `payload`. */
  _heartbeatPing(payload: string): void
  /**
   * Whether the server itself stopped reading (its incoming queue is full):
   * a pong cannot be read then, but the peer was talking a moment ago, so a
   * missing pong is not held against it.
   */
  _heartbeatReadsPaused(): boolean
  /** No pong within `timeout`. */
  _heartbeatTimedOut(): void
  /** Its place in the wheel's heap, or `UNSCHEDULED`, or `STOPPED` for good. */
  _beatIndex: number
  /** Pings sent so far (the payload's number). */
  _beatRound: number
  /** Whether the ping of `_beatRound` waits for its pong. */
  _beatAwaiting: boolean
}

/** Not in the wheel's heap. */
const UNSCHEDULED = -1
/** Stopped for good: never scheduled again. */
const STOPPED = -2

/** The payload of a round's ping (a pong must carry it back). */
function pingPayload(round: number): string {
  return `[ping ${round}]`
}

/**
 * @internal
 * The heartbeats of every session of one app on a single timer: Ktor's
 * pinger per session — wait `pingPeriod`, send a ping with a fresh payload,
 * wait up to `timeout` for the matching pong; none → `_heartbeatTimedOut()`;
 * then again. A min-heap of the sessions' next steps (a ping to send, a pong
 * that is due) and one `setTimeout` for the earliest, re-armed when the
 * earliest changes. Each session keeps its own schedule exactly as a timer
 * of its own would, without a `Timeout`, its closures or any other object
 * per session (the due times are in a list of numbers beside the heap, not
 * a boxed number in every session).
 *
 * The clock: with the global timers, `performance.now()` (a step runs once
 * its time has come, even when Node fires the timer a little early). With
 * injected timers (tests), time is what those timers say: it moves only
 * when the timer fires, to the time it was armed for, so a hand-driven
 * clock drives every session's heartbeat step by step.
 */
export class _HeartbeatWheel {
  private readonly _heap: _HeartbeatTarget[] = []
  /** When each heartbeat's next step is due, on the wheel's clock: `_dues[i]` is `_heap[i]`'s. */
  private readonly _dues: number[] = []
  private _timer: unknown = undefined
  /** The due time the timer is armed for (`NaN`: not armed). */
  private _armedDue = Number.NaN
  /** Injected timers: the time their last firing reached. */
  private _virtual = 0
  private _firing = false

  /**
   * @param _timers - The app's timer functions.
   * @param _trustTimers - `true` for injected timers: their firing moves the clock.
   */
  constructor(
    private readonly _timers: Timers,
    private readonly _trustTimers: boolean,
  ) {}

  /** Starts a session's heartbeat: its first ping is `pingPeriod` from now. */
  start(target: _HeartbeatTarget): void {
    target._beatIndex = UNSCHEDULED
    target._beatRound = 0
    this._schedule(target)
  }

  /** A pong arrived: when it answers the current ping, the next period starts. */
  pong(target: _HeartbeatTarget, payload: string): void {
    // An unsolicited pong (RFC 6455 §5.5.3) or a stale one does not answer the current ping.
    if (target._beatAwaiting && payload === pingPayload(target._beatRound)) this._schedule(target)
  }

  /** Starts a new round with the target's current periods (not after `stop`). */
  restart(target: _HeartbeatTarget): void {
    if (target._beatIndex !== STOPPED) this._schedule(target)
  }

  /** Ends a session's heartbeat for good. */
  stop(target: _HeartbeatTarget): void {
    this._remove(target)
    target._beatIndex = STOPPED
    target._beatAwaiting = false
  }

  /** How many heartbeats are scheduled (for tests). */
  get size(): number {
    return this._heap.length
  }

  /** (Re)starts a heartbeat's period: its next ping is `pingPeriod` from now. */
  private _schedule(beat: _HeartbeatTarget): void {
    beat._beatAwaiting = false
    const period = beat.pingPeriod
    if (beat._beatIndex === STOPPED || period <= 0) {
      this._remove(beat)
      return
    }
    const now = this._now()
    this._place(beat, now + period)
    this._arm(now)
  }

  /** Takes a heartbeat out of the schedule. */
  private _remove(beat: _HeartbeatTarget): void {
    const index = beat._beatIndex
    if (index < 0) return
    const heap = this._heap
    const last = heap.pop() as _HeartbeatTarget
    const lastDue = this._dues.pop() as number
    beat._beatIndex = UNSCHEDULED
    if (last !== beat) {
      heap[index] = last
      this._dues[index] = lastDue
      last._beatIndex = index
      this._down(index)
      this._up(index)
    }
    if (index === 0) this._arm(this._now())
  }

  private _now(): number {
    return this._trustTimers ? this._virtual : performance.now()
  }

  /** Puts a heartbeat at `due` (in the heap or moved within it). */
  private _place(beat: _HeartbeatTarget, due: number): void {
    if (beat._beatIndex === UNSCHEDULED) {
      beat._beatIndex = this._heap.length
      this._heap.push(beat)
      this._dues.push(due)
      this._up(beat._beatIndex)
    } else {
      this._dues[beat._beatIndex] = due
      this._up(beat._beatIndex)
      this._down(beat._beatIndex)
    }
  }

  /** Arms the timer for the earliest step, unless it already is (not while steps run). */
  private _arm(now: number): void {
    if (this._firing) return
    const first = this._heap[0]
    const due = first === undefined ? Number.NaN : (this._dues[0] as number)
    if (due === this._armedDue) return
    if (this._timer !== undefined) this._timers.clearTimeout(this._timer)
    this._timer = undefined
    this._armedDue = due
    if (first === undefined) return
    // Rounded up, so a step never runs before its time.
    const delay = Math.max(0, Math.ceil(due - now - 1e-6))
    this._timer = this._timers.setTimeout(this._fire, delay)
  }

  private readonly _fire = (): void => {
    this._timer = undefined
    const armed = this._armedDue
    this._armedDue = Number.NaN
    if (this._trustTimers && armed > this._virtual) this._virtual = armed
    const now = this._now()
    this._firing = true
    try {
      const heap = this._heap
      const dues = this._dues
      for (let first = heap[0]; first !== undefined && (dues[0] as number) <= now; first = heap[0])
        this._step(first, now)
    } finally {
      this._firing = false
    }
    this._arm(now)
  }

  /** Runs a heartbeat's due step: send the ping, or give up waiting for its pong. */
  private _step(beat: _HeartbeatTarget, now: number): void {
    if (!beat._beatAwaiting) {
      const round = ++beat._beatRound
      beat._beatAwaiting = true
      this._place(beat, now + beat.timeout)
      beat._heartbeatPing(pingPayload(round))
      return
    }
    this._remove(beat)
    const waitingFor = beat._beatRound
    // After a stall (a busy or descheduled process) the timer phase runs before
    // the poll phase that would read a pong already waiting in the socket; give
    // that read one turn of the event loop before calling the peer dead.
    setImmediate(() => {
      // Answered, restarted or stopped meanwhile.
      if (!beat._beatAwaiting || beat._beatRound !== waitingFor || beat._beatIndex !== UNSCHEDULED) return
      if (beat._heartbeatReadsPaused()) {
        this._schedule(beat)
      } else {
        beat._beatIndex = STOPPED
        beat._beatAwaiting = false
        beat._heartbeatTimedOut()
      }
    })
  }

  private _up(index: number): void {
    const heap = this._heap
    const dues = this._dues
    const beat = heap[index] as _HeartbeatTarget
    const due = dues[index] as number
    while (index > 0) {
      const parentIndex = (index - 1) >> 1
      const parentDue = dues[parentIndex] as number
      if (parentDue <= due) break
      this._move(parentIndex, index, parentDue)
      index = parentIndex
    }
    heap[index] = beat
    dues[index] = due
    beat._beatIndex = index
  }

  private _down(index: number): void {
    const heap = this._heap
    const dues = this._dues
    const length = heap.length
    const beat = heap[index] as _HeartbeatTarget
    const due = dues[index] as number
    for (;;) {
      let child = 2 * index + 1
      if (child >= length) break
      const right = child + 1
      if (right < length && (dues[right] as number) < (dues[child] as number)) child = right
      const childDue = dues[child] as number
      if (childDue >= due) break
      this._move(child, index, childDue)
      index = child
    }
    heap[index] = beat
    dues[index] = due
    beat._beatIndex = index
  }

  /** Moves the heartbeat at `from` (due at `due`) to `to`. */
  private _move(from: number, to: number, due: number): void {
    const beat = this._heap[from] as _HeartbeatTarget
    this._heap[to] = beat
    this._dues[to] = due
    beat._beatIndex = to
  }
}
