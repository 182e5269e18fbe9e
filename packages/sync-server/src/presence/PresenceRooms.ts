import {
  type Encoded,
  encodePresenceGone,
  encodePresencePeer,
  encodePresenceSnap,
  encodeReject,
  findForbiddenKeyInEncoded,
} from '@lensync/protocol'
import { _PresenceBucket } from './presenceBucket.ts'
import { type _ResolvedPresenceOptions, _resolvePresenceOptions } from './presenceOptions.ts'
import type {
  PresenceBusEvent,
  PresenceBusListener,
  PresenceBusMember,
  PresenceDisconnect,
  PresenceMember,
  PresenceOutcome,
  PresenceRejectCode,
  PresenceRoomsOptions,
} from './types.ts'

/**
 * @internal
 * Who holds a member's place in a room: a connection of this node
 * (`live`), a connection of this node that was lost and may come back
 * within `presenceTimeout` (`lingering`), or another node (`remote`).
 */
type _Owner<M> =
  | { readonly kind: 'live'; readonly member: M }
  | { readonly kind: 'lingering'; readonly member: M }
  | { readonly kind: 'remote'; readonly node: string }

/** @internal One member of a room. */
interface _Entry<M> {
  readonly client: string
  /** The JSON text of its state's envelope. */
  state: string
  owner: _Owner<M>
}

/** @internal A room with at least one member of this node (or one joining). */
interface _Room<M> {
  readonly name: string
  /** By client id, in joining order (a member that comes back keeps its place). */
  readonly entries: Map<string, _Entry<M>>
  /** Resolves once the bus delivered the members of other nodes. */
  readonly loaded: Promise<void>
  /** Joins waiting for `loaded`: the room must not be dropped under them. */
  joining: number
}

/** @internal One connection's presence bookkeeping. */
interface _Connection<M> {
  readonly member: M
  /** The rooms it holds a place in. */
  readonly rooms: Set<string>
  /** Joins waiting for `authorize` or the bus (they count towards `maxRooms`). */
  joining: number
  readonly bucket: _PresenceBucket | undefined
  /** Rooms whose latest state waits for a token (coalesced). */
  readonly pending: Set<string>
  flushTimer: unknown
  gone: boolean
}

/** @internal A lost connection's places, kept until `presenceTimeout`. */
interface _Linger<M> {
  readonly member: M
  readonly rooms: Set<string>
  readonly timer: unknown
}

const JOINED: PresenceOutcome = Object.freeze({ kind: 'joined' })
const UPDATED: PresenceOutcome = Object.freeze({ kind: 'updated' })
const COALESCED: PresenceOutcome = Object.freeze({ kind: 'coalesced' })
const UNCHANGED: PresenceOutcome = Object.freeze({ kind: 'unchanged' })
const LEFT: PresenceOutcome = Object.freeze({ kind: 'left' })
const IGNORED: PresenceOutcome = Object.freeze({ kind: 'ignored' })

/**
 * The presence rooms of one hub: who is in which room with which state.
 * Ephemeral — nothing is stored; members of other server nodes come
 * through a {@link PresenceBus}. Transport-independent: the hub calls
 * {@link PresenceRooms.join}, {@link PresenceRooms.set},
 * {@link PresenceRooms.leave} for its connections' `pjoin`/`pset`/`pleave`
 * and {@link PresenceRooms.disconnect} when one ends; what members must hear
 * (`psnap`, `ppeer`, `pgone`, `reject`) goes out through the injected `send`.
 *
 * States are whole envelopes, never diffs (a typical state is smaller than
 * a diff's framing; see the README). Make one with {@link createPresenceRooms}.
 */
export class PresenceRooms<M extends PresenceMember = PresenceMember> {
  /** Resolves when the bus follows the other nodes (at once for one node); rejects when it cannot. */
  readonly ready: Promise<void>

  private readonly _options: _ResolvedPresenceOptions<M>
  private readonly _rooms = new Map<string, _Room<M>>()
  private readonly _connections = new Map<M, _Connection<M>>()
  private readonly _lingering = new Map<M, _Linger<M>>()
  private _closed: Promise<void> | undefined

  /** @internal Use {@link createPresenceRooms}. */
  constructor(options: _ResolvedPresenceOptions<M>) {
    this._options = options
    const listener: PresenceBusListener = {
      snapshot: (room, members) => this._remoteSnapshot(room, members),
      event: (node, event) => this._remoteEvent(node, event),
      nodeGone: node => this._nodeGone(node),
    }
    this.ready = options.bus.start(listener, { presenceTimeout: options.presenceTimeout })
    // Whoever serves awaits `ready`; this only keeps an early failure from being unhandled.
    this.ready.catch(() => {})
  }

  /** This node's id (the bus's). */
  get node(): string {
    return this._options.bus.node
  }

  /**
   * The members of a room as this node sees them, in joining order (for
   * tests and inspection). A member whose connection was lost is listed
   * until `presenceTimeout`.
   *
   * @returns `{ client, state }` with each state's envelope JSON text.
   */
  members(room: string): readonly { readonly client: string; readonly state: string }[] {
    const entries = this._rooms.get(room)?.entries
    return entries ? [...entries.values()].map(({ client, state }) => ({ client, state })) : []
  }

  /**
   * A `pjoin`: `member` enters `room` with `state`, or — when it is in the
   * room already, or its client id is (a reconnect within
   * `presenceTimeout`, or on another node) — takes its place again, without
   * the others seeing it leave and join; they get the state if it changed.
   * The member gets `psnap` with the other members in joining order, the
   * others `ppeer`.
   *
   * @param state - The state's envelope as it arrived (`pjoin.state`).
   * @returns What became of it; a refusal was also sent as `reject`:
   *   `BAD_FIELD` (a forbidden key), `TOO_LARGE` (over `maxPresenceBytes`),
   *   `RATE_LIMITED` (in `maxRooms` rooms already), `FORBIDDEN` (`authorize`).
   */
  async join(member: M, room: string, state: Encoded): Promise<PresenceOutcome> {
    const connection = this._connection(member)
    if (!connection) return IGNORED
    const text = this._check(member, room, state)
    if (typeof text !== 'string') return text
    if (!connection.rooms.has(room)) {
      const { maxRooms } = this._options
      if (connection.rooms.size + connection.joining >= maxRooms)
        return this._reject(member, room, 'RATE_LIMITED', `a connection may be in ${maxRooms} rooms at most`)
      connection.joining++
      try {
        if (!(await this._authorized(member, room)))
          return this._reject(member, room, 'FORBIDDEN', `joining presence room "${room}" is not allowed`)
      } finally {
        connection.joining--
      }
    }
    if (connection.gone || this._closed) return IGNORED
    const loading = this._room(room)
    loading.joining++
    try {
      await loading.loaded
    } catch (error) {
      // Without the other nodes' members the room still works on this node;
      // the bus delivers them again once it is back.
      this._options.logger.error(`lensync presence: reading room "${room}" from the bus failed`, error)
    } finally {
      loading.joining--
    }
    const r = this._rooms.get(room)
    if (connection.gone || this._closed || r !== loading) {
      this._release(loading)
      return IGNORED
    }
    const existing = r.entries.get(member.client)
    connection.rooms.add(room)
    if (!existing) {
      const entry: _Entry<M> = { client: member.client, state: text, owner: { kind: 'live', member } }
      r.entries.set(member.client, entry)
      this._sendSnapshot(r, member)
      this._announce(r, entry, 'join')
      return JOINED
    }
    const previous = existing.owner
    if (previous.kind !== 'remote' && previous.member !== member) this._disown(previous.member, room)
    // A coalesced state still owed to the others goes out now.
    const changed = connection.pending.delete(room) || existing.state !== text
    existing.state = text
    existing.owner = { kind: 'live', member }
    this._sendSnapshot(r, member)
    if (changed) this._announce(r, existing, 'set')
    // Taken over from another node: the others learn who holds it now.
    else if (previous.kind === 'remote')
      this._options.bus.publish({ kind: 'join', room, client: member.client, state: text })
    return JOINED
  }

  /**
   * A `pset`: the member's new state goes to the others (`ppeer`). Over the
   * connection's rate the state is kept (late joiners get it) and sent when
   * a token is there — the latest one only. Ignored when the member is not
   * in the room.
   *
   * @returns What became of it; `BAD_FIELD` and `TOO_LARGE` were also sent as `reject`.
   */
  set(member: M, room: string, state: Encoded): PresenceOutcome {
    const connection = this._connections.get(member)
    const entry = this._rooms.get(room)?.entries.get(member.client)
    if (!connection || connection.gone || !connection.rooms.has(room) || !entry) return IGNORED
    const text = this._check(member, room, state)
    if (typeof text !== 'string') return text
    if (text === entry.state) return UNCHANGED
    entry.state = text
    if (connection.pending.has(room)) return COALESCED
    if (connection.bucket === undefined || connection.bucket.take()) {
      this._announce(this._rooms.get(room) as _Room<M>, entry, 'set')
      return UPDATED
    }
    connection.pending.add(room)
    this._scheduleFlush(connection)
    return COALESCED
  }

  /**
   * A `pleave`: the member leaves the room; the others get `pgone`.
   *
   * @returns `left`, or `ignored` when it was not in the room.
   */
  leave(member: M, room: string): PresenceOutcome {
    const connection = this._connections.get(member)
    if (!connection?.rooms.delete(room)) return IGNORED
    connection.pending.delete(room)
    const r = this._rooms.get(room) as _Room<M>
    const entry = r.entries.get(member.client)
    if (entry?.owner.kind === 'live' && entry.owner.member === member) this._remove(r, entry, true)
    this._release(r)
    return LEFT
  }

  /**
   * The member's connection ended. `clean` (a close frame was received or
   * sent): it leaves every room now. Otherwise (the connection was lost) it
   * stays in its rooms for `presenceTimeout`: its client id joining again
   * within that time takes its place back without a leave; then it leaves.
   * Idempotent.
   */
  disconnect(member: M, how: PresenceDisconnect): void {
    const connection = this._connections.get(member)
    if (!connection) return
    this._connections.delete(member)
    connection.gone = true
    if (connection.flushTimer !== undefined) this._options.timers.clearTimeout(connection.flushTimer)
    connection.flushTimer = undefined
    const held: _Room<M>[] = []
    for (const room of connection.rooms) {
      const r = this._rooms.get(room) as _Room<M>
      const entry = r.entries.get(member.client)
      if (entry?.owner.kind === 'live' && entry.owner.member === member) held.push(r)
    }
    if (how.clean) {
      for (const r of held) {
        this._remove(r, r.entries.get(member.client) as _Entry<M>, true)
        this._release(r)
      }
      return
    }
    // The others see the last state while the member may come back.
    for (const room of connection.pending) {
      const r = this._rooms.get(room) as _Room<M>
      const entry = r.entries.get(member.client)
      if (entry && held.includes(r)) this._announce(r, entry, 'set')
    }
    if (held.length === 0) return
    for (const r of held) (r.entries.get(member.client) as _Entry<M>).owner = { kind: 'lingering', member }
    const linger: _Linger<M> = {
      member,
      rooms: new Set(held.map(r => r.name)),
      timer: this._options.timers.setTimeout(() => this._expire(member), this._options.presenceTimeout),
    }
    this._lingering.set(member, linger)
  }

  /**
   * Stops: clears every timer, tells the other nodes this node's members
   * left (its connections are being closed anyway) and closes the bus.
   * Sends nothing to members. Idempotent.
   */
  close(): Promise<void> {
    this._closed ??= (async () => {
      const { timers, bus } = this._options
      for (const connection of this._connections.values()) {
        connection.gone = true
        if (connection.flushTimer !== undefined) timers.clearTimeout(connection.flushTimer)
      }
      for (const linger of this._lingering.values()) timers.clearTimeout(linger.timer)
      for (const r of this._rooms.values())
        for (const entry of r.entries.values())
          if (entry.owner.kind !== 'remote')
            bus.publish({ kind: 'leave', room: r.name, client: entry.client })
      this._connections.clear()
      this._lingering.clear()
      this._rooms.clear()
      await this.ready.catch(() => {})
      await bus.close()
    })()
    return this._closed
  }

  // ——— this node's members ———

  private _connection(member: M): _Connection<M> | undefined {
    if (this._closed) return undefined
    let connection = this._connections.get(member)
    if (!connection) {
      const { rate, now } = this._options
      connection = {
        member,
        rooms: new Set(),
        joining: 0,
        bucket: rate ? new _PresenceBucket(rate.perSecond, rate.burst, now) : undefined,
        pending: new Set(),
        flushTimer: undefined,
        gone: false,
      }
      this._connections.set(member, connection)
    }
    return connection
  }

  /** The state's JSON text, or the refusal (already sent). */
  private _check(member: M, room: string, state: Encoded): string | PresenceOutcome {
    const forbidden = findForbiddenKeyInEncoded(state)
    if (forbidden !== undefined)
      return this._reject(member, room, 'BAD_FIELD', `the state contains the refused key "${forbidden}"`)
    const text = JSON.stringify(state)
    const max = this._options.maxPresenceBytes
    // Three bytes per UTF-16 unit at most: short states skip the count.
    if (text.length * 3 > max) {
      const bytes = Buffer.byteLength(text)
      if (bytes > max)
        return this._reject(
          member,
          room,
          'TOO_LARGE',
          `the state is ${bytes} bytes; at most ${max} are allowed`,
        )
    }
    return text
  }

  private async _authorized(member: M, room: string): Promise<boolean> {
    const { authorize, logger } = this._options
    if (!authorize) return true
    try {
      return (await authorize(member, room)) === true
    } catch (error) {
      logger.error(`lensync presence: authorize threw for room "${room}"; refusing`, error)
      return false
    }
  }

  private _reject(member: M, room: string, code: PresenceRejectCode, message: string): PresenceOutcome {
    this._options.send(member, encodeReject({ room }, code, message))
    return { kind: 'rejected', code, message }
  }

  /** The room, made and watched on the bus when new. */
  private _room(name: string): _Room<M> {
    let r = this._rooms.get(name)
    if (!r) {
      const { bus } = this._options
      r = {
        name,
        entries: new Map(),
        loaded: this.ready.then(() => bus.watch(name)),
        joining: 0,
      }
      r.loaded.catch(() => {})
      this._rooms.set(name, r)
    }
    return r
  }

  /** Drops the room when no member of this node is in it (or joining). */
  private _release(r: _Room<M>): void {
    if (r.joining > 0 || this._rooms.get(r.name) !== r) return
    for (const entry of r.entries.values()) if (entry.owner.kind !== 'remote') return
    this._rooms.delete(r.name)
    this._options.bus.unwatch(r.name)
  }

  /** `member` (an older connection of the client) no longer holds its place in `room`. */
  private _disown(member: M, room: string): void {
    const connection = this._connections.get(member)
    connection?.rooms.delete(room)
    connection?.pending.delete(room)
    const linger = this._lingering.get(member)
    if (linger?.rooms.delete(room) && linger.rooms.size === 0) {
      this._options.timers.clearTimeout(linger.timer)
      this._lingering.delete(member)
    }
  }

  private _expire(member: M): void {
    const linger = this._lingering.get(member)
    if (!linger) return
    this._lingering.delete(member)
    for (const room of linger.rooms) {
      const r = this._rooms.get(room)
      const entry = r?.entries.get(member.client)
      if (!r || entry?.owner.kind !== 'lingering' || entry.owner.member !== member) continue
      this._remove(r, entry, true)
      this._release(r)
    }
  }

  private _scheduleFlush(connection: _Connection<M>): void {
    if (connection.flushTimer !== undefined || connection.bucket === undefined) return
    connection.flushTimer = this._options.timers.setTimeout(
      () => this._flush(connection),
      connection.bucket.wait(),
    )
  }

  private _flush(connection: _Connection<M>): void {
    connection.flushTimer = undefined
    if (connection.gone) return
    for (const room of connection.pending) {
      if (connection.bucket && !connection.bucket.take()) break
      connection.pending.delete(room)
      const r = this._rooms.get(room)
      const entry = r?.entries.get(connection.member.client)
      if (r && entry?.owner.kind === 'live' && entry.owner.member === connection.member)
        this._announce(r, entry, 'set')
    }
    if (connection.pending.size > 0) this._scheduleFlush(connection)
  }

  // ——— what members hear ———

  private _sendSnapshot(r: _Room<M>, member: M): void {
    const peers: { client: string; state: string }[] = []
    for (const entry of r.entries.values())
      if (entry.client !== member.client) peers.push({ client: entry.client, state: entry.state })
    this._options.send(member, encodePresenceSnap(r.name, peers))
  }

  /** A member of this node joined or changed: the others here get `ppeer`, the other nodes the event. */
  private _announce(r: _Room<M>, entry: _Entry<M>, kind: 'join' | 'set'): void {
    this._fanOut(r, encodePresencePeer(r.name, entry.client, entry.state), entry.client)
    this._options.bus.publish({ kind, room: r.name, client: entry.client, state: entry.state })
  }

  /** Removes a member; the others here get `pgone`, and with `publish` the other nodes the leave. */
  private _remove(r: _Room<M>, entry: _Entry<M>, publish: boolean): void {
    r.entries.delete(entry.client)
    this._fanOut(r, encodePresenceGone(r.name, entry.client), undefined)
    if (publish) this._options.bus.publish({ kind: 'leave', room: r.name, client: entry.client })
  }

  private _fanOut(r: _Room<M>, text: string, except: string | undefined): void {
    const members: M[] = []
    for (const entry of r.entries.values())
      if (entry.owner.kind === 'live' && entry.client !== except) members.push(entry.owner.member)
    if (members.length === 0) return
    const { broadcast, send } = this._options
    if (broadcast) broadcast(members, text)
    else for (const member of members) send(member, text)
  }

  // ——— members of other nodes ———

  private _remoteSnapshot(room: string, members: readonly PresenceBusMember[]): void {
    const r = this._rooms.get(room)
    if (!r) return
    const listed = new Set<string>()
    for (const member of members) {
      listed.add(member.client)
      const entry = r.entries.get(member.client)
      if (!entry) {
        const added: _Entry<M> = {
          client: member.client,
          state: member.state,
          owner: { kind: 'remote', node: member.node },
        }
        r.entries.set(member.client, added)
        this._fanOut(r, encodePresencePeer(room, added.client, added.state), added.client)
      } else if (entry.owner.kind === 'remote') {
        entry.owner = { kind: 'remote', node: member.node }
        this._updateRemote(r, entry, member.state)
      }
      // A member of this node stays as this node knows it.
    }
    for (const entry of [...r.entries.values()])
      if (entry.owner.kind === 'remote' && !listed.has(entry.client)) this._remove(r, entry, false)
  }

  private _remoteEvent(node: string, event: PresenceBusEvent): void {
    const r = this._rooms.get(event.room)
    if (!r) return
    const entry = r.entries.get(event.client)
    if (event.kind === 'leave') {
      if (entry?.owner.kind === 'remote' && entry.owner.node === node) this._remove(r, entry, false)
      return
    }
    if (!entry) {
      const added: _Entry<M> = { client: event.client, state: event.state, owner: { kind: 'remote', node } }
      r.entries.set(event.client, added)
      this._fanOut(r, encodePresencePeer(r.name, added.client, added.state), added.client)
      return
    }
    const previous = entry.owner
    entry.owner = { kind: 'remote', node }
    this._updateRemote(r, entry, event.state)
    // The client came back on another node: this node's old connection lets go.
    if (previous.kind !== 'remote') {
      this._disown(previous.member, r.name)
      this._release(r)
    }
  }

  private _updateRemote(r: _Room<M>, entry: _Entry<M>, state: string): void {
    if (entry.state === state) return
    entry.state = state
    this._fanOut(r, encodePresencePeer(r.name, entry.client, state), entry.client)
  }

  private _nodeGone(node: string): void {
    for (const r of this._rooms.values())
      for (const entry of [...r.entries.values()])
        if (entry.owner.kind === 'remote' && entry.owner.node === node) this._remove(r, entry, false)
  }
}

/**
 * Makes the presence rooms of one hub (one server node).
 *
 * @param options - `send` (required), `broadcast`, `authorize`, `bus`
 *   (default one node alone), `presenceTimeout` (30 s), `maxPresenceBytes`
 *   (4096), `maxRooms` (100), `rate` (`{ perSecond: 40, burst: 80 }`),
 *   `timers`, `now`, `logger`.
 * @returns The rooms; await `ready` before serving, `close()` at the end.
 * @throws TypeError naming a bad option.
 * @example
 * const presence = createPresenceRooms<HubClient>({
 *   send: (client, text) => client.connection.send(text),
 *   authorize: (client, room) => authorize(client.principal, { op: 'presence', resource: room }),
 * })
 * await presence.join(client, 'person/p1', { json: { name: 'Ada' } })
 */
export function createPresenceRooms<M extends PresenceMember>(
  options: PresenceRoomsOptions<M>,
): PresenceRooms<M> {
  return new PresenceRooms(_resolvePresenceOptions(options))
}
