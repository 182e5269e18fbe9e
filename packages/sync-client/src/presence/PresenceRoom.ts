import type { Encoded, PresencePeer, Serializer } from '@lensync/protocol'
import {
  batch,
  createStream,
  type ReadonlySignal,
  type RootStore,
  type Signal,
  type Stream,
  signal,
  storeOf,
} from '@lensync/store'
import type { RoomInspection } from '../observation.ts'
import { SyncError } from '../SyncError.ts'
import type { Timers } from '../types.ts'
import type { Peer, Presence, PresenceChannel, PresenceServerMessage } from './types.ts'

/**
 * @internal
 * Where the room is with the server: `offline` (nothing sent since the
 * connection opened), `joining` (`pjoin` sent, no `psnap` yet), `joined`,
 * `refused` (the `pjoin` was rejected: `retry` says whether the next change
 * of `self` joins again — not after `FORBIDDEN`, which waits for a
 * reconnect), `stopped`.
 */
export type _PresencePhase =
  | { readonly kind: 'offline' }
  | { readonly kind: 'joining' }
  | { readonly kind: 'joined' }
  | { readonly kind: 'refused'; readonly retry: boolean }
  | { readonly kind: 'stopped' }

/** @internal A peer with the text of its encoded state, to tell a real change from a resend. */
interface _Known<P> {
  readonly peer: Peer<P>
  readonly text: string
}

/** @internal The resolved settings of a room. */
export interface _PresenceRoomSettings {
  readonly throttle: number
  readonly serializer: Serializer
  readonly timers: Timers
}

const OFFLINE: _PresencePhase = Object.freeze({ kind: 'offline' })
const JOINING: _PresencePhase = Object.freeze({ kind: 'joining' })
const JOINED: _PresencePhase = Object.freeze({ kind: 'joined' })
const STOPPED: _PresencePhase = Object.freeze({ kind: 'stopped' })

/**
 * @internal
 * One presence room over a {@link PresenceChannel}: joins on every open
 * with the current state of `self`, sends its changes throttled (leading
 * and trailing edge), and keeps `others` from `psnap`/`ppeer`/`pgone`. After
 * a reconnect the `psnap` is reconciled with what is shown, so members who
 * stayed are not reported as joining again. Made by `presence()`.
 */
export class PresenceRoom<P> implements Presence<P> {
  readonly self: RootStore<P>
  readonly others: ReadonlySignal<readonly Peer<P>[]>
  readonly joins: Stream<Peer<P>>
  readonly leaves: Stream<Peer<P>>
  readonly errors: Stream<SyncError>

  private _phase: _PresencePhase = OFFLINE
  private readonly _others: Signal<readonly Peer<P>[]>
  private _known = new Map<string, _Known<P>>()
  private readonly _emitJoin: (peer: Peer<P>) => void
  private readonly _emitLeave: (peer: Peer<P>) => void
  private readonly _emitError: (error: SyncError) => void
  private readonly _ends: (() => void)[]
  private readonly _disposers: (() => void)[]
  /** The text of the state last sent; a change back to it sends nothing. */
  private _sent: string | undefined
  /** Set while the throttle interval runs; `_dirty` says a change waits for its end. */
  private _cooldown: unknown = undefined
  private _dirty = false

  constructor(
    private readonly _channel: PresenceChannel,
    readonly room: string,
    initial: P,
    private readonly _settings: _PresenceRoomSettings,
  ) {
    this.self = storeOf(initial, { id: `presence:${room}` })
    this._others = signal<readonly Peer<P>[]>([])
    this.others = this._others
    const joins = createStream<Peer<P>>()
    const leaves = createStream<Peer<P>>()
    const errors = createStream<SyncError>()
    this.joins = joins.stream
    this.leaves = leaves.stream
    this.errors = errors.stream
    this._emitJoin = joins.emit
    this._emitLeave = leaves.emit
    this._emitError = errors.emit
    this._ends = [joins.end, leaves.end, errors.end]
    let first = true
    this._disposers = [
      _channel.onMessage(message => {
        if (message.room === room) this._receive(message)
      }),
      _channel.onOpen(() => this._join()),
      this.self.data.subscribe(() => {
        // subscribe() calls back at once with the current value: not a change.
        if (first) first = false
        else this._changed()
      }),
    ]
    if (_channel.isOpen) this._join()
  }

  /** @internal Where the room is with the server. */
  get phase(): _PresencePhase {
    return this._phase
  }

  /** @internal What `inspectRoom` shows of this room: read now, nothing kept. */
  _inspect(): RoomInspection {
    return { room: this.room, phase: this._phase.kind, self: this.self.current, others: this._others.peek() }
  }

  stop(): void {
    if (this._phase.kind === 'stopped') return
    const wasIn = this._phase.kind === 'joining' || this._phase.kind === 'joined'
    this._phase = STOPPED
    if (this._cooldown !== undefined) this._settings.timers.clearTimeout(this._cooldown)
    this._cooldown = undefined
    for (const dispose of this._disposers.splice(0)) dispose()
    if (wasIn && this._channel.isOpen) this._channel.send({ t: 'pleave', room: this.room })
    this._channel.release()
    this._known = new Map()
    this._others.value = []
    for (const end of this._ends) end()
  }

  // ——— sending ———

  private _join(): void {
    if (this._phase.kind === 'stopped') return
    const state = this._encode()
    if (state === undefined) return
    this._phase = JOINING
    this._dirty = false
    this._sent = JSON.stringify(state)
    this._channel.send({ t: 'pjoin', room: this.room, state })
    this._startCooldown()
  }

  private _changed(): void {
    const phase = this._phase
    if (phase.kind === 'refused' && phase.retry && this._channel.isOpen) {
      this._join()
      return
    }
    if (phase.kind !== 'joining' && phase.kind !== 'joined') return
    if (this._cooldown !== undefined) {
      this._dirty = true
      return
    }
    this._sendState()
  }

  private _sendState(): void {
    const state = this._encode()
    if (state === undefined) return
    const text = JSON.stringify(state)
    if (text === this._sent) return
    this._sent = text
    this._channel.send({ t: 'pset', room: this.room, state })
    this._startCooldown()
  }

  private _startCooldown(): void {
    if (this._settings.throttle <= 0) return
    if (this._cooldown !== undefined) this._settings.timers.clearTimeout(this._cooldown)
    this._cooldown = this._settings.timers.setTimeout(() => {
      this._cooldown = undefined
      if (!this._dirty) return
      this._dirty = false
      const phase = this._phase.kind
      // The trailing edge: the latest state, whatever came between.
      if (phase === 'joining' || phase === 'joined') this._sendState()
    }, this._settings.throttle)
  }

  private _encode(): Encoded | undefined {
    try {
      return this._settings.serializer.serialize(this.self.current)
    } catch (cause) {
      this._emitError(
        new SyncError('INVALID_VALUE', `The presence state of room "${this.room}" cannot be serialized`, {
          cause,
        }),
      )
      return undefined
    }
  }

  // ——— receiving ———

  private _receive(message: PresenceServerMessage): void {
    if (this._phase.kind === 'stopped') return
    batch(() => {
      switch (message.t) {
        case 'psnap':
          this._snapshot(message.peers)
          return
        case 'ppeer':
          this._peer(message.client, message.state)
          return
        case 'pgone':
          this._gone(message.client)
          return
        case 'reject':
          this._rejected(message.code, message.message)
      }
    })
  }

  private _snapshot(peers: readonly PresencePeer[]): void {
    if (this._phase.kind === 'joining') this._phase = JOINED
    const next = new Map<string, _Known<P>>()
    const joined: Peer<P>[] = []
    for (const { client, state } of peers) {
      if (client === this._channel.clientId || next.has(client)) continue
      const text = JSON.stringify(state)
      const before = this._known.get(client)
      if (before?.text === text) {
        next.set(client, before)
        continue
      }
      const peer = this._decode(client, state)
      if (!peer) continue
      next.set(client, { peer, text })
      if (!before) joined.push(peer)
    }
    const left = [...this._known.values()].filter(known => !next.has(known.peer.client))
    this._known = next
    this._publish()
    for (const known of left) this._emitLeave(known.peer)
    for (const peer of joined) this._emitJoin(peer)
  }

  private _peer(client: string, state: Encoded): void {
    if (client === this._channel.clientId) return
    const text = JSON.stringify(state)
    const before = this._known.get(client)
    if (before?.text === text) return
    const peer = this._decode(client, state)
    if (!peer) return
    this._known.set(client, { peer, text })
    this._publish()
    if (!before) this._emitJoin(peer)
  }

  private _gone(client: string): void {
    const before = this._known.get(client)
    if (!before) return
    this._known.delete(client)
    this._publish()
    this._emitLeave(before.peer)
  }

  private _rejected(code: SyncError['code'], message: string): void {
    // The server answers a pjoin with psnap or reject: a reject while
    // joining refused the join; later ones refused one update.
    if (this._phase.kind === 'joining') this._phase = { kind: 'refused', retry: code !== 'FORBIDDEN' }
    this._emitError(new SyncError(code, `Presence room "${this.room}": ${message}`))
  }

  private _decode(client: string, state: Encoded): Peer<P> | undefined {
    try {
      return Object.freeze({ client, state: this._settings.serializer.deserialize(state) as P })
    } catch (cause) {
      this._emitError(
        new SyncError(
          'BAD_MESSAGE',
          `The presence state of "${client}" in room "${this.room}" cannot be decoded`,
          {
            cause,
          },
        ),
      )
      return undefined
    }
  }

  private _publish(): void {
    this._others.value = Object.freeze([...this._known.values()].map(known => known.peer))
  }
}
