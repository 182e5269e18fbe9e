import type { OpId } from '@lensync/protocol'
import {
  type AckMessage,
  applyFieldChanges,
  type DelMessage,
  type Encoded,
  type FieldChange,
  type PatchMessage,
  PROTOCOL_NAME,
  type PutMessage,
  type RejectMessage,
  type ServerMessage,
} from '@lensync/protocol'
import WebSocket from 'ws'

/** A write as the test wants to send it: the client picks the `op`. */
export type WriteRequest = Omit<PutMessage, 'op'> | Omit<PatchMessage, 'op'> | Omit<DelMessage, 'op'>

/** One write this client sent, and the server's answer once it came. */
export interface SentWrite {
  /** Which connection sent it (op ids are unique per connection only). */
  readonly connection: string
  readonly msg: PutMessage | PatchMessage | DelMessage
  answer?: AckMessage | RejectMessage
}

/** Thrown (as a rejection) for a write whose connection closed before its answer came. */
export class UnansweredError extends Error {
  constructor(readonly closeCode: number) {
    super(`connection closed (${closeCode}) before the answer`)
  }
}

/**
 * A lightweight lensync client speaking docs/protocol.md directly over `ws`:
 * numbered writes with their acks, entity/collection subscriptions with a
 * local view (JSON values, applied from `snap`, `change`, `gone` and this
 * client's own acknowledged writes, in arrival order — the hub sends one
 * entity's answers and changes in revision order). Far cheaper than a
 * `syncWith` client, so a soak test can run hundreds of them.
 */
export class ProtocolClient {
  /** Every write sent on this connection, in order. */
  readonly writes: SentWrite[] = []
  /** Subscribed entities: `"r/id"` → JSON value, `null` when absent or deleted. */
  readonly view = new Map<string, unknown>()
  /** Resolves with the close code once the connection closed. */
  readonly closed: Promise<number>
  /** Envelopes that were not answers or view updates (errors, welcome …). */
  readonly other: ServerMessage[] = []

  private readonly _revs = new Map<string, number>()
  private readonly _collections = new Set<string>()
  private readonly _pending = new Map<OpId, { write: SentWrite; done: (error?: Error) => void }>()
  private readonly _snapWaiters: { key: string; resolve: () => void }[] = []
  private _nextOp = 1
  private _closeCode: number | undefined

  private constructor(
    readonly ws: WebSocket,
    readonly name: string,
  ) {
    this.closed = new Promise(resolve =>
      ws.on('close', code => {
        this._closeCode = code
        for (const { done } of this._pending.values()) done(new UnansweredError(code))
        this._pending.clear()
        resolve(code)
      }),
    )
    ws.on('message', (data, isBinary) => {
      if (isBinary) throw new Error(`${name}: the server sent a binary frame`)
      const parsed = JSON.parse(data.toString()) as ServerMessage | ServerMessage[]
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) this._receive(m)
    })
  }

  /**
   * Opens a connection (subprotocol `lensync.v1`) and waits until it is open.
   *
   * @param url - The sync URL.
   * @param name - Names the connection in records and messages.
   */
  static async open(url: string, name: string): Promise<ProtocolClient> {
    const ws = new WebSocket(url, PROTOCOL_NAME)
    const client = new ProtocolClient(ws, name)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    return client
  }

  /** Whether the connection is open. */
  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN
  }

  /** Writes not answered yet. */
  get inFlight(): number {
    return this._pending.size
  }

  /**
   * Sends a write with the next op id.
   *
   * @returns Resolves with the record once the `ack`/`reject` came; rejects
   *   with {@link UnansweredError} when the connection closes first.
   */
  write(request: WriteRequest): Promise<SentWrite> {
    const msg = { ...request, op: this._nextOp++ } as SentWrite['msg']
    const write: SentWrite = { connection: this.name, msg }
    this.writes.push(write)
    if (this._closeCode !== undefined) return Promise.reject(new UnansweredError(this._closeCode))
    return new Promise((resolve, reject) => {
      this._pending.set(msg.op, { write, done: error => (error ? reject(error) : resolve(write)) })
      this.ws.send(JSON.stringify(msg))
    })
  }

  /**
   * Subscribes to one entity (`id`) or a whole collection, and waits for the
   * (whole) snapshot.
   */
  subscribe(r: string, id?: string): Promise<void> {
    const key = id === undefined ? `${r}/*` : `${r}/${id}`
    if (id === undefined) this._collections.add(r)
    const done = new Promise<void>(resolve => this._snapWaiters.push({ key, resolve }))
    this.ws.send(JSON.stringify(id === undefined ? { t: 'sub', r } : { t: 'sub', r, id }))
    return done
  }

  /** Closes with 1000 (if still open) and waits for the close. */
  close(): Promise<number> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(1000)
    return this.closed
  }

  /** Drops the connection without a close handshake. */
  terminate(): Promise<number> {
    this.ws.terminate()
    return this.closed
  }

  private _receive(m: ServerMessage): void {
    switch (m.t) {
      case 'ack':
      case 'reject': {
        if (m.t === 'reject' && m.op === undefined) {
          this.other.push(m)
          return
        }
        const pending = this._pending.get(m.op as OpId)
        if (!pending) throw new Error(`${this.name}: answer for an unknown op ${JSON.stringify(m)}`)
        this._pending.delete(m.op as OpId)
        pending.write.answer = m
        if (m.t === 'ack' && m.applied !== false) this._applyOwn(pending.write.msg, m.rev)
        pending.done()
        return
      }
      case 'snap': {
        if ('items' in m) {
          for (const item of m.items) this._set(m.r, item.id, item.rev, item.value.json)
          for (const id of m.gone ?? []) this._set(m.r, id, m.rev, null)
          if (!m.more) this._snapped(`${m.r}/*`)
          return
        }
        // An entity snap also precedes the ack of a create-only put that found the entity.
        this._set(m.r, m.id, m.rev, m.value === null ? null : (m.value as Encoded).json, true)
        this._snapped(`${m.r}/${m.id}`)
        return
      }
      case 'change': {
        const key = `${m.r}/${m.id}`
        if ('value' in m && m.value !== undefined) this._set(m.r, m.id, m.rev, m.value.json)
        else {
          const set: FieldChange[] = (m.set ?? []).map(([path, value]) => [path, value.json])
          this._set(m.r, m.id, m.rev, applyFieldChanges(this.view.get(key) ?? {}, set, m.unset ?? []))
        }
        return
      }
      case 'gone':
        this._set(m.r, m.id, m.rev, null)
        return
      default:
        this.other.push(m)
    }
  }

  private _applyOwn(msg: SentWrite['msg'], rev: number): void {
    const key = `${msg.r}/${msg.id}`
    if (msg.t === 'put') this._set(msg.r, msg.id, rev, msg.value.json)
    else if (msg.t === 'del') this._set(msg.r, msg.id, rev, null)
    else {
      const set: FieldChange[] = msg.set.map(([path, value]) => [path, value.json])
      this._set(msg.r, msg.id, rev, applyFieldChanges(this.view.get(key) ?? {}, set, msg.unset ?? []))
    }
  }

  private _set(r: string, id: string, rev: number, value: unknown, snapshot = false): void {
    const key = `${r}/${id}`
    if (!this.view.has(key) && !this._collections.has(r) && !snapshot) return
    const known = this._revs.get(key) ?? -1
    // A snapshot is the state at its revision; anything else older than what we have is a duplicate.
    if (rev < known || (rev === known && !snapshot)) return
    this._revs.set(key, rev)
    this.view.set(key, value)
  }

  private _snapped(key: string): void {
    const i = this._snapWaiters.findIndex(w => w.key === key)
    if (i < 0) return
    const [waiter] = this._snapWaiters.splice(i, 1)
    waiter?.resolve()
  }
}
