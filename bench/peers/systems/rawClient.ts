// raw ws: each client is a bare `ws` socket. An edit is `{"f":field,"v":value}`; a receiver
// applies it to a plain object. No acknowledgement, no history, no merge.
import { WebSocket } from 'ws'
import { wideEntity } from '../../lib/fixtures.ts'
import { presenceState, type RecordClient, type SystemClient } from '../lib/system.ts'

function open(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url)
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })
}

function close(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve()
  return new Promise(resolve => {
    socket.once('close', () => resolve())
    socket.close()
  })
}

async function recordClient(url: string, name: string): Promise<RecordClient> {
  const socket = await open(url)
  const value: Record<string, unknown> = wideEntity(name)
  const listeners = new Set<() => void>()
  socket.on('message', (data: Buffer) => {
    const edit = JSON.parse(data.toString()) as { f: string; v: unknown }
    value[edit.f] = edit.v
    for (const listener of listeners) listener()
  })
  return {
    edit(field, next) {
      value[field] = next
      socket.send(JSON.stringify({ f: field, v: next }))
    },
    read: field => value[field],
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    settled: () => Promise.resolve(),
    close: () => close(socket),
  }
}

/** The raw `ws` clients. */
export const client: SystemClient = {
  async createRecord(url, name) {
    return { ref: name, client: await recordClient(url, name) }
  },
  openRecord: (url, ref) => recordClient(url, ref),
  async seedRecords(url, name, count) {
    const socket = await open(url)
    const records: Record<string, unknown> = {}
    for (let i = 0; i < count; i++) records[`r-${i}`] = wideEntity(`r-${i}`)
    socket.send(`S${JSON.stringify(records)}`)
    return { ref: name, close: () => close(socket) }
  },
  async joinRecords(url, _ref, count) {
    const socket = await open(url)
    const records = await new Promise<Record<string, unknown>>(resolve => {
      socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString())))
      socket.send('G')
    })
    const got = Object.keys(records).length
    if (got !== count) throw new Error(`raw: late joiner got ${got} of ${count} records`)
    return () => close(socket)
  },
  presence: {
    createRoom: async (_url, name) => name,
    async join(url, _ref, index) {
      const socket = await open(url)
      const listeners = new Set<(peer: string, cursor: number) => void>()
      socket.on('message', (data: Buffer) => {
        const update = JSON.parse(data.toString()) as { name: string; cursor: number }
        for (const listener of listeners) listener(update.name, update.cursor)
      })
      return {
        move: cursor => socket.send(JSON.stringify(presenceState(index, cursor))),
        onPeer(listener) {
          listeners.add(listener)
          return () => listeners.delete(listener)
        },
        close: () => close(socket),
      }
    },
  },
}
