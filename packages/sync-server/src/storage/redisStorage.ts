import { randomUUID } from 'node:crypto'
import type { OpId } from '@lensync/protocol'
import type { Redis, RedisOptions } from 'ioredis'
import { _DEFAULT_DEDUP_WINDOW, _dedupOptions, _isFresh, _opKey, type _ResolvedDedup } from './dedupWindow.ts'
import { _RedisFeed } from './RedisFeed.ts'
import { _COMMIT, _COMPACT, _LIST, type _RedisScript } from './redisScripts.ts'
import { _requireOptional } from './requireOptional.ts'
import type {
  AppliedWrite,
  ChangeListener,
  CommitResult,
  ListedEntity,
  ListOptions,
  ListPage,
  Storage,
  StorageWrite,
  StoredEntity,
} from './Storage.ts'

/** Options of {@link redisStorage}. */
export interface RedisStorageOptions {
  /** The server, as a `redis://` or `rediss://` URL. Default `'redis://127.0.0.1:6379'`. */
  url?: string
  /**
   * The first part of every key. Keys look like `{lensync}:e:person`; the
   * braces are a Redis Cluster hash tag, so all of one prefix's keys live in
   * one slot (the scripts need that). Nodes that share data share a prefix.
   * Default `'lensync'`.
   */
  prefix?: string
  /**
   * About how many changes the feed stream keeps (`XADD MAXLEN ~`). A node
   * that falls further behind than this resets: its clients reconnect.
   * Default `10_000`.
   */
  feedLength?: number
  /** More ioredis options (TLS, password, timeouts …); `url` wins for host and port; the protocol is always RESP2. */
  redisOptions?: RedisOptions
  /** Where failed feed reads are reported. Default `console`. */
  logger?: { warn?(message: string, ...details: unknown[]): void }
  /**
   * How long a write applied with an `origin` is remembered (ms), so a
   * resent copy is recognized ({@link Storage.applied}) on every node.
   * Default 7 days (`604_800_000`).
   */
  dedupWindow?: number
  /** The clock applied writes are stamped and aged with. Default `Date.now`; tests inject one. */
  now?: () => number
}

/** The defaults of {@link redisStorage}. */
export const defaultRedisStorageOptions = Object.freeze({
  url: 'redis://127.0.0.1:6379',
  prefix: 'lensync',
  feedLength: 10_000,
  dedupWindow: _DEFAULT_DEDUP_WINDOW,
})

/**
 * Keeps entities in Redis, shared by every server node that uses the same
 * server and prefix. Each commit is one Lua script: it checks every
 * write's expected revision, assigns the next revisions of the resources,
 * stores the values and appends one entry per write to a feed stream, all
 * atomically, so two nodes can never hand out the same revision or lose a
 * field. Every node follows the feed ({@link Storage.watch}) to send its
 * subscribers the changes made through other nodes, in revision order.
 *
 * A write applied with an `origin` is recorded by the same script in a hash
 * per client (`{prefix}:applied:<client>`, op → revision, time, resource
 * and id), whose TTL is set to `dedupWindow` at each of the client's writes:
 * a client's records expire together once it stopped writing for a window;
 * while it goes on, its commits delete its records older than the window a
 * few at a time.
 *
 * Durability is Redis's: acknowledged writes survive a Redis restart only
 * with persistence on (`appendonly yes`, ideally `appendfsync always`).
 *
 * @param options - `url`, `prefix`, `feedLength`, `redisOptions`, `logger`,
 *   `dedupWindow` (default 7 days), `now` (default `Date.now`).
 * @returns The storage; `close()` closes its connections.
 * @throws TypeError naming a bad option.
 * @example
 * const storage = redisStorage({ url: 'redis://127.0.0.1:6379' })
 * app.webSocket('/sync', syncRoute({ storage }))
 */
export function redisStorage(options: RedisStorageOptions = {}): Storage {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('redisStorage(options): options must be an object')
  const { url, prefix, feedLength } = { ...defaultRedisStorageOptions, ...stripUndefined(options) }
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url))
    throw new TypeError(`redisStorage(options): url must be a redis:// or rediss:// URL, got ${String(url)}`)
  if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix))
    throw new TypeError(
      `redisStorage(options): prefix must be a non-empty string without braces, got ${String(prefix)}`,
    )
  if (!Number.isSafeInteger(feedLength) || feedLength < 100)
    throw new TypeError(
      `redisStorage(options): feedLength must be an integer >= 100, got ${String(feedLength)}`,
    )
  const dedup = _dedupOptions('redisStorage', options)
  return new RedisStorage(
    url,
    prefix,
    feedLength,
    options.redisOptions ?? {},
    options.logger ?? console,
    dedup,
  )
}

/** @internal The {@link redisStorage} implementation. */
class RedisStorage implements Storage {
  readonly redis: Redis
  readonly url: string
  readonly feedKey: string
  readonly seqKey: string
  readonly origin = randomUUID()
  private readonly _base: string
  private readonly _revisionsKey: string
  private readonly _feedLength: number
  private readonly _feed: _RedisFeed
  private readonly _logger: NonNullable<RedisStorageOptions['logger']>
  private readonly _dedup: _ResolvedDedup
  /** This storage's writes whose feed entry has not come back yet, by token. */
  private readonly _mine = new Map<string, StorageWrite>()
  private _nextToken = 0
  private _closed: Promise<void> | undefined

  constructor(
    url: string,
    prefix: string,
    feedLength: number,
    redisOptions: RedisOptions,
    logger: NonNullable<RedisStorageOptions['logger']>,
    dedup: _ResolvedDedup,
  ) {
    this._dedup = dedup
    this.url = url.replace(/\/\/[^@/]*@/, '//***@')
    this._base = `{${prefix}}`
    this.feedKey = `${this._base}:feed`
    this.seqKey = `${this._base}:seq`
    this._revisionsKey = `${this._base}:revs`
    this._feedLength = feedLength
    this._logger = logger
    // A command fails after a few reconnect attempts instead of hanging: a
    // failed commit closes its writers' connections, and they resend.
    // RESP2: replies (XREAD, script results) have one shape whatever the client's default.
    // ioredis is an optional peer dependency, loaded by the first Redis storage.
    const ioredis = _requireOptional<typeof import('ioredis')>('ioredis', 'redisStorage')
    this.redis = new ioredis.Redis(url, { maxRetriesPerRequest: 3, ...redisOptions, protocol: 2 })
    this.redis.on('error', error => this.warn('lensync redisStorage: connection error', error))
    this._feed = new _RedisFeed(this)
  }

  async get(resource: string, id: string): Promise<StoredEntity | undefined> {
    // Both in one transaction: the value and the field revisions of one write.
    const replies = await this.redis
      .multi()
      .hget(this._key('e', resource), id)
      .hget(this._key('f', resource), id)
      .exec()
    const [[valueError, stored], [fieldsError, fields]] = replies as [
      [Error | null, string | null],
      [Error | null, string | null],
    ]
    if (valueError || fieldsError) throw valueError ?? fieldsError
    if (stored === null) return undefined
    return fields === null ? { id, ...parseStored(stored) } : { id, ...parseStored(stored), fields }
  }

  async revision(resource: string): Promise<number> {
    return Number((await this.redis.hget(this._revisionsKey, resource)) ?? 0)
  }

  async list(resource: string, options: ListOptions): Promise<ListPage> {
    // Live entities in creation order; with `since`, everything written
    // after it in revision order (an entity rewritten while the listing
    // runs moves behind the cursor and is listed again, never skipped).
    const index = this._key(options.since === undefined ? 'o' : 'w', resource)
    const after = typeof options.after === 'number' ? options.after : options.since
    const found = (await this.run(
      _LIST,
      [index, this._key('e', resource)],
      [after === undefined ? '-inf' : `(${after}`, options.limit + 1],
    )) as string[]
    const entities: ListedEntity[] = []
    for (let i = 0; i + 2 < found.length; i += 3) {
      const stored = found[i + 2] as string
      if (stored === '') continue
      entities.push({ id: found[i] as string, cursor: Number(found[i + 1]), ...parseStored(stored) })
    }
    const more = found.length / 3 > options.limit
    if (more) entities.length = Math.min(entities.length, options.limit)
    return { entities, more }
  }

  async applied(client: string, op: OpId): Promise<AppliedWrite | undefined> {
    const stored = await this.redis.hget(this._appliedKey(client), _opKey(op))
    if (stored === null) return undefined
    const [rev, at, where] = splitRecord(stored)
    if (!_isFresh(at, this._dedup.now(), this._dedup.dedupWindow)) return undefined
    const [resource, id] = JSON.parse(where) as [string, string]
    return { resource, id, rev }
  }

  async commit(writes: readonly StorageWrite[]): Promise<CommitResult[]> {
    if (writes.length === 0) return []
    const keys = [this.feedKey, this.seqKey, this._revisionsKey]
    const args: (string | number)[] = [
      this.origin,
      this._feedLength,
      this._dedup.now(),
      this._dedup.dedupWindow,
    ]
    const tokens: string[] = []
    for (const write of writes) {
      const token = String(this._nextToken++)
      tokens.push(token)
      this._mine.set(token, write)
      keys.push(
        this._key('e', write.resource),
        this._key('o', write.resource),
        this._key('w', write.resource),
        // Any key of the prefix stands in when there is nothing to record (Cluster: one slot).
        write.origin ? this._appliedKey(write.origin.client) : this._revisionsKey,
        this._key('t', write.resource),
        this._key('f', write.resource),
      )
      args.push(
        write.resource,
        write.id,
        write.expectedRev === undefined ? '' : write.expectedRev,
        write.value ?? '',
        write.change?.[0] ?? '',
        write.change?.[1] ?? '',
        token,
        write.origin ? _opKey(write.origin.op) : '',
        write.origin ? JSON.stringify([write.resource, write.id]) : '',
        write.fields ?? '',
      )
    }
    let revs: number[]
    try {
      revs = (await this.run(_COMMIT, keys, args)) as number[]
    } catch (error) {
      for (const token of tokens) this._mine.delete(token)
      throw error
    }
    return revs.map((rev, i) => {
      if (rev >= 0) return { rev }
      // A refused write leaves no feed entry.
      this._mine.delete(tokens[i] as string)
      return { conflict: true }
    })
  }

  async compactTombstones(maxAge: number, limit: number): Promise<number> {
    const cutoff = this._dedup.now() - maxAge
    let removed = 0
    for (const resource of await this.redis.hkeys(this._revisionsKey)) {
      if (removed >= limit) break
      removed += (await this.run(
        _COMPACT,
        [this._key('t', resource), this._key('e', resource), this._key('w', resource), this._coveredKey],
        [cutoff, limit - removed, resource],
      )) as number
    }
    return removed
  }

  async coveredSince(resource: string): Promise<number> {
    return Number((await this.redis.hget(this._coveredKey, resource)) ?? 0)
  }

  watch(listener: ChangeListener): Promise<() => void> {
    if (this._closed) return Promise.reject(new Error('redisStorage: watch() after close()'))
    return this._feed.watch(listener)
  }

  close(): Promise<void> {
    this._closed ??= (async () => {
      this._feed.stop()
      this._mine.clear()
      try {
        await this.redis.quit()
      } catch {
        this.redis.disconnect()
      }
    })()
    return this._closed
  }

  // ——— for the feed (internal) ———

  takeWrite(token: string): StorageWrite | undefined {
    const write = this._mine.get(token)
    this._mine.delete(token)
    return write
  }

  async run(
    script: _RedisScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error
      return this.redis.eval(script.lua, keys.length, ...keys, ...args)
    }
  }

  warn(message: string, error: unknown): void {
    this._logger.warn?.(message, error)
  }

  private get _coveredKey(): string {
    return `${this._base}:covered`
  }

  private _key(kind: 'e' | 'o' | 'w' | 't' | 'f', resource: string): string {
    return `${this._base}:${kind}:${resource}`
  }

  private _appliedKey(client: string): string {
    return `${this._base}:applied:${client}`
  }
}

/** `<rev>|<at>|<where>` → its three parts. */
function splitRecord(stored: string): [rev: number, at: number, where: string] {
  const first = stored.indexOf('|')
  const second = stored.indexOf('|', first + 1)
  return [Number(stored.slice(0, first)), Number(stored.slice(first + 1, second)), stored.slice(second + 1)]
}

/** `<rev>|<value>` → rev and value (`null`: a tombstone). */
function parseStored(stored: string): { rev: number; value: string | null } {
  const bar = stored.indexOf('|')
  const value = stored.slice(bar + 1)
  return { rev: Number(stored.slice(0, bar)), value: value === '' ? null : value }
}

function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>
}
