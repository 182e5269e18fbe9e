import { Buffer } from 'node:buffer'
import type { ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { HttpResponseInit, HttpResult } from './types.ts'

const responseKeys = new Set(['status', 'body', 'headers'])

/** Whether a handler's result is an {@link HttpResponseInit} rather than a JSON body. */
function isResponseInit(value: object): value is HttpResponseInit {
  const status = (value as { status?: unknown }).status
  return (
    typeof status === 'number' &&
    Number.isInteger(status) &&
    status >= 100 &&
    status <= 999 &&
    Object.keys(value).every(key => responseKeys.has(key))
  )
}

/**
 * @internal
 * Writes what an HTTP route returned: an object as JSON, a string as text,
 * bytes as octet-stream, an {@link HttpResponseInit} as given, nothing as 204.
 */
export function _writeHttpResult(res: ServerResponse, result: HttpResult, head: boolean): void {
  let status = 200
  let headers: Record<string, string> = {}
  let body: unknown = result
  if (
    typeof result === 'object' &&
    result !== null &&
    !(result instanceof Uint8Array) &&
    isResponseInit(result)
  ) {
    status = result.status
    headers = { ...result.headers }
    body = result.body
  }
  let payload: Buffer | undefined
  let type: string | undefined
  if (body === undefined || body === null) {
    if (status === 200) status = 204
  } else if (typeof body === 'string') {
    payload = Buffer.from(body, 'utf8')
    type = 'text/plain; charset=utf-8'
  } else if (body instanceof Uint8Array) {
    payload = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    type = 'application/octet-stream'
  } else {
    payload = Buffer.from(JSON.stringify(body), 'utf8')
    type = 'application/json; charset=utf-8'
  }
  const hasType = Object.keys(headers).some(key => key.toLowerCase() === 'content-type')
  if (type && !hasType) headers['content-type'] = type
  headers['content-length'] = String(payload?.byteLength ?? 0)
  res.writeHead(status, headers)
  res.end(head ? undefined : payload)
}

/** @internal A plain-text HTTP answer (404, 405, 500…). */
export function _writePlain(
  res: ServerResponse,
  status: number,
  text: string,
  extra: Record<string, string> = {},
) {
  const payload = Buffer.from(text, 'utf8')
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(payload.byteLength),
    ...extra,
  })
  res.end(payload)
}

/** @internal Refuses a WebSocket upgrade with an HTTP status and drops the socket. */
export function _refuseUpgrade(socket: Duplex, status: number, text: string): void {
  // A late error on a socket we are dropping anyway must not crash the process.
  socket.on('error', () => {})
  if (!socket.writable) {
    socket.destroy()
    return
  }
  // As ws's own abortHandshake: end, then destroy once written, so the answer is not cut off.
  socket.once('finish', () => socket.destroy())
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  )
}
