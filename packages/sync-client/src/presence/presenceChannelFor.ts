import { PROTOCOL_VERSION, parseServerMessage } from '@lensync/protocol'
import type { Session } from '../Session.ts'
import type { Socket } from '../Socket.ts'
import type { PresenceChannel, PresenceClientMessage, PresenceServerMessage } from './types.ts'

// ┌──────────────────────────────────────────────────────────────────────┐
// │ GLUE FOR THE LEAD. Presence is meant to ride the socket's one shared  │
// │ sync connection (SyncConnection, being restructured, so not edited    │
// │ here). Until that connection offers a PresenceChannel, each Socket    │
// │ (or Session) gets one dedicated connection for all its presence       │
// │ rooms. Replacing `presenceChannelFor`'s body with the shared          │
// │ connection's channel is the whole integration on the client side.     │
// └──────────────────────────────────────────────────────────────────────┘

const channels = new WeakMap<Socket | Session, _SessionPresenceChannel>()

/**
 * @internal
 * The presence channel of a socket (or of a session the caller manages),
 * shared by every room made over it; each room releases it on `stop()`.
 */
export function presenceChannelFor(target: Socket | Session): PresenceChannel {
  let channel = channels.get(target)
  if (!channel) {
    const session = isSession(target) ? target : target.connect({ reconnect: true })
    const options = isSession(target) ? target._options : target.options
    const made = new _SessionPresenceChannel(session, !isSession(target), options.token, () =>
      channels.delete(target),
    )
    channels.set(target, made)
    channel = made
  }
  channel.acquire()
  return channel
}

function isSession(target: Socket | Session): target is Session {
  return typeof (target as Session).send === 'function' && typeof (target as Socket).connect !== 'function'
}

function randomId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto
  if (c?.randomUUID) return c.randomUUID()
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`
}

/**
 * @internal
 * A {@link PresenceChannel} over a session: sends `hello` on every open,
 * batches what is sent in one tick into one frame, and hands the checked
 * presence messages to the rooms. Closes an owned session when the last
 * room released it.
 */
export class _SessionPresenceChannel implements PresenceChannel {
  readonly clientId = randomId()
  private _open = false
  private _users = 0
  private _generation = 0
  private _outbox: PresenceClientMessage[] = []
  private readonly _messageHandlers = new Set<(message: PresenceServerMessage) => void>()
  private readonly _openHandlers = new Set<() => void>()
  private readonly _disposers: (() => void)[]

  constructor(
    private readonly _session: Session,
    private readonly _owned: boolean,
    private readonly _token: string | (() => string | Promise<string>) | undefined,
    private readonly _onIdle: () => void,
  ) {
    this._disposers = [
      _session.messages.subscribe(event => this._receive(event.data)),
      _session.opens.subscribe(() => void this._opened()),
      _session.closes.subscribe(() => {
        this._generation++
        this._open = false
        this._outbox = []
      }),
    ]
    if (_session.isOpen.peek()) void this._opened()
  }

  get isOpen(): boolean {
    return this._open
  }

  /** A room uses the channel. */
  acquire(): void {
    this._users++
  }

  release(): void {
    if (--this._users > 0) return
    for (const dispose of this._disposers.splice(0)) dispose()
    this._onIdle()
    const flushed = this._flush()
    if (this._owned)
      void flushed.finally(() =>
        this._session.close({ code: 1000, reason: 'presence stopped' }).catch(() => {}),
      )
  }

  send(message: PresenceClientMessage): void {
    if (!this._open) return
    this._outbox.push(message)
    if (this._outbox.length === 1) queueMicrotask(() => void this._flush())
  }

  onMessage(handler: (message: PresenceServerMessage) => void): () => void {
    this._messageHandlers.add(handler)
    return () => this._messageHandlers.delete(handler)
  }

  onOpen(handler: () => void): () => void {
    this._openHandlers.add(handler)
    return () => this._openHandlers.delete(handler)
  }

  private _flush(): Promise<void> {
    const batch = this._outbox
    if (batch.length === 0) return Promise.resolve()
    this._outbox = []
    // A send that fails because the socket just closed is not an error: the rooms join again on open.
    return this._session.send(JSON.stringify(batch.length === 1 ? batch[0] : batch)).catch(() => {})
  }

  private async _opened(): Promise<void> {
    const generation = ++this._generation
    let token: string | undefined
    try {
      token = typeof this._token === 'function' ? await this._token() : this._token
    } catch {
      return
    }
    if (generation !== this._generation || !this._session.isOpen.peek()) return
    const hello = {
      t: 'hello',
      v: PROTOCOL_VERSION,
      client: this.clientId,
      ...(token === undefined ? {} : { token }),
    }
    this._session.send(JSON.stringify(hello)).catch(() => {})
    this._open = true
    for (const handler of [...this._openHandlers]) handler()
  }

  private _receive(data: unknown): void {
    if (typeof data !== 'string') return
    let parsed: unknown
    try {
      parsed = JSON.parse(data)
    } catch {
      return
    }
    for (const raw of Array.isArray(parsed) ? parsed : [parsed]) {
      const checked = parseServerMessage(raw)
      if (!checked.ok) continue
      const message = checked.message
      const forRoom =
        message.t === 'psnap' ||
        message.t === 'ppeer' ||
        message.t === 'pgone' ||
        (message.t === 'reject' && message.room !== undefined)
      if (!forRoom) continue
      for (const handler of [...this._messageHandlers]) handler(message as PresenceServerMessage)
    }
  }
}
