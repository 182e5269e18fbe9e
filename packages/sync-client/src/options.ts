import { LATEST_PROTOCOL_VERSION } from '@lensync/protocol'
import { defaultReconnect } from './backoff.ts'
import { ConnectionError } from './errors.ts'
import { opSequenceFor, randomClientId } from './OpSequence.ts'
import type {
  ReconnectOptions,
  ResolvedReconnectOptions,
  SocketOptions,
  Timers,
  WebSocketConstructor,
  WebSocketOptions,
} from './types.ts'

// Looked up on every call, so fake timers installed after `websocket()` still apply.
/** @internal The global timers, looked up on every call. */
export const globalTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: handle => globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
}

function badOption(message: string): ConnectionError {
  return new ConnectionError('BAD_OPTION', message)
}

function checkNumber(name: string, value: number, min: number, max = Number.POSITIVE_INFINITY): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `a number ≥ ${min}` : `a number from ${min} to ${max}`
    throw badOption(`Option ${name} must be ${range}; got ${String(value)}`)
  }
}

/**
 * Merges reconnect settings over `base` and validates them.
 * @param value - `true`/`false` or settings.
 * @param base - What `true` and missing settings mean.
 * @returns The resolved settings.
 * @internal
 */
export function resolveReconnect(
  value: boolean | ReconnectOptions | undefined,
  base: ResolvedReconnectOptions,
): ResolvedReconnectOptions {
  if (value === undefined) return base
  if (typeof value === 'boolean') return { ...base, enabled: value }
  if (typeof value !== 'object' || value === null) {
    throw badOption(
      `Option reconnect must be true, false or { minDelay, maxDelay, factor, jitter, resetAfter }`,
    )
  }
  const merged: ResolvedReconnectOptions = {
    enabled: true,
    minDelay: value.minDelay ?? base.minDelay,
    maxDelay: value.maxDelay ?? base.maxDelay,
    factor: value.factor ?? base.factor,
    jitter: value.jitter ?? base.jitter,
    resetAfter: value.resetAfter ?? base.resetAfter,
  }
  checkNumber('reconnect.minDelay', merged.minDelay, 0)
  checkNumber('reconnect.maxDelay', merged.maxDelay, merged.minDelay)
  checkNumber('reconnect.factor', merged.factor, 1)
  checkNumber('reconnect.jitter', merged.jitter, 0, 1)
  checkNumber('reconnect.resetAfter', merged.resetAfter, 0)
  return Object.freeze(merged)
}

// RFC 6455 subprotocol names are RFC 7230 tokens.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function resolveProtocols(protocols: string | readonly string[] | undefined): readonly string[] {
  const list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols]
  const seen = new Set<string>()
  for (const protocol of list) {
    if (typeof protocol !== 'string' || !TOKEN.test(protocol)) {
      throw new ConnectionError(
        'BAD_PROTOCOL',
        `Subprotocol ${JSON.stringify(protocol)} is not a valid token (letters, digits and !#$%&'*+-.^_\`|~)`,
      )
    }
    if (seen.has(protocol)) {
      throw new ConnectionError('BAD_PROTOCOL', `Subprotocol "${protocol}" is given twice; list each once`)
    }
    seen.add(protocol)
  }
  return Object.freeze(list)
}

function resolveWebSocket(given: WebSocketConstructor | undefined): WebSocketConstructor {
  if (given !== undefined) {
    if (typeof given !== 'function') throw badOption('Option WebSocket must be a WebSocket constructor')
    return given
  }
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (typeof global === 'function') return global
  throw new ConnectionError(
    'NO_WEBSOCKET',
    'No WebSocket constructor: globalThis.WebSocket is missing (Node before 22). ' +
      "Pass one: `import { WebSocket } from 'ws'` and websocket(url, { WebSocket })",
  )
}

function resolveOnline(given: EventTarget | null | undefined): EventTarget | null {
  if (given !== undefined) return given
  const global = globalThis as { addEventListener?: unknown }
  return typeof global.addEventListener === 'function' ? (globalThis as unknown as EventTarget) : null
}

/**
 * Fills in the defaults of `websocket()` options and validates them, so that
 * mistakes surface where the socket is made rather than at the first connect.
 * @internal
 */
export function resolveOptions(options: WebSocketOptions): SocketOptions {
  if (typeof options !== 'object' || options === null)
    throw badOption('The options of websocket() must be an object')
  const binaryType = options.binaryType ?? 'arraybuffer'
  if (binaryType !== 'arraybuffer' && binaryType !== 'blob') {
    throw badOption(`Option binaryType must be 'arraybuffer' or 'blob'; got ${String(binaryType)}`)
  }
  const maxQueue = options.maxQueue ?? 1000
  checkNumber('maxQueue', maxQueue, 0)
  const maxBuffer = options.maxBuffer ?? 1000
  checkNumber('maxBuffer', maxBuffer, 0)
  const token = options.token
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'function') {
    throw badOption('Option token must be a string or a function returning one (or a promise of one)')
  }
  const timers = options.timers ?? globalTimers
  if (typeof timers.setTimeout !== 'function' || typeof timers.clearTimeout !== 'function') {
    throw badOption('Option timers must have setTimeout and clearTimeout functions')
  }
  const random = options.random ?? Math.random
  if (typeof random !== 'function')
    throw badOption('Option random must be a function returning a number in [0, 1)')
  const given = options.clientId
  if (given !== undefined && (typeof given !== 'string' || given.length === 0 || given.length > 256)) {
    throw badOption(
      `Option clientId must be a non-empty string of at most 256 characters; got ${String(given)}`,
    )
  }
  const cache = options.cache
  if (
    cache !== undefined &&
    (typeof cache !== 'object' ||
      cache === null ||
      typeof cache.enqueue !== 'function' ||
      typeof cache.subscribe !== 'function')
  ) {
    throw badOption('Option cache must be a cache made by indexedDbCache() or memoryCache()')
  }
  const protocolVersion = options.protocolVersion ?? LATEST_PROTOCOL_VERSION
  if (
    !Number.isInteger(protocolVersion) ||
    protocolVersion < 1 ||
    protocolVersion > LATEST_PROTOCOL_VERSION
  ) {
    throw badOption(
      `Option protocolVersion must be an integer from 1 to ${LATEST_PROTOCOL_VERSION}; got ${String(protocolVersion)}`,
    )
  }
  return Object.freeze({
    protocols: resolveProtocols(options.protocols),
    WebSocket: resolveWebSocket(options.WebSocket),
    reconnect: resolveReconnect(options.reconnect, { ...defaultReconnect, enabled: false }),
    token,
    binaryType,
    maxQueue,
    maxBuffer,
    timers,
    random,
    online: resolveOnline(options.online),
    clientId: given ?? randomClientId(),
    cache,
    protocolVersion,
    _ops: opSequenceFor(given !== undefined),
  })
}

function badUrl(url: unknown, why: string, cause?: unknown): ConnectionError {
  return new ConnectionError('BAD_URL', `Cannot use ${JSON.stringify(url)} as a WebSocket URL: ${why}`, {
    cause,
  })
}

/**
 * Validates a WebSocket URL and normalizes it: `http:`/`https:` become
 * `ws:`/`wss:`, a relative URL is resolved against the page (browsers).
 * @internal
 */
export function normalizeUrl(url: string): string {
  if (typeof url !== 'string' || url === '')
    throw badUrl(url, 'expected a non-empty string like "ws://host:port/path"')
  const base = (globalThis as { location?: { href?: string } }).location?.href
  let parsed: URL
  try {
    parsed = new URL(url, base)
  } catch (cause) {
    const why = base === undefined ? 'expected an absolute URL like "ws://host:port/path"' : 'not a valid URL'
    throw badUrl(url, why, cause)
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:'
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:'
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw badUrl(url, `the scheme must be ws: or wss: (or http:/https:), not ${parsed.protocol}`)
  }
  if (parsed.hash !== '' || url.includes('#')) throw badUrl(url, 'a WebSocket URL cannot have a #fragment')
  return parsed.href
}

/**
 * Appends a sub-path (and optional `?query`) to a WebSocket URL:
 * `ws://h/sync` + `/room-1` → `ws://h/sync/room-1`; query parameters of both are kept.
 * @internal
 */
export function appendToUrl(url: string, sub: string): string {
  if (typeof sub !== 'string') throw badUrl(sub, 'append() takes a string path like "/room-1"')
  if (sub.includes('#')) throw badUrl(sub, 'a WebSocket URL cannot have a #fragment')
  const parsed = new URL(url)
  const queryAt = sub.indexOf('?')
  const path = queryAt === -1 ? sub : sub.slice(0, queryAt)
  if (path !== '') {
    const head = parsed.pathname.endsWith('/') ? parsed.pathname.slice(0, -1) : parsed.pathname
    parsed.pathname = `${head}/${path.startsWith('/') ? path.slice(1) : path}`
  }
  if (queryAt !== -1) {
    for (const [key, value] of new URLSearchParams(sub.slice(queryAt + 1)))
      parsed.searchParams.append(key, value)
  }
  return normalizeUrl(parsed.href)
}
