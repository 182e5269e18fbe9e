import type { CompactRender, OpId } from '@lensync/protocol'
import type { _WriteTask } from './EntityTable.ts'
import type { HubClient } from './HubClient.ts'
import type { _WriteAnswers, _WriteOutcome } from './WriteOutcome.ts'

/** @internal Who sent a write: a client id and the write's op (as `StorageWrite.origin`). */
export interface _WriteOrigin {
  readonly client: string
  readonly op: OpId
}

/**
 * @internal
 * The record of one origin `(client, op)` on this node while a write with it
 * is decided and committed. `landed` once its final outcome (or none: see
 * {@link _InFlightWrites.releaseAll}) is known.
 */
export interface _Flight {
  /** The origin it holds. */
  readonly origin: _WriteOrigin
  landed: boolean
  /** The final outcome of the write holding the flight; `undefined` when released without one. */
  outcome: _WriteOutcome | undefined
}

/**
 * @internal
 * The writes with an origin this node is deciding or committing, so the same
 * `(client, op)` arriving twice at once (a half-open old connection and a new
 * one both carrying a resend) is applied once: storage records an applied
 * write only when it commits, so until then this map is what knows. The
 * writer claims an origin before deciding a write; a second write with the
 * same origin waits until the first landed and is then answered
 * `ack applied: false` (the first was acknowledged) or decided itself (it
 * was not applied).
 *
 * Sits between the write path and the delivery: every final answer of a
 * write passes through {@link _InFlightWrites.answer}, which lands its flight.
 */
export class _InFlightWrites implements _WriteAnswers {
  /**
   * The flights by client id: its one flight, or from its second one on a
   * map of them by op (a number and a string are different keys, as op `1`
   * and op `"1"` are different ops). No key string is made per write, and a
   * client's entry goes when its last flight lands.
   */
  private readonly _flights = new Map<string, _Flight | Map<OpId, _Flight>>()
  private _size = 0

  constructor(private readonly _answers: _WriteAnswers) {}

  /** How many origins are in flight (for tests and inspection). */
  get size(): number {
    return this._size
  }

  /**
   * Claims the task's origin for it. A task that holds it already (a retry,
   * a restart) keeps it.
   *
   * @returns `undefined` when the task holds the origin now (or has none);
   *   else the flight of the other write that holds it.
   */
  claim(task: _WriteTask): _Flight | undefined {
    const { origin } = task
    if (!origin) return undefined
    if (task.flight && !task.flight.landed) return undefined
    const { client, op } = origin
    const held = this._flights.get(client)
    const flight: _Flight = { origin, landed: false, outcome: undefined }
    if (held === undefined) this._flights.set(client, flight)
    else if (held instanceof Map) {
      const same = held.get(op)
      if (same) return same
      held.set(op, flight)
    } else {
      if (held.origin.op === op) return held
      this._flights.set(
        client,
        new Map([
          [held.origin.op, held],
          [op, flight],
        ]),
      )
    }
    this._size++
    task.flight = flight
    return undefined
  }

  answer(task: _WriteTask, outcome: _WriteOutcome): void {
    if (outcome.kind !== 'staged') this._land(task.flight, outcome)
    this._answers.answer(task, outcome)
  }

  broadcast(
    resource: string,
    id: string,
    sender: HubClient | undefined,
    text: string | (() => string),
    compact?: CompactRender | undefined,
  ): void {
    this._answers.broadcast(resource, id, sender, text, compact)
  }

  schedule(): void {
    this._answers.schedule()
  }

  nextFlush(): Promise<void> {
    return this._answers.nextFlush()
  }

  /**
   * The storage feed lost changes: writes waiting for it will never be
   * answered. Their flights land without an outcome, so writes waiting on
   * them are decided themselves (looking up storage first).
   */
  releaseAll(): void {
    for (const held of this._flights.values())
      if (held instanceof Map) for (const flight of held.values()) flight.landed = true
      else held.landed = true
    this._flights.clear()
    this._size = 0
  }

  private _land(flight: _Flight | undefined, outcome: _WriteOutcome): void {
    if (!flight || flight.landed) return
    flight.landed = true
    flight.outcome = outcome
    const { client, op } = flight.origin
    const held = this._flights.get(client)
    if (held === flight) this._flights.delete(client)
    else if (held instanceof Map && held.get(op) === flight) {
      held.delete(op)
      if (held.size === 0) this._flights.delete(client)
    } else return
    this._size--
  }
}
