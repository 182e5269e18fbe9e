/**
 * The op ids of one client id: increasing integers, never handed out twice.
 * One sequence is shared by every socket and session made from one
 * `websocket()` call (they share its `clientId`).
 *
 * @internal
 */
export class OpSequence {
  private last: number
  /** The first op id this sequence hands out: ops below it were made before (e.g. by an earlier page). */
  readonly first: number

  /** @param start - The first op id. */
  constructor(start: number) {
    this.first = start
    this.last = start - 1
  }

  /** The next op id. */
  next(): number {
    return ++this.last
  }

  /** Continues after `op`: for an outbox made under this client id elsewhere (a cache). */
  advancePast(op: number): void {
    if (op > this.last) this.last = op
  }
}

/**
 * A random client id (a UUID where `crypto.randomUUID` exists).
 *
 * @internal
 */
export function randomClientId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto
  if (c?.randomUUID) return c.randomUUID()
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}${Math.random().toString(36).slice(2, 12)}`
}

/**
 * The op sequence for a socket's client id. A random id is new, so its ops
 * start at 1. An id given by the app may have been used before (by an
 * earlier page), so its ops start from the clock (ms × 1000): later than
 * any op an earlier page can have made, unless it made over a thousand
 * writes per millisecond.
 *
 * @internal
 */
export function opSequenceFor(given: boolean, now: () => number = Date.now): OpSequence {
  return new OpSequence(given ? now() * 1000 : 1)
}
