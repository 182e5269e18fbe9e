/**
 * Close codes a session can be closed with, as Ktor's `CloseReason.Codes`
 * (RFC 6455 §7.4.1). Any code in 3000–4999 is also allowed for applications.
 */
const Codes = {
  /** 1000: the purpose of the connection was fulfilled. */
  NORMAL: 1000,
  /** 1001: the server is going down, or the browser left the page. */
  GOING_AWAY: 1001,
  /** 1002: the peer broke the WebSocket protocol. */
  PROTOCOL_ERROR: 1002,
  /** 1003: a frame type the endpoint cannot accept (e.g. binary where only text is understood). */
  CANNOT_ACCEPT: 1003,
  /** 1007: a text frame that is not valid UTF-8, or data not consistent with its type. */
  NOT_CONSISTENT: 1007,
  /** 1008: a message that violates the endpoint's policy. */
  VIOLATED_POLICY: 1008,
  /** 1009: a message larger than `maxFrameSize`. */
  TOO_BIG: 1009,
  /** 1010: the client expected an extension the server did not negotiate. */
  NO_EXTENSION: 1010,
  /** 1011: an unexpected condition on the server (a handler threw, a ping timed out). */
  INTERNAL_ERROR: 1011,
  /** 1012: the service is restarting. */
  SERVICE_RESTART: 1012,
  /** 1013: try again later (used here for slow consumers). */
  TRY_AGAIN_LATER: 1013,
} as const

/** Name of a known close code, e.g. `'NORMAL'`. */
export type CloseCodeName = keyof typeof Codes

const namesByCode = new Map<number, CloseCodeName>(
  Object.entries(Codes).map(([name, code]) => [code, name as CloseCodeName]),
)

/**
 * Why a WebSocket session was closed: a numeric `code` and a human `message`,
 * as Ktor's `CloseReason`.
 *
 * A received reason may carry any code the peer sent, including 1006 (the
 * connection vanished without a close frame), so the constructor does not
 * validate; `session.close(reason)` checks that the code may be sent.
 *
 * @example
 * await session.close(new CloseReason(CloseReason.Codes.NORMAL, 'Client said BYE'))
 */
export class CloseReason {
  /** The known close codes (`CloseReason.Codes.NORMAL` is 1000, …). */
  static readonly Codes = Codes

  /** The close code. */
  readonly code: number
  /** The close message (UTF-8, at most 123 bytes on the wire). */
  readonly message: string

  /**
   * @param code - The close code, e.g. `CloseReason.Codes.NORMAL`.
   * @param message - Why; empty by default.
   */
  constructor(code: number, message = '') {
    this.code = code
    this.message = message
  }

  /** The name of the code when it is one of {@link CloseReason.Codes}, e.g. `'TOO_BIG'`; else `undefined`. */
  get knownReason(): CloseCodeName | undefined {
    return namesByCode.get(this.code)
  }

  /** @returns e.g. `CloseReason(1000 NORMAL, "Client said BYE")`. */
  toString(): string {
    const name = this.knownReason
    return `CloseReason(${this.code}${name ? ` ${name}` : ''}, ${JSON.stringify(this.message)})`
  }
}
