import {
  type AckMessage,
  type ClientMessage,
  CloseCodes,
  PROTOCOL_VERSION,
  parseServerMessage,
  type ServerMessage,
} from '@lensync/protocol'
import type { Session } from '../Session.ts'
import { SyncError } from '../SyncError.ts'
import type { Timers, Token } from '../types.ts'
import { wireOf } from './outboxEntries.ts'
import type { OutboxEntry, SyncCache } from './types.ts'

/** First and longest delay before sending writes refused with `RATE_LIMITED` again, in ms. */
const RETRY_MIN_DELAY = 100
const RETRY_MAX_DELAY = 5000

/** Options of {@link OutboxSender}. @internal */
export interface OutboxSenderOptions {
  /** The client id whose entries are sent: the `hello` of the sender's own connection names it. */
  client: string
  cache: SyncCache
  /** Opens a reconnecting session to the socket's server. */
  openSession: () => Session
  token: Token | undefined
  timers: Timers
  /** The outbox is empty (every entry answered). */
  onEmpty: (client: string) => void
  /** A create-only put found the entity: the field edits it carried go again, as a new write. */
  onFound: (entry: OutboxEntry) => void
  /** An entry's write was acknowledged with conflicts (it was sent with its `base`). */
  onConflicts: (entry: OutboxEntry, ack: AckMessage) => void
  /** A write was refused, or the connection. */
  report: (error: SyncError) => void
}

/**
 * Sends outbox entries that no sync owns — another tab's, taken over after it
 * closed; an earlier page's; a stopped sync's — under the client id that
 * made them and with their op ids, so the server recognises a write it
 * already applied. It has a connection of its own whose `hello` names that
 * client id (acks carry only the op, and op ids are unique per client, not
 * per connection). Each answer removes its entry from the cache; the
 * subscribed syncs see the result as any other client's change.
 *
 * @internal
 */
export class OutboxSender {
  private readonly entries = new Map<number, { entry: OutboxEntry; onWire: boolean }>()
  private session: Session | undefined
  private disposers: Array<() => void> = []
  private ready = false
  private generation = 0
  private retryTimer: unknown = undefined
  private retryAttempt = 0
  private stopped = false
  /** Entities whose `snap` just came: a create-only put of one that is answered `applied: false` found it. */
  private readonly snapped = new Set<string>()

  constructor(private readonly options: OutboxSenderOptions) {}

  /** How many entries wait for an answer. */
  get size(): number {
    return this.entries.size
  }

  /** Adds entries (in op order) and sends them once connected. An entry already held is kept as it is. */
  add(entries: readonly OutboxEntry[]): void {
    if (this.stopped) return
    for (const entry of entries)
      if (!this.entries.has(entry.op)) this.entries.set(entry.op, { entry, onWire: false })
    if (this.entries.size === 0) return
    if (!this.session) this.connect()
    else this.push()
  }

  /** Drops every entry (the cache was cleared): nothing more is sent. */
  drop(): void {
    this.entries.clear()
  }

  /** Closes the connection; entries not answered stay in the cache for whoever sends them next. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.options.timers.clearTimeout(this.retryTimer)
    this.close()
  }

  private connect(): void {
    const session = this.options.openSession()
    this.session = session
    this.disposers.push(
      session.opens.subscribe(() => void this.opened(session)),
      session.closes.subscribe(event => this.lost(event.code)),
      session.messages.subscribe(event => this.receive(event.data)),
    )
    if (session.isOpen.peek()) void this.opened(session)
  }

  private close(): void {
    for (const dispose of this.disposers.splice(0)) dispose()
    const session = this.session
    this.session = undefined
    this.ready = false
    if (session) void session.close({ code: 1000, reason: 'outbox sent' }).catch(() => {})
  }

  private async opened(session: Session): Promise<void> {
    const generation = ++this.generation
    const { token: source } = this.options
    let token: string | undefined
    try {
      token = typeof source === 'function' ? await source() : source
    } catch (cause) {
      this.options.report(new SyncError('UNAUTHENTICATED', 'Reading the token failed', { cause }))
      return
    }
    if (generation !== this.generation || this.stopped || !session.isOpen.peek()) return
    const hello: ClientMessage = {
      t: 'hello',
      v: PROTOCOL_VERSION,
      client: this.options.client,
      ...(token === undefined ? {} : { token }),
    }
    session._sendNow(JSON.stringify(hello))
    this.ready = true
    this.push()
  }

  private push(): void {
    if (!this.ready || this.retryTimer !== undefined || !this.session) return
    const batch: ClientMessage[] = []
    for (const held of this.entries.values()) {
      if (held.onWire) continue
      held.onWire = true
      batch.push(wireOf(held.entry))
    }
    if (batch.length > 0) this.session._sendNow(JSON.stringify(batch.length === 1 ? batch[0] : batch))
  }

  private lost(code: number): void {
    this.generation++
    this.ready = false
    for (const held of this.entries.values()) held.onWire = false
    if (code === CloseCodes.UNAUTHENTICATED || code === CloseCodes.FORBIDDEN) {
      this.options.report(
        new SyncError(
          code === CloseCodes.FORBIDDEN ? 'CONNECTION_FORBIDDEN' : 'UNAUTHENTICATED',
          `The server refused the connection sending the unsent writes of client ${this.options.client} (close ${code}); they stay in the cache`,
        ),
      )
      this.stop()
    }
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return
    let parsed: unknown
    try {
      parsed = JSON.parse(data)
    } catch {
      return
    }
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
      const result = parseServerMessage(message)
      if (result.ok) this.answer(result.message)
    }
  }

  private answer(message: ServerMessage): void {
    if (message.t === 'snap' && 'id' in message) this.snapped.add(`${message.r}\u0000${message.id}`)
    if ((message.t !== 'ack' && message.t !== 'reject') || typeof message.op !== 'number') return
    const held = this.entries.get(message.op)
    if (!held?.onWire) return
    const { entry } = held
    if (message.t === 'reject' && message.code === 'RATE_LIMITED') {
      held.onWire = false
      this.retryLater()
      return
    }
    this.entries.delete(entry.op)
    this.retryAttempt = 0
    // Before the cache hears of the ack: the sync showing the write resolves
    // its conflicts while it still shows it (no flash of the unapplied value).
    if (message.t === 'ack' && message.conflicts && message.conflicts.length > 0)
      this.options.onConflicts(entry, message)
    const { client, cache } = this.options
    void cache
      .ack(client, entry.op, undefined, message.t === 'ack' ? message.rev : undefined)
      .then(result => {
        if (!result.ok) this.options.report(result.error)
      })
    if (message.t === 'reject') {
      this.options.report(
        new SyncError(
          message.code,
          `${message.message} (an unsent write of an earlier page or another tab)`,
          {
            resource: entry.resource,
            id: entry.id,
            op: entry.op,
            ...(message.issues ? { issues: message.issues } : {}),
          },
        ),
      )
      this.answered()
      return
    }
    // A create-only put answered `applied: false` right after the entity's
    // `snap` found the entity: the edits made on top of the offer still go.
    // Without the snap it was applied before (a resend after a lost ack) and
    // nothing goes again.
    const key = `${entry.resource}\u0000${entry.id}`
    const found = this.snapped.delete(key)
    if (
      found &&
      message.applied === false &&
      entry.kind === 'create' &&
      ((entry.set?.length ?? 0) > 0 || (entry.unset?.length ?? 0) > 0)
    ) {
      this.options.onFound(entry)
    }
    this.answered()
  }

  private answered(): void {
    if (this.entries.size === 0) this.options.onEmpty(this.options.client)
  }

  private retryLater(): void {
    if (this.retryTimer !== undefined) return
    const delay = Math.min(RETRY_MAX_DELAY, RETRY_MIN_DELAY * 2 ** this.retryAttempt++)
    this.retryTimer = this.options.timers.setTimeout(() => {
      this.retryTimer = undefined
      this.push()
    }, delay)
  }
}
