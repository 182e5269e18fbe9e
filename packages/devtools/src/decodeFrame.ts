import { createFrameDecoder, type FrameDecoder, ProtocolError, parseFrame } from '@lensync/protocol'
import type { Frame } from '@lensync/sync-client'
import type { LoggedFrame, LoggedMessage } from './types.ts'

type Fields = Record<string, unknown>

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined)

/** `.a.b` for a wire path `['a', 'b']`. */
function pathText(path: unknown): string {
  return Array.isArray(path) ? path.map(name => `.${String(name)}`).join('') : '?'
}

/** The field paths a `patch` or `change` sets and unsets, as `.a .b -.c`. */
function fieldsText(m: Fields): string {
  const set = Array.isArray(m.set)
    ? m.set.map(entry => pathText(Array.isArray(entry) ? entry[0] : entry))
    : []
  const unset = Array.isArray(m.unset) ? m.unset.map(path => `-${pathText(path)}`) : []
  return [...set, ...unset].join(' ')
}

/** What one message says, in one line. */
function summarize(m: Fields): string {
  const target =
    typeof m.room === 'string'
      ? `room ${m.room}`
      : typeof m.r === 'string'
        ? `${m.r}${typeof m.id === 'string' ? `/${m.id}` : ''}`
        : ''
  const parts: string[] = [target]
  if (typeof m.op === 'number' || typeof m.op === 'string') parts.push(`op ${m.op}`)
  if (typeof m.rev === 'number') parts.push(`rev ${m.rev}`)
  switch (m.t) {
    case 'hello':
      parts.push(
        `client ${str(m.client) ?? '?'}`,
        `v${num(m.v) ?? '?'}`,
        m.token === undefined ? '' : 'with token',
      )
      break
    case 'welcome':
      parts.push(`client ${str(m.client) ?? '?'}`)
      break
    case 'sub':
      if (typeof m.since === 'number') parts.push(`since ${m.since}`)
      break
    case 'patch':
    case 'change':
      parts.push(typeof m.value === 'object' && m.value !== null ? 'whole value' : fieldsText(m))
      break
    case 'put':
      parts.push(m.create === true ? 'create' : 'whole value')
      break
    case 'snap':
      if (Array.isArray(m.items)) parts.push(`${m.items.length} items`)
      else parts.push(m.value === null ? 'absent' : 'value')
      break
    case 'ack':
      if (m.applied === false) parts.push('not applied')
      if (Array.isArray(m.conflicts) && m.conflicts.length > 0) parts.push(`${m.conflicts.length} conflicts`)
      break
    case 'reject':
    case 'error':
      parts.push(`${str(m.code) ?? '?'}: ${str(m.message) ?? ''}`)
      break
    case 'psnap':
      if (Array.isArray(m.peers)) parts.push(`${m.peers.length} members`)
      break
    case 'ppeer':
    case 'pgone':
      parts.push(`client ${str(m.client) ?? '?'}`)
      break
  }
  return parts.filter(part => part !== '').join(' · ')
}

function logged(raw: unknown, body: unknown, problem: string | undefined): LoggedMessage {
  const m = (typeof body === 'object' && body !== null ? body : {}) as Fields
  return {
    type: str(m.t) ?? '?',
    resource: str(m.r),
    id: str(m.id),
    room: str(m.room),
    op: typeof m.op === 'number' || typeof m.op === 'string' ? m.op : undefined,
    summary: problem === undefined ? summarize(m) : `${summarize(m)} — ${problem}`.replace(/^ · /, ''),
    body: problem === undefined ? body : raw,
    problem,
  }
}

/**
 * Decodes a frame for the log with `@lensync/protocol`'s frame decoder, so
 * it follows the protocol as it changes (version 2's compact envelopes
 * included): each envelope is read as the receiving side reads it and
 * checked by the protocol's parsers. A message that does not pass is still
 * listed, with the parser's reason.
 *
 * @param frame - The frame as `socket.frames` delivered it.
 * @param seq - Its number in the log.
 * @param decoder - The decoder of the frame's connection (version 2 envelopes
 *   depend on earlier frames of it); default a fresh one.
 * @returns The logged frame.
 */
export function decodeFrame(
  frame: Frame,
  seq: number,
  decoder: FrameDecoder = createFrameDecoder(),
): LoggedFrame {
  const base = { seq, direction: frame.direction, time: frame.time, size: frame.size }
  if (frame.text === undefined) {
    return { ...base, messages: [logged(undefined, { t: 'binary' }, 'a binary frame')] }
  }
  const raws = parseFrame(frame.text)
  const rawAt = (i: number): unknown => (raws instanceof ProtocolError ? frame.text : raws[i])
  if (frame.direction === 'out') {
    // The connection hands over what it wrote: exact even for a panel
    // mounted after the version 2 handles were given.
    if (frame.messages !== undefined) {
      return { ...base, messages: frame.messages.map((message, i) => logged(rawAt(i), message, undefined)) }
    }
    const decoded = decoder.client(frame.text)
    if (decoded instanceof ProtocolError)
      return { ...base, messages: [logged(frame.text, {}, decoded.message)] }
    return {
      ...base,
      messages: decoded.map((message, i) =>
        message instanceof ProtocolError
          ? logged(rawAt(i), rawAt(i), message.message)
          : logged(rawAt(i), message, undefined),
      ),
    }
  }
  const decoded = frame.messages ?? decoder.server(frame.text)
  if (decoded instanceof ProtocolError)
    return { ...base, messages: [logged(frame.text, {}, decoded.message)] }
  return {
    ...base,
    messages: decoded.map((parsed, i) =>
      parsed.ok
        ? logged(rawAt(i), parsed.message, undefined)
        : logged(rawAt(i), rawAt(i), parsed.error.message),
    ),
  }
}

/**
 * Whether a frame sent by the client opens a connection (holds its `hello`):
 * the frames after it need a fresh decoder.
 *
 * @param frame - A frame.
 * @returns true for a client frame with a `hello`.
 */
export function startsConnection(frame: Frame): boolean {
  if (frame.direction !== 'out' || frame.text === undefined || !frame.text.includes('hello')) return false
  const raws = parseFrame(frame.text)
  return !(raws instanceof ProtocolError) && raws.some(raw => (raw as { t?: unknown } | null)?.t === 'hello')
}
