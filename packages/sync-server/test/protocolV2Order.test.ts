import { createFrameDecoder, type ServerMessage } from '@lensync/protocol'
import { memoryStorage, type Storage, type SyncServer } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { deferred } from './appHelpers.ts'
import { enc, type RawClient, rawClient, startServer } from './hubHelpers.ts'

// A change of an entity committed while a connection's own write of that
// entity waits for its answer goes out before that answer (revision order),
// and in protocol version 2 it names the entity in full: the answer that
// follows is where a handle could first be given, so the change may not
// lean on one.

let server: SyncServer | undefined
const clients: RawClient[] = []

afterEach(async () => {
  await Promise.all(clients.splice(0).map(c => c.close()))
  await server?.close()
  server = undefined
})

/**
 * Memory storage whose next commit, once armed, waits for `release`, and
 * which reports every entity read (a sign of what the hub has handled).
 */
function gatedStorage() {
  const inner = memoryStorage()
  let armed: { release: Promise<void> } | undefined
  const reads: string[] = []
  const storage = new Proxy(inner, {
    get(target, key) {
      if (key === 'commit')
        return (writes: Parameters<Storage['commit']>[0]) => {
          const gate = armed
          armed = undefined
          return gate ? gate.release.then(() => target.commit(writes)) : target.commit(writes)
        }
      if (key === 'get')
        return (resource: string, id: string) => {
          reads.push(`${resource}/${id}`)
          return target.get(resource, id)
        }
      const value = Reflect.get(target, key) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return {
    storage,
    reads,
    arm(release: Promise<void>) {
      armed = { release }
    },
  }
}

describe('protocol v2: a change ahead of a pending answer', () => {
  it('arrives before the writer’s ack, in revision order, naming the entity in full', async () => {
    const gated = gatedStorage()
    server = await startServer({ storage: gated.storage })
    const url = server.url
    const [other, mine] = await Promise.all([rawClient(url), rawClient(url)])
    clients.push(other, mine)
    other.send({ t: 'hello', v: 1, client: 'c-other' })
    await other.next({ t: 'welcome' })
    other.send({ t: 'put', op: 1, r: 'wide', id: 'w-1', value: enc({ n: 0, m: 0 }) })
    expect(await other.next({ t: 'ack' })).toMatchObject({ rev: 1 })

    // Version 2, subscribed to the whole collection: no handle for w-1 yet.
    mine.send([
      { t: 'hello', v: 2, client: 'c-mine' },
      { t: 'sub', r: 'wide' },
    ])
    await mine.next(() => mine.frames.some(f => f.includes('"w-1"')))
    const seen = mine.frames.length

    // The other client's write commits slowly; mine, of the same entity, queues behind it.
    const release = deferred<void>()
    gated.arm(release.promise)
    other.send({ t: 'patch', op: 2, r: 'wide', id: 'w-1', set: [[['n'], enc(2)]] })
    mine.send('{"p":["wide","w-1"],"o":1,"s":["m",1]}')
    // Frames are handled in order: once this sub reads storage, my patch was handled.
    mine.send({ t: 'sub', r: 'later', id: 'l-1' })
    await expect.poll(() => gated.reads.includes('later/l-1')).toBe(true)
    release.resolve()

    expect(await other.next({ t: 'ack', op: 2 } as Partial<ServerMessage>)).toMatchObject({ rev: 2 })
    await mine.next(() => mine.frames.slice(seen).some(f => f.includes('"later"')))
    const after = mine.frames.slice(seen)
    const changeAt = after.findIndex(f => f.includes('"c":["wide","w-1"]'))
    const ackAt = after.findIndex(f => f.includes('"a":1'))
    // The change names w-1 in full, and comes before my ack.
    expect(changeAt).toBeGreaterThanOrEqual(0)
    expect(ackAt).toBeGreaterThanOrEqual(changeAt)

    // What a version 2 client reads: rev 2 (theirs), then my ack at rev 3, then the later snap.
    const decoder = createFrameDecoder()
    const messages = mine.frames.flatMap(frame => {
      const parsed = decoder.server(frame)
      if (!Array.isArray(parsed)) throw parsed
      return parsed.map(p => {
        if (!p.ok) throw p.error
        return p.message
      })
    })
    const tail = messages.slice(messages.findIndex(m => m.t === 'change'))
    expect(tail.map(m => m.t)).toEqual(['change', 'ack', 'snap'])
    expect(tail[0]).toMatchObject({ t: 'change', r: 'wide', id: 'w-1', rev: 2 })
    expect(tail[1]).toMatchObject({ t: 'ack', op: 1, rev: 3 })
    expect(tail[2]).toMatchObject({ t: 'snap', r: 'later', id: 'l-1' })
  })
})
