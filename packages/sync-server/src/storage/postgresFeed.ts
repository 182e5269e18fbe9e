import type { Sql } from 'postgres'
import { ServerError } from '../ServerError.ts'
import { type _PostgresTables, _quoteIdent } from './postgresSchema.ts'
import type { ChangeListener, CommittedChange, StorageWrite } from './Storage.ts'

/** Change rows read per query. */
const READ_COUNT = 512
/** Waits between attempts after a failed read or LISTEN (ms), doubling. */
const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 2_000

/** @internal What the feed needs from its storage. */
export interface _PostgresFeedHost {
  /** The storage's connection pool (reads the change table). */
  readonly sql: Sql
  readonly tables: _PostgresTables
  /** The NOTIFY channel commits announce their last feed number on. */
  readonly channel: string
  /** The database URL without credentials, for messages. */
  readonly url: string
  /** This storage object's id in change rows: its own writes are recognized by it. */
  readonly origin: string
  /** Creates the tables when needed (once). */
  ready(): Promise<void>
  /** Opens the connection that LISTENs (one connection of its own, never idle-closed). */
  openListener(events: { onnotify(channel: string, payload: string): void; onclose(): void }): Sql
  /** Takes the write a token of this storage stood for (once). */
  takeWrite(token: number): StorageWrite | undefined
  /** Where a failing read is reported. */
  warn(message: string, error: unknown): void
}

interface ChangeRow {
  n: string
  resource: string
  id: string
  rev: string
  value: string | null
  change: string
  origin: string
  token: string
  fields: string | null
}

/**
 * @internal
 * Follows the change table. Every commit adds its writes as rows numbered
 * gaplessly in commit order and NOTIFYs the number of its last one; the
 * feed LISTENs on a connection of its own and, when a number beyond what it
 * read arrives (or after it re-LISTENed), reads the new rows from the pool.
 *
 * Each read starts at the last row it handed out and checks that row is
 * still the same one: a missing row before the next one means the table was
 * trimmed past this reader, another row under that number means the
 * numbering started over (a restored database, recreated tables). Both are
 * reported as a reset.
 */
export class _PostgresFeed {
  private readonly _listeners = new Set<ChangeListener>()
  private _listener: Sql | undefined
  /** Number of the last change handed out (or the head when reading started). */
  private _read = 0
  /** `origin/token` of that change, `undefined` when unknown (0, or not read yet). */
  private _readId: string | undefined
  /** The last number a notification announced on the current LISTEN connection. */
  private _announced = 0
  private _started: Promise<void> | undefined
  /** Whether the start point is known (notifications before it are ignored). */
  private _anchored = false
  private _stopped = false
  private _polling: Promise<void> | undefined
  private _again = false
  private _relistening = false
  private _closedAgain = false

  constructor(private readonly _host: _PostgresFeedHost) {}

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

  /** Stops reading and closes the LISTEN connection. */
  async stop(): Promise<void> {
    this._stopped = true
    const listener = this._listener
    this._listener = undefined
    await listener?.end({ timeout: 0 })
    await this._polling
  }

  private async _start(): Promise<void> {
    try {
      await this._host.ready()
      const listener = this._host.openListener({
        onnotify: (channel, payload) => {
          if (channel === this._host.channel) this._notified(payload)
        },
        onclose: () => this._lost(),
      })
      this._listener = listener
      await this._listen(listener)
      await this._anchor()
      // A commit after the start point may have notified while it was read.
      this._anchored = true
      this._wake()
    } catch (cause) {
      const listener = this._listener
      this._listener = undefined
      await listener?.end({ timeout: 0 }).catch(() => undefined)
      if (cause instanceof ServerError) throw cause
      throw new ServerError(
        'STORAGE_UNAVAILABLE',
        `postgresStorage: cannot follow the change feed in PostgreSQL at ${this._host.url}: ${(cause as Error)?.message ?? cause}`,
        { cause },
      )
    }
  }

  private async _listen(listener: Sql): Promise<void> {
    this._announced = 0
    await listener.unsafe(`LISTEN ${_quoteIdent(this._host.channel)}`)
  }

  /** Starts reading after the current head (nothing before it is reported). */
  private async _anchor(): Promise<void> {
    const { feed, changes } = this._host.tables
    const [head] = await this._host.sql.unsafe<{ n: string; origin: string | null; token: string | null }[]>(
      `SELECT f.n, c.origin, c.token FROM ${feed} f LEFT JOIN ${changes} c ON c.n = f.n`,
    )
    this._read = Number(head?.n ?? 0)
    this._readId = head?.origin == null ? undefined : `${head.origin}/${head.token}`
  }

  private _notified(payload: string): void {
    const n = Number(payload)
    if (!Number.isSafeInteger(n) || this._stopped || !this._anchored) return
    // Notifications come in commit order: a smaller number than the last
    // one means the numbering started over; the read finds out.
    const backwards = n < this._announced
    this._announced = n
    if (n > this._read || backwards) this._wake()
  }

  /** The LISTEN connection closed: LISTEN again (retrying), then read what came meanwhile. */
  private _lost(): void {
    if (this._stopped || !this._listener) return
    if (this._relistening) {
      this._closedAgain = true
      return
    }
    this._relistening = true
    void (async () => {
      let delay = RETRY_MIN_MS
      while (!this._stopped && this._listener) {
        this._closedAgain = false
        try {
          await this._listen(this._listener)
          if (!this._closedAgain) break
        } catch (error) {
          if (this._stopped) break
          this._host.warn('lensync postgresStorage: LISTEN failed; retrying', error)
          await sleep(delay)
          delay = Math.min(delay * 2, RETRY_MAX_MS)
        }
      }
      this._relistening = false
      if (!this._stopped) this._wake()
    })()
  }

  private _wake(): void {
    if (this._polling) {
      this._again = true
      return
    }
    this._polling = this._pollLoop().finally(() => {
      this._polling = undefined
    })
  }

  private async _pollLoop(): Promise<void> {
    let delay = RETRY_MIN_MS
    do {
      this._again = false
      try {
        while (!this._stopped && (await this._poll())) {}
        delay = RETRY_MIN_MS
      } catch (error) {
        if (this._stopped) return
        this._host.warn('lensync postgresStorage: reading the change feed failed; retrying', error)
        await sleep(delay)
        delay = Math.min(delay * 2, RETRY_MAX_MS)
        this._again = true
      }
    } while (this._again && !this._stopped)
  }

  /**
   * Reads and hands out the next rows.
   *
   * @returns Whether a full page was read (more may follow).
   */
  private async _poll(): Promise<boolean> {
    const { changes } = this._host.tables
    const rows = await this._host.sql.unsafe<ChangeRow[]>(
      `SELECT n, resource, id, rev, value, change, origin, token, fields FROM ${changes}
       WHERE n >= $1 ORDER BY n LIMIT $2`,
      [Math.max(this._read, 1), READ_COUNT],
    )
    if (this._stopped) return false
    const first = rows[0]
    if (this._read > 0) {
      const n = first ? Number(first.n) : undefined
      // Not even the last row read is there, nor anything after it; or
      // another row took its number: a new numbering. Read it from its start.
      if (
        n === undefined ||
        (n === this._read && this._readId !== undefined && rowId(first as ChangeRow) !== this._readId)
      ) {
        this._reset('the feed started over (was the database restored or its tables recreated?)')
        this._read = 0
        this._readId = undefined
        return true
      }
    }
    for (const row of rows) {
      const n = Number(row.n)
      if (n === this._read) continue
      // At 0 (a first read from an empty feed, or a new numbering) the table may start anywhere.
      if (this._read > 0 && n > this._read + 1)
        this._reset(`missed ${n - this._read - 1} change(s) of the feed`)
      this._read = n
      this._readId = rowId(row)
      this._deliver(row)
      if (this._stopped) return false
    }
    return rows.length === READ_COUNT
  }

  private _deliver(row: ChangeRow): void {
    const change: CommittedChange = {
      resource: row.resource,
      id: row.id,
      rev: Number(row.rev),
      value: row.value,
      ...(row.fields === null ? {} : { fields: row.fields }),
      change: row.change,
      write: row.origin === this._host.origin ? this._host.takeWrite(Number(row.token)) : undefined,
    }
    for (const listener of [...this._listeners]) {
      try {
        listener.change(change)
      } catch (error) {
        this._host.warn('lensync postgresStorage: a change listener threw', error)
      }
    }
  }

  private _reset(reason: string): void {
    for (const listener of [...this._listeners]) {
      try {
        listener.reset(reason)
      } catch (error) {
        this._host.warn('lensync postgresStorage: a change listener threw on reset', error)
      }
    }
  }
}

function rowId(row: ChangeRow): string {
  return `${row.origin}/${row.token}`
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms).unref())
}
