import { randomUUID } from 'node:crypto'
import type { Redis, RedisOptions } from 'ioredis'
import { _requireOptional } from '../storage/requireOptional.ts'
import {
  _ALIVE,
  _CLEANUP,
  _HEARTBEAT,
  _LEAVE,
  _PRESENCE_SCRIPTS,
  type _PresenceScript,
  _SNAPSHOT,
  _UPSERT,
} from './redisPresenceScripts.ts'
import type { PresenceBus, PresenceBusEvent, PresenceBusListener, PresenceBusMember } from './types.ts'

/** Options of {@link redisPresenceBus}. */
export interface RedisPresenceBusOptions {
  /** The server, as a `redis://` or `rediss://` URL. Default `'redis://127.0.0.1:6379'`. */
  url?: string
  /** The first part of every key, as for `redisStorage` (nodes that share rooms share it). Default `'lensync'`. */
  prefix?: string
  /** This node's id: unique among the nodes, without `|`. Default a random id. */
  node?: string
  /** More ioredis options (TLS, password …); `url` wins for host and port. */
  redisOptions?: RedisOptions
  /** Where connection problems are reported. Default `console`. */
  logger?: { warn?(message: string, ...details: unknown[]): void }
}

/** The defaults of {@link redisPresenceBus}. */
export const defaultRedisPresenceBusOptions = Object.freeze({
  url: 'redis://127.0.0.1:6379',
  prefix: 'lensync',
})

/** @internal Where a watched room is: reading its snapshot (events wait), or following events after `seq`. */
type _Watch =
  | { readonly kind: 'loading'; readonly buffer: { seq: number; node: string; event: PresenceBusEvent }[] }
  | { readonly kind: 'following'; readonly seq: number }

/**
 * Shares presence rooms between server nodes through Redis. Keys (all under
 * the Cluster hash tag `{prefix}`):
 * - `{prefix}:presence:room:<room>` — hash: client → `<joined>|<node>|<state>`,
 *   so a node that gets its first member in a room reads who is there;
 * - `{prefix}:presence:seq` — the number of the last event;
 * - `{prefix}:presence:node:<node>` — the node's heartbeat, refreshed every
 *   `presenceTimeout / 4` with a TTL of `presenceTimeout / 2`;
 * - `{prefix}:presence:members:<node>` — hash of the places the node holds.
 *
 * Every join, update and leave is one Lua script that updates the room's
 * hash, numbers the event and publishes it on the channel
 * `{prefix}:presence`; a snapshot is read with its number, so events older
 * than it are skipped. Every `presenceTimeout / 4` a node checks the
 * heartbeats of the nodes whose members it shows; a missing one is dead:
 * its members leave every room (within `presenceTimeout` of its death) and
 * are removed from Redis. A node that finds its own heartbeat expired (it
 * stalled) announces its members again.
 *
 * @param options - `url`, `prefix`, `node`, `redisOptions`, `logger`.
 * @returns The bus, for `createPresenceRooms({ bus })`.
 * @throws TypeError naming a bad option; ServerError `MODULE_MISSING` without `ioredis`.
 * @example
 * const presence = createPresenceRooms({ send, bus: redisPresenceBus({ url: 'redis://127.0.0.1:6379' }) })
 * await presence.ready
 */
export function redisPresenceBus(options: RedisPresenceBusOptions = {}): PresenceBus {
  const where = 'redisPresenceBus(options)'
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`${where}: options must be an object`)
  const url = options.url ?? defaultRedisPresenceBusOptions.url
  const prefix = options.prefix ?? defaultRedisPresenceBusOptions.prefix
  const node = options.node ?? randomUUID().slice(0, 8)
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url))
    throw new TypeError(`${where}: url must be a redis:// or rediss:// URL, got ${String(url)}`)
  if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix))
    throw new TypeError(`${where}: prefix must be a non-empty string without braces, got ${String(prefix)}`)
  if (typeof node !== 'string' || node === '' || /[|\n]/.test(node))
    throw new TypeError(
      `${where}: node must be a non-empty string without "|" or newlines, got ${String(node)}`,
    )
  // ioredis is an optional peer dependency, loaded only when Redis is used.
  const ioredis = _requireOptional<typeof import('ioredis')>('ioredis', 'redisPresenceBus')
  return new RedisPresenceBus(
    ioredis,
    url,
    prefix,
    node,
    options.redisOptions ?? {},
    options.logger ?? console,
  )
}

/** @internal The {@link redisPresenceBus} implementation. */
class RedisPresenceBus implements PresenceBus {
  readonly node: string
  private readonly _base: string
  private readonly _channel: string
  private readonly _seqKey: string
  private readonly _redis: Redis
  private readonly _subscriber: Redis
  private _listener: PresenceBusListener | undefined
  private _period = 0
  private readonly _watches = new Map<string, _Watch>()
  /** This node's places: room → client → state, to announce them again after a stall. */
  private readonly _own = new Map<string, Map<string, string>>()
  /** Other nodes whose members this node was told about: checked for a heartbeat. */
  private readonly _nodes = new Set<string>()
  private _timer: ReturnType<typeof setTimeout> | undefined
  private _subscribedOnce = false
  private _closed: Promise<void> | undefined

  constructor(
    ioredis: typeof import('ioredis'),
    url: string,
    prefix: string,
    node: string,
    redisOptions: RedisOptions,
    private readonly _logger: NonNullable<RedisPresenceBusOptions['logger']>,
  ) {
    this.node = node
    this._base = `{${prefix}}:presence`
    this._channel = this._base
    this._seqKey = `${this._base}:seq`
    const settings = { maxRetriesPerRequest: 3, ...redisOptions, protocol: 2 as const, lazyConnect: true }
    this._redis = new ioredis.Redis(url, settings)
    this._subscriber = new ioredis.Redis(url, settings)
    for (const client of [this._redis, this._subscriber])
      client.on('error', error => this._warn('lensync presence: Redis connection error', error))
  }

  async start(listener: PresenceBusListener, settings: { readonly presenceTimeout: number }): Promise<void> {
    this._listener = listener
    // Death is noticed within presenceTimeout: the key outlives the last
    // refresh by at most half of it, and the next check comes a quarter later.
    this._period = Math.max(1, Math.floor(settings.presenceTimeout / 4))
    await Promise.all([this._redis.connect(), this._subscriber.connect()])
    for (const s of _PRESENCE_SCRIPTS) await this._redis.script('LOAD', s.lua)
    await this._beat()
    this._subscriber.on('message', (_channel: string, message: string) => this._received(message))
    this._subscriber.on('ready', () => {
      // Events published while the subscription was down are lost: read every room again.
      if (this._subscribedOnce && !this._closed)
        for (const room of this._watches.keys()) void this._load(room)
    })
    await this._subscriber.subscribe(this._channel)
    this._subscribedOnce = true
    this._schedule()
  }

  async watch(room: string): Promise<void> {
    await this._load(room)
  }

  unwatch(room: string): void {
    this._watches.delete(room)
  }

  publish(event: PresenceBusEvent): void {
    if (this._closed) return
    let places = this._own.get(event.room)
    if (event.kind === 'leave') {
      places?.delete(event.client)
      if (places?.size === 0) this._own.delete(event.room)
    } else {
      if (!places) {
        places = new Map()
        this._own.set(event.room, places)
      }
      places.set(event.client, event.state)
    }
    this._send(event).catch(error => this._warn('lensync presence: publishing to Redis failed', error))
  }

  close(): Promise<void> {
    this._closed ??= (async () => {
      if (this._timer !== undefined) clearTimeout(this._timer)
      this._listener = undefined
      try {
        // Whatever this node still holds goes now (the rooms published their
        // leaves first; this catches what a failure left behind).
        await this._redis.del(this._heartbeatKey(this.node))
        await this._run(
          _CLEANUP,
          [this._seqKey, this._membersKey(this.node), this._heartbeatKey(this.node)],
          [this.node, this._channel, `${this._base}:room:`],
        )
      } catch (error) {
        this._warn('lensync presence: removing this node from Redis failed', error)
      }
      await Promise.allSettled([this._redis.quit(), this._subscriber.quit()])
    })()
    return this._closed
  }

  // ——— rooms ———

  private async _load(room: string): Promise<void> {
    const watch: _Watch = { kind: 'loading', buffer: [] }
    this._watches.set(room, watch)
    const [seqText, flat] = (await this._run(_SNAPSHOT, [this._seqKey, this._roomKey(room)], [])) as [
      string,
      string[],
    ]
    if (this._watches.get(room) !== watch) return
    const seq = Number(seqText)
    const found: (PresenceBusMember & { joined: number })[] = []
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const value = flat[i + 1] as string
      const first = value.indexOf('|')
      const second = value.indexOf('|', first + 1)
      const node = value.slice(first + 1, second)
      if (node === this.node) continue
      this._nodes.add(node)
      found.push({
        client: flat[i] as string,
        node,
        state: value.slice(second + 1),
        joined: Number(value.slice(0, first)),
      })
    }
    found.sort((a, b) => a.joined - b.joined)
    this._watches.set(room, { kind: 'following', seq })
    this._listener?.snapshot(
      room,
      found.map(({ client, node, state }) => ({ client, node, state })),
    )
    for (const waiting of watch.buffer) if (waiting.seq > seq) this._deliver(waiting.node, waiting.event)
  }

  private _received(message: string): void {
    const bar = message.indexOf('|')
    const newline = message.indexOf('\n', bar)
    let header: { n: string; k: PresenceBusEvent['kind']; r: string; c: string }
    try {
      header = JSON.parse(message.slice(bar + 1, newline))
    } catch (error) {
      this._warn('lensync presence: an unreadable event on the channel was skipped', error)
      return
    }
    if (header.n === this.node) return
    const watch = this._watches.get(header.r)
    if (!watch) return
    const seq = Number(message.slice(0, bar))
    const event: PresenceBusEvent =
      header.k === 'leave'
        ? { kind: 'leave', room: header.r, client: header.c }
        : { kind: header.k, room: header.r, client: header.c, state: message.slice(newline + 1) }
    if (watch.kind === 'loading') watch.buffer.push({ seq, node: header.n, event })
    else if (seq > watch.seq) this._deliver(header.n, event)
  }

  private _deliver(node: string, event: PresenceBusEvent): void {
    if (event.kind !== 'leave') this._nodes.add(node)
    this._listener?.event(node, event)
  }

  private _send(event: PresenceBusEvent): Promise<unknown> {
    const field = JSON.stringify([event.room, event.client])
    const header = JSON.stringify({ n: this.node, k: event.kind, r: event.room, c: event.client })
    const keys = [this._seqKey, this._roomKey(event.room), this._membersKey(this.node)]
    if (event.kind === 'leave')
      return this._run(_LEAVE, keys, [this.node, event.client, field, this._channel, header])
    return this._run(_UPSERT, keys, [
      this.node,
      event.client,
      event.state,
      field,
      this._channel,
      header,
      `${this._base}:members:`,
    ])
  }

  // ——— heartbeats ———

  private _schedule(): void {
    if (this._closed) return
    this._timer = setTimeout(() => {
      void this._tick().finally(() => this._schedule())
    }, this._period)
    this._timer.unref?.()
  }

  private async _tick(): Promise<void> {
    try {
      await Promise.all([this._beat(), this._check()])
    } catch (error) {
      this._warn('lensync presence: the heartbeat failed', error)
    }
  }

  private async _beat(): Promise<void> {
    const existed = await this._run(_HEARTBEAT, [this._heartbeatKey(this.node)], [this._period * 2])
    if (existed === 0 && this._subscribedOnce && !this._closed) {
      // This node was silent long enough to be taken for dead: others
      // removed its members. Announce them again.
      for (const [room, places] of this._own)
        for (const [client, state] of places)
          this._send({ kind: 'join', room, client, state }).catch(error =>
            this._warn('lensync presence: announcing members again failed', error),
          )
    }
  }

  private async _check(): Promise<void> {
    const nodes = [...this._nodes]
    if (nodes.length === 0) return
    const alive = (await this._run(
      _ALIVE,
      nodes.map(node => this._heartbeatKey(node)),
      [],
    )) as number[]
    for (let i = 0; i < nodes.length; i++) {
      if (alive[i] === 1 || this._closed) continue
      const node = nodes[i] as string
      this._nodes.delete(node)
      this._listener?.nodeGone(node)
      await this._run(
        _CLEANUP,
        [this._seqKey, this._membersKey(node), this._heartbeatKey(node)],
        [node, this._channel, `${this._base}:room:`],
      )
    }
  }

  // ——— Redis ———

  private async _run(script: _PresenceScript, keys: readonly string[], args: readonly (string | number)[]) {
    try {
      return await this._redis.evalsha(script.sha, keys.length, ...keys, ...args)
    } catch (error) {
      // Redis lost its script cache (a restart): run the script itself.
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error
      return this._redis.eval(script.lua, keys.length, ...keys, ...args)
    }
  }

  private _roomKey(room: string): string {
    return `${this._base}:room:${room}`
  }

  private _heartbeatKey(node: string): string {
    return `${this._base}:node:${node}`
  }

  private _membersKey(node: string): string {
    return `${this._base}:members:${node}`
  }

  private _warn(message: string, error: unknown): void {
    this._logger.warn?.(message, error)
  }
}
