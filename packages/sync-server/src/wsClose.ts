import { Buffer } from 'node:buffer'
import { CloseReason } from './CloseReason.ts'
import { ServerError } from './ServerError.ts'

/** Close codes ws puts on its protocol errors, by the error's `code`. */
const protocolErrorCodes: Record<string, number> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
}

/**
 * @internal
 * The reason in a `ws` `'close'` event: 1005 (a close frame without a code)
 * is `null`, as in Ktor; anything else is kept, 1006 included.
 */
export function _closeReasonOf(code: number, reason: Buffer): CloseReason | null {
  return code === 1005 ? null : new CloseReason(code, reason.toString('utf8'))
}

/**
 * @internal
 * The close code ws closes with after a protocol error it reported, or
 * `undefined` for other errors (e.g. a reset connection).
 */
export function _protocolErrorReason(error: Error): CloseReason | undefined {
  // ws keeps the code under a private symbol named 'status-code'.
  const symbol = Object.getOwnPropertySymbols(error).find(s => s.description === 'status-code')
  const fromSymbol = symbol === undefined ? undefined : (error as unknown as Record<symbol, unknown>)[symbol]
  const code =
    typeof fromSymbol === 'number' ? fromSymbol : protocolErrorCodes[(error as { code?: string }).code ?? '']
  return code === undefined ? undefined : new CloseReason(code, error.message)
}

/** Whether a code may be put in a close frame (RFC 6455 §7.4). */
function isSendable(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999))
  )
}

/**
 * @internal
 * A reason as it can go on the wire: the code checked, the message cut to
 * 123 UTF-8 bytes without splitting a character.
 *
 * @throws ServerError `BAD_CLOSE_REASON` for a code that may not be sent.
 */
export function _sendableReason(reason: CloseReason): { code: number; message: string } {
  if (!(reason instanceof CloseReason) || !isSendable(reason.code)) {
    throw new ServerError(
      'BAD_CLOSE_REASON',
      `close(reason): ${reason instanceof CloseReason ? `code ${reason.code}` : String(reason)} cannot be sent; ` +
        'pass a CloseReason with a code in 1000–1003, 1007–1014 or 3000–4999',
    )
  }
  let message = reason.message
  if (Buffer.byteLength(message) > 123) {
    const bytes = Buffer.from(message).subarray(0, 123)
    // Drop a partial trailing character: decoding would turn it into U+FFFD.
    message = bytes.toString('utf8').replace(/\uFFFD$/u, '')
    while (Buffer.byteLength(message) > 123) message = message.slice(0, -1)
  }
  return { code: reason.code, message }
}
