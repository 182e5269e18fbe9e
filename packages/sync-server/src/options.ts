import { randomUUID } from 'node:crypto'
import type { AppOptions, Logger, ResolvedAppOptions, Timers } from './types.ts'

/** @internal The global timers, bound so they can be passed around. */
const globalTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: handle => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/**
 * A random UUID as a flat string. `crypto.randomUUID()` returns a rope of
 * ~14 concatenated pieces (~450 bytes of heap); a session keeps its id for
 * its whole life, so it is copied into one 36-character string (~56 bytes).
 */
function flatUuid(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1')
}

/** The defaults of {@link AppOptions}, in one place. */
export const defaultAppOptions: ResolvedAppOptions = Object.freeze({
  pingPeriod: 30_000,
  timeout: 15_000,
  maxFrameSize: 1 << 20,
  perMessageDeflate: false,
  maxBufferedBytes: 4 << 20,
  closeTimeout: 5_000,
  logger: console as Logger,
  timers: globalTimers,
  createId: flatUuid,
})

/**
 * @internal
 * Merges options over the defaults once and validates them, so a mistake
 * fails at `createApp` with a message that names the option, not later.
 * Unknown keys are ignored, so one options object can feed `createApp` and
 * the routes built on it.
 *
 * @param options - What the user passed.
 * @returns Every option, filled in.
 * @throws TypeError naming the bad option and what is allowed.
 */
export function _resolveAppOptions(options: AppOptions = {}): ResolvedAppOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`createApp(options): options must be an object, got ${describe(options)}`)
  }
  const resolved = { ...defaultAppOptions }
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (resolved as Record<string, unknown>)[key] = value
  }
  checkInteger('pingPeriod', resolved.pingPeriod, 0, 'milliseconds between pings, 0 to disable')
  checkInteger('timeout', resolved.timeout, 1, 'milliseconds to wait for a pong')
  checkInteger('maxFrameSize', resolved.maxFrameSize, 1, 'bytes per message', 0x7fffffff)
  checkInteger('maxBufferedBytes', resolved.maxBufferedBytes, 1, 'bytes a session may have unsent')
  checkInteger('closeTimeout', resolved.closeTimeout, 1, 'milliseconds to wait for the close handshake')
  const deflate = resolved.perMessageDeflate
  if (typeof deflate !== 'boolean' && (typeof deflate !== 'object' || deflate === null)) {
    throw new TypeError(
      `createApp(options): perMessageDeflate must be a boolean or ws's PerMessageDeflateOptions object, got ${describe(deflate)}`,
    )
  }
  const logger = resolved.logger as unknown
  if (typeof logger !== 'object' || logger === null || typeof (logger as Logger).error !== 'function') {
    throw new TypeError(
      `createApp(options): logger must be an object with an error() method (e.g. console), got ${describe(logger)}`,
    )
  }
  const timers = resolved.timers as unknown
  if (
    typeof timers !== 'object' ||
    timers === null ||
    typeof (timers as Timers).setTimeout !== 'function' ||
    typeof (timers as Timers).clearTimeout !== 'function'
  ) {
    throw new TypeError(
      `createApp(options): timers must be an object with setTimeout() and clearTimeout(), got ${describe(timers)}`,
    )
  }
  if (typeof resolved.createId !== 'function') {
    throw new TypeError(
      `createApp(options): createId must be a function returning a unique string, got ${describe(resolved.createId)}`,
    )
  }
  return Object.freeze(resolved)
}

/**
 * @internal
 * Checks one numeric option.
 *
 * @throws TypeError naming the option and the allowed range.
 */
export function _checkInteger(
  where: string,
  name: string,
  value: unknown,
  min: number,
  meaning: string,
  max = Number.MAX_SAFE_INTEGER,
): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
    throw new TypeError(`${where}: ${name} must be an integer ${range} (${meaning}), got ${describe(value)}`)
  }
}

function checkInteger(name: string, value: unknown, min: number, meaning: string, max?: number): void {
  _checkInteger('createApp(options)', name, value, min, meaning, max)
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}
