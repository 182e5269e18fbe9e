import type { Timers } from './types.ts'

/** @internal What the heartbeat drives: a session, through methods of its own. */
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
}

/** Not in the wheel's heap. */
const UNSCHEDULED = -1

/**
 * @internal
 * One session's heartbeat, kept by a {@link _HeartbeatWheel}: Ktor's pinger —
 * wait `pingPeriod`, send a ping with a fresh payload, wait up to `timeout`
 * for the matching pong; none → `_heartbeatTimedOut()`. Then again.
 * `pong` feeds it, `restart` applies new periods, `stop` ends it.
 */
export class _Heartbeat {
  /** When its next step is due, on the wheel's clock. */
  due = 0
  /** Its place in the wheel's heap, or `UNSCHEDULED`. */
  index = UNSCHEDULED
  /** The payload of the ping waiting for its pong. */
  expected: string | undefined = undefined
  /** Pings sent so far (the payload's number). */
  round = 0
  stopped = false

  constructor(
    readonly target: _HeartbeatTarget,
    private readonly _wheel: _HeartbeatWheel,
  ) {
    _wheel._schedule(this)
  }

  /** A pong arrived: when it answers the current ping, the next period starts. */
  pong(payload: string): void {
    // An unsolicited pong (RFC 6455 §5.5.3) or a stale one does not answer the current ping.
    if (this.expected !== undefined && payload === this.expected) this._wheel._schedule(this)
  }

  /** Starts a new round with the target's current periods. */
  restart(): void {
    if (!this.stopped) this._wheel._schedule(this)
  }

  /** Ends the heartbeat for good. */
  stop(): void {
    this.stopped = true
    this.expected = undefined
    this._wheel._remove(this)
  }
}

/**
 * @internal
 * The heartbeats of every session of one app on a single timer: a min-heap
 * of the sessions' next steps (a ping to send, a pong that is due) and one
 * `setTimeout` for the earliest, re-armed when the earliest changes. Each
 * session keeps its own schedule exactly as a timer of its own would (ping
 * after `pingPeriod`, give up `timeout` after the ping), without a `Timeout`
 * and its closures per session.
 *
 * The clock: with the global timers, `performance.now()` (a step runs once
 * its time has come, even when Node fires the timer a little early). With
 * injected timers (tests), time is what those timers say: it moves only
 * when the timer fires, to the time it was armed for, so a hand-driven
 * clock drives every session's heartbeat step by step.
 */
export class _HeartbeatWheel {
  private readonly _heap: _Heartbeat[] = []
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

  /**
   * Starts watching a session.
   *
   * @returns Its heartbeat (feed it pongs; stop it when the session closed).
   */
  start(target: _HeartbeatTarget): _Heartbeat {
    return new _Heartbeat(target, this)
  }

  /** How many heartbeats are scheduled (for tests). */
  get size(): number {
    return this._heap.length
  }

  /** (Re)starts a heartbeat's period: its next ping is `pingPeriod` from now. */
  _schedule(beat: _Heartbeat): void {
    beat.expected = undefined
    const period = beat.target.pingPeriod
    if (beat.stopped || period <= 0) {
      this._remove(beat)
      return
    }
    const now = this._now()
    this._place(beat, now + period)
    this._arm(now)
  }

  /** Takes a heartbeat out of the schedule. */
  _remove(beat: _Heartbeat): void {
    if (beat.index === UNSCHEDULED) return
    const heap = this._heap
    const index = beat.index
    const last = heap.pop() as _Heartbeat
    beat.index = UNSCHEDULED
    if (last !== beat) {
      heap[index] = last
      last.index = index
      this._down(index)
      this._up(index)
    }
    if (index === 0) this._arm(this._now())
  }

  private _now(): number {
    return this._trustTimers ? this._virtual : performance.now()
  }

  /** Puts a heartbeat at `due` (in the heap or moved within it). */
  private _place(beat: _Heartbeat, due: number): void {
    beat.due = due
    if (beat.index === UNSCHEDULED) {
      beat.index = this._heap.length
      this._heap.push(beat)
      this._up(beat.index)
    } else {
      this._up(beat.index)
      this._down(beat.index)
    }
  }

  /** Arms the timer for the earliest step, unless it already is (not while steps run). */
  private _arm(now: number): void {
    if (this._firing) return
    const first = this._heap[0]
    const due = first === undefined ? Number.NaN : first.due
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
      for (let first = heap[0]; first !== undefined && first.due <= now; first = heap[0])
        this._step(first, now)
    } finally {
      this._firing = false
    }
    this._arm(now)
  }

  /** Runs a heartbeat's due step: send the ping, or give up waiting for its pong. */
  private _step(beat: _Heartbeat, now: number): void {
    if (beat.expected === undefined) {
      const payload = `[ping ${++beat.round}]`
      beat.expected = payload
      this._place(beat, now + beat.target.timeout)
      beat.target._heartbeatPing(payload)
      return
    }
    this._remove(beat)
    const waitingFor = beat.expected
    // After a stall (a busy or descheduled process) the timer phase runs before
    // the poll phase that would read a pong already waiting in the socket; give
    // that read one turn of the event loop before calling the peer dead.
    setImmediate(() => {
      if (beat.stopped || beat.expected !== waitingFor || beat.index !== UNSCHEDULED) return
      if (beat.target._heartbeatReadsPaused()) {
        this._schedule(beat)
      } else {
        beat.stopped = true
        beat.expected = undefined
        beat.target._heartbeatTimedOut()
      }
    })
  }

  private _up(index: number): void {
    const heap = this._heap
    const beat = heap[index] as _Heartbeat
    while (index > 0) {
      const parentIndex = (index - 1) >> 1
      const parent = heap[parentIndex] as _Heartbeat
      if (parent.due <= beat.due) break
      heap[index] = parent
      parent.index = index
      index = parentIndex
    }
    heap[index] = beat
    beat.index = index
  }

  private _down(index: number): void {
    const heap = this._heap
    const length = heap.length
    const beat = heap[index] as _Heartbeat
    for (;;) {
      let child = 2 * index + 1
      if (child >= length) break
      const right = child + 1
      if (right < length && (heap[right] as _Heartbeat).due < (heap[child] as _Heartbeat).due) child = right
      const next = heap[child] as _Heartbeat
      if (next.due >= beat.due) break
      heap[index] = next
      next.index = index
      index = child
    }
    heap[index] = beat
    beat.index = index
  }
}
