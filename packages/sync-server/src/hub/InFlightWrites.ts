import type { OpId } from '@lensync/protocol'
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
  readonly key: string
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
  private readonly _flights = new Map<string, _Flight>()

  constructor(private readonly _answers: _WriteAnswers) {}

  /** How many origins are in flight (for tests and inspection). */
  get size(): number {
    return this._flights.size
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
    const key = originKey(origin)
    const held = this._flights.get(key)
    if (held) return held
    const flight: _Flight = { key, landed: false, outcome: undefined }
    this._flights.set(key, flight)
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
    text: string,
    compact?: ((ref: string) => string) | undefined,
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
    for (const flight of this._flights.values()) flight.landed = true
    this._flights.clear()
  }

  private _land(flight: _Flight | undefined, outcome: _WriteOutcome): void {
    if (!flight || flight.landed) return
    flight.landed = true
    flight.outcome = outcome
    if (this._flights.get(flight.key) === flight) this._flights.delete(flight.key)
  }
}

/** The key of an origin; the length prefix keeps clients apart, the JSON keeps op `1` and op `"1"` apart. */
function originKey(origin: _WriteOrigin): string {
  return `${origin.client.length}:${origin.client}${JSON.stringify(origin.op)}`
}
