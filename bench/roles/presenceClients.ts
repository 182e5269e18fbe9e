// Role: P8's load — N members of one presence room, all bare protocol clients (so the client
// side costs the same for both servers). In a burst, `burst` different members each send one
// state update in the same tick; it is done when every other member has received every update
// of it. Against lensync the update is a `pset` and arrives as `ppeer`; against the raw relay the
// same frame is forwarded as it is.
import { PROTOCOL_VERSION } from '@lensync/protocol'
import { WebSocket } from 'ws'
import { openMany } from '../lib/openMany.ts'
import { ProtocolClient } from '../lib/protocolClient.ts'

/** What one round delivered. */
export interface PresenceRound {
  /** State updates received, summed over members. */
  readonly deliveries: number
  /** Bytes of the frames that carried them, summed over members. */
  readonly bytes: number
  readonly wallMs: number
}

/** One side's members, with a count of what arrived. */
interface Room {
  readonly members: number
  /** Sends the `seq`-th update of member `index`. */
  send(index: number, seq: number): void
  delivered: number
  bytes: number
  /** Called on every delivery while a burst is out. */
  onDelivery: (() => void) | undefined
  close(): Promise<void>
}

const ROOM = 'p8-room'
type Side = 'lensync' | 'raw'
const rooms = new Map<Side, Room>()
let seq = 0

/** A typical presence state: who, their color, the field they edit, a cursor that moves. */
const state = (index: number, n: number) => ({
  json: { name: `guest-${index.toString(16).padStart(4, '0')}`, color: '#1971c2', field: 'name', cursor: n },
})

async function lensyncRoom(url: string, count: number): Promise<Room> {
  const room: Room = {
    members: count,
    send: (index, n) => members[index]?.send({ t: 'pset', room: ROOM, state: state(index, n) }),
    delivered: 0,
    bytes: 0,
    onDelivery: undefined,
    close: async () => {
      await Promise.all(members.map(member => member.close()))
    },
  }
  const members = await openMany(count, async index => {
    const client = await ProtocolClient.open(url)
    await client.request(m => m.t === 'welcome', {
      t: 'hello',
      v: PROTOCOL_VERSION,
      client: `member-${index}`,
    })
    await client.request(m => m.t === 'psnap', { t: 'pjoin', room: ROOM, state: state(index, 0) })
    // Bytes of the frames that carry updates (the joins of later members are not counted).
    client.socket.on('message', (data: Buffer) => {
      if (data.includes('"cursor":0}')) return
      room.bytes += data.length
    })
    client.onMessage(message => {
      if (message.t !== 'ppeer') return
      if ((message.state as { json?: { cursor?: number } }).json?.cursor === 0) return
      room.delivered++
      room.onDelivery?.()
    })
    return client
  })
  return room
}

function openRaw(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url)
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })
}

async function rawRoom(url: string, count: number): Promise<Room> {
  const room: Room = {
    members: count,
    send: (index, n) =>
      members[index]?.send(JSON.stringify({ t: 'pset', room: ROOM, state: state(index, n) })),
    delivered: 0,
    bytes: 0,
    onDelivery: undefined,
    close: async () => {
      for (const socket of members) socket.terminate()
    },
  }
  const members = await openMany(count, async () => {
    const socket = await openRaw(url)
    socket.on('message', (data: Buffer) => {
      room.bytes += data.length
      room.delivered++
      room.onDelivery?.()
    })
    return socket
  })
  return room
}

async function sendBurst(room: Room, burst: number): Promise<void> {
  const target = room.delivered + burst * (room.members - 1)
  const done = new Promise<void>(resolve => {
    room.onDelivery = () => {
      if (room.delivered >= target) resolve()
    }
  })
  const n = ++seq
  for (let i = 0; i < burst; i++) room.send(i, n)
  await done
  room.onDelivery = undefined
}

export const methods = {
  /** Joins `members` members to one room of `url`. */
  async setup(side: Side, url: string, members: number): Promise<void> {
    await rooms.get(side)?.close()
    rooms.set(side, side === 'raw' ? await rawRoom(url, members) : await lensyncRoom(url, members))
  },

  /**
   * Sends `bursts` bursts: in each, `burst` members send one update in one
   * tick; the next burst once the last one reached every other member.
   */
  async round(side: Side, bursts: number, burst: number): Promise<PresenceRound> {
    const room = rooms.get(side)
    if (!room) throw new Error(`presenceClients: setup(${side}) first`)
    const before = { delivered: room.delivered, bytes: room.bytes }
    const start = performance.now()
    for (let i = 0; i < bursts; i++) await sendBurst(room, burst)
    return {
      deliveries: room.delivered - before.delivered,
      bytes: room.bytes - before.bytes,
      wallMs: performance.now() - start,
    }
  },

  /** Closes every connection. */
  async teardown(): Promise<void> {
    await Promise.all([...rooms.values()].map(room => room.close()))
    rooms.clear()
  },
}
