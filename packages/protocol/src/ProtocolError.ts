import type { OpId } from './messages.ts'

/**
 * Why a frame or message is unusable:
 * - `BAD_FRAME`: not JSON, not an envelope, a field missing or of the wrong type;
 * - `UNKNOWN_TYPE`: an envelope type this protocol version does not have;
 * - `BAD_FIELD`: a forbidden key (`__proto__` …), a path too deep, a value
 *   nested too deep or cyclic;
 * - `BAD_MESSAGE`: a server message the client cannot use (any of the above,
 *   seen from the client).
 */
export type ProtocolErrorCode = 'BAD_FRAME' | 'UNKNOWN_TYPE' | 'BAD_FIELD' | 'BAD_MESSAGE'

/** Where a refused message was about, when that much of it was readable. */
export interface ProtocolErrorDetails {
  /** The op id of a refused write, so the sender can be answered with a `reject`. */
  readonly op?: OpId
  /** The resource named by the message. */
  readonly r?: string
  /** The entity id named by the message. */
  readonly id?: string
}

/**
 * The one error class of `@lensync/protocol`: what the parsers return (never
 * throw) for input they refuse. `code` says what kind of problem it is and
 * `message` which field.
 *
 * @example
 * const parsed = parseClientMessage(raw)
 * if (parsed instanceof ProtocolError) answer({ t: 'error', code: parsed.code, message: parsed.message })
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'
  /** What kind of problem. */
  readonly code: ProtocolErrorCode
  /** The op id of a refused write, when it was readable. */
  readonly op: OpId | undefined
  /** The resource the message named, when it was readable. */
  readonly r: string | undefined
  /** The entity id the message named, when it was readable. */
  readonly id: string | undefined

  /**
   * @param code - What kind of problem.
   * @param message - Which field, and what was expected.
   * @param details - The op, resource and id, when known.
   */
  constructor(code: ProtocolErrorCode, message: string, details: ProtocolErrorDetails = {}) {
    super(message)
    this.code = code
    this.op = details.op
    this.r = details.r
    this.id = details.id
  }
}
