import { _toWire, PreparedMessage, prepareMessage } from './frame.ts'
import type { ServerSession } from './ServerSession.ts'

/**
 * Sends one message to many sessions for the cost of encoding it once: the
 * text is turned into UTF-8 a single time and every socket writes the same
 * buffer. It does not wait for any socket, so one slow peer never holds up
 * the others; a session over `maxBufferedBytes` is closed with 1013, and
 * closed sessions are skipped.
 *
 * @param sessions - Who gets it.
 * @param data - Text, bytes or a {@link PreparedMessage}.
 * @returns How many sessions it was queued on.
 * @example
 * sendMany(room.sessions, JSON.stringify({ type: 'change', value }))
 */
export function sendMany(
  sessions: Iterable<ServerSession>,
  data: string | Uint8Array | PreparedMessage,
): number {
  const wire = _toWire(data instanceof PreparedMessage ? data : prepareMessage(data))
  let sent = 0
  for (const session of sessions) if (session._sendQuietly(wire)) sent++
  return sent
}
