import { defaultSerializer } from '@lensync/protocol'
import type { Stream } from '@lensync/store'
import { SyncError } from '@lensync/sync-client'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
// The presence unit is not re-exported by the package index until it rides
// the shared connection; then this becomes '@lensync/sync-client'.
import {
  _presenceOver,
  type PresenceChannel,
  type PresenceClientMessage,
  type PresenceServerMessage,
} from '../../src/presence/index.ts'

/** A connection without a server: records what the room sends, delivers what the test says. */
class FakeChannel implements PresenceChannel {
  readonly clientId = 'me'
  isOpen = false
  readonly sent: PresenceClientMessage[] = []
  released = 0
  private readonly _messages = new Set<(message: PresenceServerMessage) => void>()
  private readonly _opens = new Set<() => void>()

  send(message: PresenceClientMessage): void {
    if (this.isOpen) this.sent.push(message)
  }
  onMessage(handler: (message: PresenceServerMessage) => void): () => void {
    this._messages.add(handler)
    return () => this._messages.delete(handler)
  }
  onOpen(handler: () => void): () => void {
    this._opens.add(handler)
    return () => this._opens.delete(handler)
  }
  release(): void {
    this.released++
  }
  open(): void {
    this.isOpen = true
    for (const handler of [...this._opens]) handler()
  }
  lose(): void {
    this.isOpen = false
  }
  deliver(message: PresenceServerMessage): void {
    for (const handler of [...this._messages]) handler(message)
  }
  /** Takes (and clears) what was sent. */
  take(): PresenceClientMessage[] {
    return this.sent.splice(0)
  }
  get listeners(): number {
    return this._messages.size + this._opens.size
  }
}

type Me = { name: string; field?: string; since?: Date }

const enc = (value: unknown) => defaultSerializer.serialize(value)
const peer = (client: string, value: unknown) => ({ client, state: enc(value) })

function record<T>(stream: Stream<T>) {
  const seen: T[] = []
  let ended = false
  stream.subscribe(
    value => void seen.push(value),
    () => {
      ended = true
    },
  )
  return { seen, ended: () => ended }
}

function open(initial: Me = { name: 'Ada' }, throttle?: number) {
  const channel = new FakeChannel()
  channel.open()
  const room = _presenceOver<Me>(channel, 'doc', initial, throttle === undefined ? {} : { throttle })
  return { channel, room }
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('presence: sending my state', () => {
  it('joins with the initial state, encoded by the serializer, and again on every open', () => {
    const channel = new FakeChannel()
    const since = new Date('2024-05-01T10:00:00Z')
    const room = _presenceOver<Me>(channel, 'doc', { name: 'Ada', since })
    expect(channel.take()).toEqual([])
    channel.open()
    const [join] = channel.take()
    expect(join).toMatchObject({ t: 'pjoin', room: 'doc' })
    expect(defaultSerializer.deserialize((join as { state: { json: unknown } }).state)).toEqual({
      name: 'Ada',
      since,
    })
    channel.lose()
    room.self.update({ name: 'Ada B.' })
    channel.open()
    expect(channel.take()).toEqual([{ t: 'pjoin', room: 'doc', state: { json: { name: 'Ada B.' } } }])
  })

  it('sends the first change at once and the latest of a burst when the throttle interval ends', () => {
    const { channel, room } = open()
    channel.take()
    vi.advanceTimersByTime(50)
    room.self.update({ name: 'Ada', field: 'a' })
    expect(channel.take()).toEqual([{ t: 'pset', room: 'doc', state: { json: { name: 'Ada', field: 'a' } } }])
    room.self.update({ name: 'Ada', field: 'b' })
    room.self.update({ name: 'Ada', field: 'c' })
    vi.advanceTimersByTime(49)
    expect(channel.take()).toEqual([])
    vi.advanceTimersByTime(1)
    expect(channel.take()).toEqual([{ t: 'pset', room: 'doc', state: { json: { name: 'Ada', field: 'c' } } }])
    // Nothing more came: nothing more goes, and the interval ends quietly.
    vi.advanceTimersByTime(200)
    expect(channel.take()).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('throttles the changes right after the join too, and skips a state equal to the one sent', () => {
    const { channel, room } = open({ name: 'Ada' })
    channel.take()
    room.self.update({ name: 'Ada', field: 'x' })
    room.self.update({ name: 'Ada' })
    vi.advanceTimersByTime(50)
    expect(channel.take()).toEqual([])
  })

  it('takes the throttle option; 0 sends every change', () => {
    const slow = open({ name: 'Ada' }, 200)
    slow.channel.take()
    slow.room.self.update({ name: 'B' })
    vi.advanceTimersByTime(199)
    expect(slow.channel.take()).toEqual([])
    vi.advanceTimersByTime(1)
    expect(slow.channel.take()).toHaveLength(1)

    const eager = open({ name: 'Ada' }, 0)
    eager.channel.take()
    eager.room.self.update({ name: 'B' })
    eager.room.self.update({ name: 'C' })
    expect(eager.channel.take().map(m => (m as { state: { json: Me } }).state.json.name)).toEqual(['B', 'C'])
  })
})

describe('presence: the others', () => {
  it('shows the other members in joining order, me excluded, with decoded states', () => {
    const { channel, room } = open()
    const joins = record(room.joins)
    const since = new Date('2024-05-01T10:00:00Z')
    channel.deliver({
      t: 'psnap',
      room: 'doc',
      peers: [peer('b', { name: 'Bob', since }), peer('me', { name: 'stale me' }), peer('c', { name: 'Cy' })],
    })
    expect(room.others.value).toEqual([
      { client: 'b', state: { name: 'Bob', since } },
      { client: 'c', state: { name: 'Cy' } },
    ])
    expect(joins.seen.map(p => p.client)).toEqual(['b', 'c'])
    channel.deliver({ t: 'ppeer', room: 'doc', client: 'me', state: enc({ name: 'echo' }) })
    expect(room.others.value.map(p => p.client)).toEqual(['b', 'c'])
  })

  it('adds a joining member at the end, updates a known one in place, and removes one that left', () => {
    const { channel, room } = open()
    const joins = record(room.joins)
    const leaves = record(room.leaves)
    channel.deliver({ t: 'psnap', room: 'doc', peers: [peer('b', { name: 'Bob' })] })
    channel.deliver({ t: 'ppeer', room: 'doc', client: 'c', state: enc({ name: 'Cy' }) })
    channel.deliver({ t: 'ppeer', room: 'doc', client: 'b', state: enc({ name: 'Bob', field: 'email' }) })
    expect(room.others.value).toEqual([
      { client: 'b', state: { name: 'Bob', field: 'email' } },
      { client: 'c', state: { name: 'Cy' } },
    ])
    expect(joins.seen.map(p => p.client)).toEqual(['b', 'c'])
    channel.deliver({ t: 'pgone', room: 'doc', client: 'b' })
    expect(room.others.value.map(p => p.client)).toEqual(['c'])
    expect(leaves.seen).toEqual([{ client: 'b', state: { name: 'Bob', field: 'email' } }])
    channel.deliver({ t: 'pgone', room: 'doc', client: 'nobody' })
    expect(leaves.seen).toHaveLength(1)
  })

  it("ignores other rooms' messages", () => {
    const { channel, room } = open()
    channel.deliver({ t: 'psnap', room: 'other', peers: [peer('b', { name: 'Bob' })] })
    channel.deliver({ t: 'reject', room: 'other', code: 'FORBIDDEN', message: 'no' })
    expect(room.others.value).toEqual([])
  })

  it('re-joins after a reconnect without reporting members who stayed as joining again', () => {
    const { channel, room } = open()
    const joins = record(room.joins)
    const leaves = record(room.leaves)
    channel.deliver({
      t: 'psnap',
      room: 'doc',
      peers: [peer('b', { name: 'Bob' }), peer('c', { name: 'Cy' })],
    })
    const shownBefore = room.others.value[0]
    channel.lose()
    room.self.update({ name: 'Ada', field: 'offline edit' })
    expect(room.others.value.map(p => p.client)).toEqual(['b', 'c']) // kept while offline
    channel.take()
    channel.open()
    expect(channel.take()).toEqual([
      { t: 'pjoin', room: 'doc', state: { json: { name: 'Ada', field: 'offline edit' } } },
    ])
    channel.deliver({
      t: 'psnap',
      room: 'doc',
      peers: [peer('b', { name: 'Bob' }), peer('d', { name: 'Di' })],
    })
    expect(room.others.value.map(p => p.client)).toEqual(['b', 'd'])
    expect(room.others.value[0]).toBe(shownBefore) // unchanged, the same object
    expect(joins.seen.map(p => p.client)).toEqual(['b', 'c', 'd'])
    expect(leaves.seen.map(p => p.client)).toEqual(['c'])
  })

  it('reports a state it cannot decode on errors and skips that member', () => {
    const { channel, room } = open()
    const errors = record(room.errors)
    channel.deliver({
      t: 'psnap',
      room: 'doc',
      peers: [
        { client: 'b', state: { json: 1, meta: { values: ['no-such-type'] } } },
        peer('c', { name: 'Cy' }),
      ],
    })
    expect(room.others.value.map(p => p.client)).toEqual(['c'])
    expect(errors.seen.map(e => e.code)).toEqual(['BAD_MESSAGE'])
  })
})

describe('presence: refusals', () => {
  it('reports a refused join (FORBIDDEN) and sends nothing more until the next open', () => {
    const { channel, room } = open()
    const errors = record(room.errors)
    channel.take()
    channel.deliver({ t: 'reject', room: 'doc', code: 'FORBIDDEN', message: 'not allowed' })
    expect(errors.seen).toHaveLength(1)
    expect(errors.seen[0]).toBeInstanceOf(SyncError)
    expect(errors.seen[0]).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('not allowed'),
    })
    room.self.update({ name: 'Ada', field: 'x' })
    vi.advanceTimersByTime(100)
    expect(channel.take()).toEqual([])
    channel.lose()
    channel.open()
    expect(channel.take()).toEqual([
      { t: 'pjoin', room: 'doc', state: { json: { name: 'Ada', field: 'x' } } },
    ])
  })

  it('after a join refused with TOO_LARGE, the next change joins again', () => {
    const { channel, room } = open({ name: 'x'.repeat(5000) })
    const errors = record(room.errors)
    channel.take()
    channel.deliver({ t: 'reject', room: 'doc', code: 'TOO_LARGE', message: 'the state is 5015 bytes' })
    room.self.update({ name: 'Ada' })
    expect(channel.take()).toEqual([{ t: 'pjoin', room: 'doc', state: { json: { name: 'Ada' } } }])
    expect(errors.seen.map(e => e.code)).toEqual(['TOO_LARGE'])
  })

  it('a refused update (TOO_LARGE, RATE_LIMITED) is reported and the room stays joined', () => {
    const { channel, room } = open()
    const errors = record(room.errors)
    channel.deliver({ t: 'psnap', room: 'doc', peers: [] })
    channel.take()
    channel.deliver({ t: 'reject', room: 'doc', code: 'TOO_LARGE', message: 'too big' })
    channel.deliver({ t: 'reject', room: 'doc', code: 'RATE_LIMITED', message: 'too many rooms' })
    expect(errors.seen.map(e => e.code)).toEqual(['TOO_LARGE', 'RATE_LIMITED'])
    vi.advanceTimersByTime(50)
    room.self.update({ name: 'Ada', field: 'y' })
    expect(channel.take()).toEqual([{ t: 'pset', room: 'doc', state: { json: { name: 'Ada', field: 'y' } } }])
  })
})

describe('presence: stop()', () => {
  it('leaves, ends the streams, forgets the others and stops sending', () => {
    const { channel, room } = open()
    const joins = record(room.joins)
    const leaves = record(room.leaves)
    const errors = record(room.errors)
    channel.deliver({ t: 'psnap', room: 'doc', peers: [peer('b', { name: 'Bob' })] })
    room.self.update({ name: 'Ada', field: 'a' })
    room.self.update({ name: 'Ada', field: 'b' }) // waits for the throttle
    channel.take()
    room.stop()
    expect(channel.take()).toEqual([{ t: 'pleave', room: 'doc' }])
    expect([joins.ended(), leaves.ended(), errors.ended()]).toEqual([true, true, true])
    expect(room.others.value).toEqual([])
    expect(channel.released).toBe(1)
    expect(channel.listeners).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    room.self.update({ name: 'after stop' })
    channel.lose()
    channel.open()
    channel.deliver({ t: 'ppeer', room: 'doc', client: 'c', state: enc({ name: 'Cy' }) })
    expect(channel.take()).toEqual([])
    expect(room.others.value).toEqual([])
    room.stop()
    expect(channel.released).toBe(1)
  })

  it('sends no pleave while offline (the server ends the place when the connection went)', () => {
    const { channel, room } = open()
    channel.take()
    channel.lose()
    room.stop()
    channel.open()
    expect(channel.take()).toEqual([])
  })
})
