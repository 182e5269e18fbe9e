import type { ClientMessage } from '@lensync/protocol'
import { ConnectionError } from '../errors.ts'
import type { PresenceChannel, PresenceClientMessage, PresenceServerMessage } from './types.ts'

/**
 * @internal
 * What the presence rooms need of the shared connection: its client id,
 * whether it is ready (open, `hello` sent), its batched write, and a call
 * when the last room let go (the connection may then close).
 */
export interface _PresenceHost {
  readonly clientId: string
  isReady(): boolean
  write(message: ClientMessage): void
  idle(): void
}

/**
 * @internal
 * The {@link PresenceChannel} of one shared sync connection: every room made
 * over the socket rides the connection of its syncs (one WebSocket per page).
 * The connection calls {@link _ConnectionPresence.opened} after every
 * (re)open, once `hello` went out and the syncs were told, and
 * {@link _ConnectionPresence.deliver} with every `psnap`/`ppeer`/`pgone` and
 * every `reject` of a room. Counted: the connection closes only when no sync
 * and no room uses it.
 */
export class _ConnectionPresence implements PresenceChannel {
  private _users = 0
  private readonly _rooms = new Set<string>()
  private readonly _messageHandlers = new Set<(message: PresenceServerMessage) => void>()
  private readonly _openHandlers = new Set<() => void>()

  constructor(private readonly _host: _PresenceHost) {}

  get clientId(): string {
    return this._host.clientId
  }

  get isOpen(): boolean {
    return this._host.isReady()
  }

  /** Whether a room still uses the connection. */
  get inUse(): boolean {
    return this._users > 0
  }

  /**
   * A room named `room` starts using the channel; the matching {@link release} ends it.
   * @throws ConnectionError `BAD_OPTION` when that room is already joined over this connection:
   *   the server knows one member per connection and room, so two would leave each other.
   */
  acquire(room: string): PresenceChannel {
    if (this._rooms.has(room))
      throw new ConnectionError(
        'BAD_OPTION',
        `presence(): room "${room}" is already joined over this socket; stop() it first, or share the one room`,
      )
    this._rooms.add(room)
    this._users++
    let released = false
    const host = this._host
    // Each room gets its own release, so a second stop() cannot release another room's claim.
    return {
      clientId: this.clientId,
      get isOpen() {
        return host.isReady()
      },
      send: message => this.send(message),
      onMessage: handler => this.onMessage(handler),
      onOpen: handler => this.onOpen(handler),
      release: () => {
        if (released) return
        released = true
        this._rooms.delete(room)
        this.release()
      },
    }
  }

  send(message: PresenceClientMessage): void {
    if (this._host.isReady()) this._host.write(message)
  }

  onMessage(handler: (message: PresenceServerMessage) => void): () => void {
    this._messageHandlers.add(handler)
    return () => this._messageHandlers.delete(handler)
  }

  onOpen(handler: () => void): () => void {
    this._openHandlers.add(handler)
    return () => this._openHandlers.delete(handler)
  }

  release(): void {
    if (this._users === 0) return
    if (--this._users === 0) this._host.idle()
  }

  /** The connection is ready again: every room joins with its current state. */
  opened(): void {
    for (const handler of [...this._openHandlers]) handler()
  }

  /** A presence message from the server, for the rooms (each picks its own). */
  deliver(message: PresenceServerMessage): void {
    for (const handler of [...this._messageHandlers]) handler(message)
  }
}
