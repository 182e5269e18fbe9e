import type { Redis } from 'ioredis'
import { ServerError } from '../ServerError.ts'
import { _FEED_END, type _RedisScript } from './redisScripts.ts'
import type { ChangeListener, CommittedChange, StorageWrite } from './Storage.ts'

/** Entries taken per XREAD. */
const READ_COUNT = 512
/** How long one XREAD blocks (ms); the loop simply reads again. */
const BLOCK_MS = 5_000
/** Waits between attempts after a failed read (ms), doubling. */
const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 2_000

/** @internal What the feed needs from its storage. */
export interface _FeedHost {
  /** The storage's command connection (for the start point). */
  readonly redis: Redis
  /** The server's URL, for messages. */
  readonly url: string
  readonly feedKey: string
  readonly seqKey: string
  /** This storage object's id in feed entries: its own writes are recognized by it. */
  readonly origin: string
  /** Takes the write a token of this storage stood for (once). */
  takeWrite(token: string): StorageWrite | undefined
  /** Runs a script. */
  run(script: _RedisScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>
  /** Where a failing read is reported. */
  warn(message: string, error: unknown): void
}

/**
 * @internal
 * Follows the feed stream on a connection of its own (XREAD blocks it) and
 * hands every entry to the listeners in stream order. Entries are numbered
 * by one sequence, so a gap (the stream was trimmed past this reader, or
 * Redis lost data) is seen at the next entry and reported as a reset.
 */
export class _RedisFeed {
  private readonly _listeners = new Set<ChangeListener>()
  private readonly _reader: Redis
  private _lastId = '0-0'
  private _expected = 1
  private _started: Promise<void> | undefined
  private _stopped = false

  constructor(private readonly _host: _FeedHost) {
    // Blocking reads wait through reconnects instead of failing.
    this._reader = _host.redis.duplicate({ maxRetriesPerRequest: null, lazyConnect: true })
  }

  /**
   * Adds a listener; the first one starts reading from the feed's current end.
   *
   * @returns Resolves once reading, with the disposer.
   */
  async watch(listener: ChangeListener): Promise<() => void> {
    this._listeners.add(listener)
    try {
      this._started ??= this._start()
      await this._started
    } catch (error) {
      this._listeners.delete(listener)
      this._started = undefined
      throw error
    }
    return () => {
      this._listeners.delete(listener)
    }
  }

  /** Stops reading and closes the reader's connection. */
  stop(): void {
    this._stopped = true
    this._reader.disconnect()
  }

  private async _start(): Promise<void> {
    try {
      await this._open()
    } catch (cause) {
      throw new ServerError(
        'STORAGE_UNAVAILABLE',
        `redisStorage: cannot read the change feed from Redis at ${this._host.url}: ${(cause as Error)?.message ?? cause}`,
        { cause },
      )
    }
  }

  private async _open(): Promise<void> {
    const [lastId, seq] = (await this._host.run(_FEED_END, [this._host.feedKey, this._host.seqKey], [])) as [
      string,
      string,
    ]
    this._lastId = lastId
    this._expected = Number(seq) + 1
    await this._reader.connect()
    this._loop().catch(error => this._host.warn('lensync redisStorage: the change feed stopped', error))
  }

  private async _loop(): Promise<void> {
    let delay = RETRY_MIN_MS
    while (!this._stopped) {
      let reply: unknown
      try {
        reply = await this._reader.call(
          'XREAD',
          'COUNT',
          READ_COUNT,
          'BLOCK',
          BLOCK_MS,
          'STREAMS',
          this._host.feedKey,
          this._lastId,
        )
        delay = RETRY_MIN_MS
      } catch (error) {
        if (this._stopped) return
        this._host.warn('lensync redisStorage: reading the change feed failed; retrying', error)
        await new Promise(resolve => setTimeout(resolve, delay).unref())
        delay = Math.min(delay * 2, RETRY_MAX_MS)
        continue
      }
      if (this._stopped) return
      const streams = reply as [string, [string, string[]][]][] | null
      for (const [id, fields] of streams?.[0]?.[1] ?? []) {
        this._lastId = id
        try {
          this._entry(fields)
        } catch (error) {
          // Not an entry this adapter wrote: whoever relied on it may be stale.
          this._host.warn('lensync redisStorage: an unreadable change feed entry', error)
          for (const listener of [...this._listeners]) listener.reset('an unreadable feed entry')
        }
      }
    }
  }

  private _entry(fields: readonly string[]): void {
    const entry = new Map<string, string>()
    for (let i = 0; i + 1 < fields.length; i += 2) entry.set(fields[i] as string, fields[i + 1] as string)
    const n = Number(entry.get('n'))
    if (n !== this._expected) {
      const reason =
        n > this._expected
          ? `missed ${n - this._expected} change(s) of the feed`
          : 'the feed started over (did Redis lose its data?)'
      for (const listener of [...this._listeners]) listener.reset(reason)
    }
    this._expected = n + 1
    const value = entry.get('x') ?? ''
    const revisions = entry.get('f')
    const change: CommittedChange = {
      resource: entry.get('r') ?? '',
      id: entry.get('i') ?? '',
      rev: Number(entry.get('v')),
      value: value === '' ? null : value,
      ...(revisions ? { fields: revisions } : {}),
      change: entry.get('c') ?? '',
      write: entry.get('o') === this._host.origin ? this._host.takeWrite(entry.get('k') ?? '') : undefined,
    }
    for (const listener of [...this._listeners]) {
      try {
        listener.change(change)
      } catch (error) {
        this._host.warn('lensync redisStorage: a change listener threw', error)
      }
    }
  }
}
