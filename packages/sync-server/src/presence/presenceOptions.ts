import type { Logger, Timers } from '../types.ts'
import { localPresenceBus } from './localPresenceBus.ts'
import type {
  PresenceAuthorize,
  PresenceBroadcast,
  PresenceBus,
  PresenceMember,
  PresenceRoomsOptions,
  PresenceSend,
} from './types.ts'

/** The documented defaults of presence. */
export const defaultPresenceOptions = Object.freeze({
  presenceTimeout: 30_000,
  maxPresenceBytes: 4096,
  maxRooms: 100,
  rate: Object.freeze({ perSecond: 40, burst: 80 }),
})

/** @internal {@link PresenceRoomsOptions} with the defaults filled in. */
export interface _ResolvedPresenceOptions<M extends PresenceMember> {
  readonly send: PresenceSend<M>
  readonly broadcast: PresenceBroadcast<M> | undefined
  readonly authorize: PresenceAuthorize<M> | undefined
  readonly bus: PresenceBus
  readonly presenceTimeout: number
  readonly maxPresenceBytes: number
  readonly maxRooms: number
  readonly rate: { readonly perSecond: number; readonly burst: number } | false
  readonly timers: Timers
  readonly now: () => number
  readonly logger: Logger
}

// Looked up when used, so fake timers installed after the rooms were made still apply.
const globalTimers: Timers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: handle => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/**
 * @internal
 * Merges the options over the defaults once and checks them.
 *
 * @throws TypeError naming the bad option and what is allowed.
 */
export function _resolvePresenceOptions<M extends PresenceMember>(
  options: PresenceRoomsOptions<M>,
): _ResolvedPresenceOptions<M> {
  const where = 'createPresenceRooms(options)'
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`${where}: options must be an object such as { send }`)
  const fail = (name: string, what: string, value: unknown): never => {
    throw new TypeError(`${where}: ${name} must be ${what}, got ${describe(value)}`)
  }
  const integer = (name: string, value: unknown, fallback: number, what: string): number => {
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
      fail(name, `an integer >= 1 (${what})`, value)
    return value as number
  }
  const fn = <T>(name: string, value: unknown): T | undefined => {
    if (value !== undefined && typeof value !== 'function') fail(name, 'a function', value)
    return value as T | undefined
  }
  const send = fn<PresenceSend<M>>('send', options.send)
  if (send === undefined) fail('send', 'a function (member, text) => void', options.send)
  const bus = options.bus ?? localPresenceBus()
  if (typeof bus?.start !== 'function' || typeof bus.publish !== 'function')
    fail('bus', 'a PresenceBus (localPresenceBus() or redisPresenceBus(…))', bus)
  let rate: _ResolvedPresenceOptions<M>['rate'] = defaultPresenceOptions.rate
  if (options.rate === false) rate = false
  else if (options.rate !== undefined) {
    if (typeof options.rate !== 'object' || options.rate === null)
      fail('rate', 'false or { perSecond, burst }', options.rate)
    const given = options.rate
    rate = {
      perSecond: integer('rate.perSecond', given.perSecond, defaultPresenceOptions.rate.perSecond, 'updates'),
      burst: integer('rate.burst', given.burst, defaultPresenceOptions.rate.burst, 'bucket size'),
    }
  }
  const timers = options.timers ?? globalTimers
  if (typeof timers?.setTimeout !== 'function' || typeof timers.clearTimeout !== 'function')
    fail('timers', 'an object with setTimeout and clearTimeout', timers)
  const logger = options.logger ?? (console as Logger)
  if (typeof logger?.error !== 'function') fail('logger', 'an object with an error() method', logger)
  return Object.freeze({
    send: send as PresenceSend<M>,
    broadcast: fn<PresenceBroadcast<M>>('broadcast', options.broadcast),
    authorize: fn<PresenceAuthorize<M>>('authorize', options.authorize),
    bus,
    presenceTimeout: integer(
      'presenceTimeout',
      options.presenceTimeout,
      defaultPresenceOptions.presenceTimeout,
      'milliseconds',
    ),
    maxPresenceBytes: integer(
      'maxPresenceBytes',
      options.maxPresenceBytes,
      defaultPresenceOptions.maxPresenceBytes,
      'bytes per state',
    ),
    maxRooms: integer('maxRooms', options.maxRooms, defaultPresenceOptions.maxRooms, 'rooms per connection'),
    rate,
    timers,
    now: fn<() => number>('now', options.now) ?? (() => performance.now()),
    logger,
  })
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}
