import { randomUUID } from 'node:crypto'
import { defaultSerializer, isStandardSchema, type Serializer } from '@lensync/protocol'
import { defaultPresenceOptions } from '../presence/presenceOptions.ts'
import type { PresenceBus } from '../presence/types.ts'
import type { Logger, Timers } from '../types.ts'
import { defaultPrincipalKey } from './ClientBindings.ts'
import type {
  Authenticate,
  Authorize,
  ErrorLimitOptions,
  RateLimitOptions,
  ResourceConfig,
  SyncRouteOptions,
} from './syncTypes.ts'

/** @internal {@link SyncRouteOptions} with the defaults filled in (storage is resolved by the route). */
export interface _ResolvedSyncOptions {
  readonly serializer: Serializer
  readonly node: string
  readonly authenticate: Authenticate | undefined
  readonly authorize: Authorize | undefined
  readonly principalKey: (principal: unknown) => string
  readonly attribution: ((principal: unknown) => string) | undefined
  readonly resources: ReadonlyMap<string, ResourceConfig>
  readonly allowUnknownResources: boolean
  readonly maxEntityBytes: number
  readonly snapshotPageSize: number
  readonly maxSubscriptions: number
  readonly maxPatchEntries: number
  readonly maxBufferedBytes: number
  readonly maxOutgoingFrameBytes: number
  readonly rateLimit: Required<RateLimitOptions> | false
  readonly maxErrors: Required<ErrorLimitOptions>
  readonly allowedOrigins: ReadonlySet<string> | undefined
  readonly cacheSize: number
  readonly helloTimeout: number
  readonly tombstoneTtl: number | false
  readonly presence: _ResolvedHubPresence
  readonly logger: Logger
  readonly now: () => number
  readonly timers: _ResolvedTimers
}

/** @internal The presence options of the hub, checked; the rooms fill in what is missing. */
export interface _ResolvedHubPresence {
  readonly presenceTimeout: number
  readonly maxPresenceBytes: number
  readonly maxRooms: number
  readonly rate: { readonly perSecond: number; readonly burst: number } | false
  readonly bus: PresenceBus | undefined
}

/**
 * @internal
 * The hub's timers: the `timers` option's (default the global ones), with
 * `setImmediate` always there. A timer the hub starts never keeps the
 * process alive (it is `unref`'d when the handle can be).
 */
export interface _ResolvedTimers {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  setImmediate(callback: () => void): unknown
}

const globalHubTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: handle => clearTimeout(handle as ReturnType<typeof setTimeout>),
  setImmediate: callback => setImmediate(callback),
}

/** The injected timers as the hub uses them: unref'd timeouts; `setImmediate` or, without it, `setTimeout(…, 0)`. */
function resolveTimers(timers: Timers): _ResolvedTimers {
  const immediate = timers.setImmediate?.bind(timers)
  return {
    setTimeout(callback, ms) {
      const handle = timers.setTimeout(callback, ms)
      ;(handle as { unref?: () => void } | null)?.unref?.()
      return handle
    },
    clearTimeout: handle => timers.clearTimeout(handle),
    setImmediate: immediate ?? (callback => timers.setTimeout(callback, 0)),
  }
}

/** The documented defaults of the hub's limits. */
export const defaultSyncLimits = Object.freeze({
  maxEntityBytes: 1 << 19,
  snapshotPageSize: 500,
  maxSubscriptions: 1000,
  maxPatchEntries: 10_000,
  maxBufferedBytes: 4 << 20,
  maxOutgoingFrameBytes: 1 << 20,
  rateLimit: Object.freeze({ perSecond: 200, burst: 1000, closeAfter: 100 }),
  maxErrors: Object.freeze({ count: 20, windowMs: 10_000 }),
  cacheSize: 10_000,
  helloTimeout: 10_000,
  tombstoneTtl: 30 * 86_400_000,
})

/**
 * @internal
 * Merges the options over the defaults once and checks them, so a mistake
 * fails where the route is made, with a message that names the option.
 *
 * @throws TypeError naming the bad option and what is allowed.
 */
export function _resolveSyncOptions(options: SyncRouteOptions, where: string): _ResolvedSyncOptions {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`${where}: options must be an object, got ${describe(options)}`)
  const fail = (name: string, what: string, value: unknown): never => {
    throw new TypeError(`${where}: ${name} must be ${what}, got ${describe(value)}`)
  }
  const integer = (name: string, value: unknown, fallback: number, min: number, what: string): number => {
    if (value === undefined) return fallback
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
      fail(name, `an integer >= ${min} (${what})`, value)
    return value as number
  }
  const fn = <T>(name: string, value: unknown): T | undefined => {
    if (value !== undefined && typeof value !== 'function') fail(name, 'a function', value)
    return value as T | undefined
  }

  const serializer = options.serializer ?? defaultSerializer
  if (typeof serializer?.serialize !== 'function' || typeof serializer.deserialize !== 'function')
    fail('serializer', 'an object with serialize() and deserialize()', serializer)
  const node = options.node ?? randomUUID().slice(0, 8)
  if (typeof node !== 'string' || node === '') fail('node', 'a non-empty string', node)

  const resources = new Map<string, ResourceConfig>()
  if (options.resources !== undefined) {
    if (typeof options.resources !== 'object' || options.resources === null)
      fail('resources', 'an object such as { person: { schema } }', options.resources)
    for (const [name, config] of Object.entries(options.resources)) {
      if (typeof config !== 'object' || config === null)
        fail(`resources.${name}`, 'an object such as { schema }', config)
      if (config.schema !== undefined && !isStandardSchema(config.schema))
        fail(`resources.${name}.schema`, 'a Standard Schema (zod, valibot, arktype …)', config.schema)
      if (config.onChange !== undefined && typeof config.onChange !== 'function')
        fail(
          `resources.${name}.onChange`,
          'a function ({ id, rev, value, previous, change, principal }) => …',
          config.onChange,
        )
      resources.set(name, config)
    }
  }
  const allowUnknownResources = options.allowUnknownResources ?? true
  if (typeof allowUnknownResources !== 'boolean')
    fail('allowUnknownResources', 'a boolean', allowUnknownResources)

  let rateLimit: Required<RateLimitOptions> | false = defaultSyncLimits.rateLimit
  if (options.rateLimit === false) rateLimit = false
  else if (options.rateLimit !== undefined) {
    if (typeof options.rateLimit !== 'object' || options.rateLimit === null)
      fail('rateLimit', 'false or { perSecond, burst, closeAfter }', options.rateLimit)
    const given = options.rateLimit as RateLimitOptions
    const defaults = defaultSyncLimits.rateLimit
    rateLimit = {
      perSecond: integer('rateLimit.perSecond', given.perSecond, defaults.perSecond, 1, 'tokens per second'),
      burst: integer('rateLimit.burst', given.burst, defaults.burst, 1, 'bucket size'),
      closeAfter: integer('rateLimit.closeAfter', given.closeAfter, defaults.closeAfter, 1, 'rejections'),
    }
  }
  const errorsGiven = options.maxErrors ?? {}
  if (typeof errorsGiven !== 'object' || errorsGiven === null)
    fail('maxErrors', '{ count, windowMs }', errorsGiven)
  const maxErrors = {
    count: integer('maxErrors.count', errorsGiven.count, defaultSyncLimits.maxErrors.count, 1, 'errors'),
    windowMs: integer(
      'maxErrors.windowMs',
      errorsGiven.windowMs,
      defaultSyncLimits.maxErrors.windowMs,
      1,
      'milliseconds',
    ),
  }
  let allowedOrigins: Set<string> | undefined
  if (options.allowedOrigins !== undefined) {
    if (!Array.isArray(options.allowedOrigins) || options.allowedOrigins.some(o => typeof o !== 'string'))
      fail(
        'allowedOrigins',
        "an array of origins such as ['https://app.example.com']",
        options.allowedOrigins,
      )
    allowedOrigins = new Set(options.allowedOrigins)
  }
  const logger = options.logger ?? (console as Logger)
  if (typeof logger?.error !== 'function') fail('logger', 'an object with an error() method', logger)
  const timers = options.timers ?? globalHubTimers
  if (
    typeof timers?.setTimeout !== 'function' ||
    typeof timers.clearTimeout !== 'function' ||
    (timers.setImmediate !== undefined && typeof timers.setImmediate !== 'function')
  )
    fail('timers', 'an object with setTimeout() and clearTimeout() (and optionally setImmediate())', timers)

  let presenceRate: _ResolvedHubPresence['rate'] = defaultPresenceOptions.rate
  if (options.presenceRate === false) presenceRate = false
  else if (options.presenceRate !== undefined) {
    if (typeof options.presenceRate !== 'object' || options.presenceRate === null)
      fail('presenceRate', 'false or { perSecond, burst }', options.presenceRate)
    const given = options.presenceRate
    const defaults = defaultPresenceOptions.rate
    presenceRate = {
      perSecond: integer(
        'presenceRate.perSecond',
        given.perSecond,
        defaults.perSecond,
        1,
        'updates per second',
      ),
      burst: integer('presenceRate.burst', given.burst, defaults.burst, 1, 'bucket size'),
    }
  }
  const presenceBus = options.presenceBus
  if (
    presenceBus !== undefined &&
    (typeof presenceBus?.start !== 'function' || typeof presenceBus.publish !== 'function')
  )
    fail('presenceBus', 'a PresenceBus (localPresenceBus() or redisPresenceBus(…))', presenceBus)
  const presence: _ResolvedHubPresence = Object.freeze({
    presenceTimeout: integer(
      'presenceTimeout',
      options.presenceTimeout,
      defaultPresenceOptions.presenceTimeout,
      1,
      'milliseconds',
    ),
    maxPresenceBytes: integer(
      'maxPresenceBytes',
      options.maxPresenceBytes,
      defaultPresenceOptions.maxPresenceBytes,
      1,
      'bytes per presence state',
    ),
    maxRooms: integer(
      'maxPresenceRooms',
      options.maxPresenceRooms,
      defaultPresenceOptions.maxRooms,
      1,
      'presence rooms per connection',
    ),
    rate: presenceRate,
    bus: presenceBus,
  })

  return Object.freeze({
    serializer,
    node,
    authenticate: fn<Authenticate>('authenticate', options.authenticate),
    authorize: fn<Authorize>('authorize', options.authorize),
    principalKey:
      fn<(principal: unknown) => string>('principalKey', options.principalKey) ?? defaultPrincipalKey,
    attribution: fn<(principal: unknown) => string>('attribution', options.attribution),
    resources,
    allowUnknownResources,
    maxEntityBytes: integer(
      'maxEntityBytes',
      options.maxEntityBytes,
      defaultSyncLimits.maxEntityBytes,
      1,
      'bytes per entity',
    ),
    snapshotPageSize: integer(
      'snapshotPageSize',
      options.snapshotPageSize,
      defaultSyncLimits.snapshotPageSize,
      1,
      'entities per page',
    ),
    maxSubscriptions: integer(
      'maxSubscriptions',
      options.maxSubscriptions,
      defaultSyncLimits.maxSubscriptions,
      1,
      'subscriptions per connection',
    ),
    maxPatchEntries: integer(
      'maxPatchEntries',
      options.maxPatchEntries,
      defaultSyncLimits.maxPatchEntries,
      1,
      'set + unset entries per patch',
    ),
    maxBufferedBytes: integer(
      'maxBufferedBytes',
      options.maxBufferedBytes,
      defaultSyncLimits.maxBufferedBytes,
      1,
      'bytes held for one connection',
    ),
    maxOutgoingFrameBytes: integer(
      'maxOutgoingFrameBytes',
      options.maxOutgoingFrameBytes,
      defaultSyncLimits.maxOutgoingFrameBytes,
      1,
      'characters per frame sent',
    ),
    rateLimit,
    maxErrors,
    allowedOrigins,
    cacheSize: integer('cacheSize', options.cacheSize, defaultSyncLimits.cacheSize, 0, 'cached entities'),
    helloTimeout: integer(
      'helloTimeout',
      options.helloTimeout,
      defaultSyncLimits.helloTimeout,
      1,
      'milliseconds to wait for an accepted hello',
    ),
    tombstoneTtl:
      options.tombstoneTtl === false
        ? false
        : integer(
            'tombstoneTtl',
            options.tombstoneTtl,
            defaultSyncLimits.tombstoneTtl,
            1,
            'milliseconds a tombstone is kept, or false to keep them for ever',
          ),
    presence,
    logger,
    now: fn<() => number>('now', options.now) ?? (() => performance.now()),
    timers: resolveTimers(timers),
  })
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}
