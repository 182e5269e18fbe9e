import { createFrameDecoder, type FrameDecoder, type ServerMessage } from '@lensync/protocol'
import type { SyncServer } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { enc, type RawClient, rawClient, startServerOn } from './hubHelpers.ts'

// Protocol version 2 on the hub, spoken with raw frames: negotiated in
// `hello`, compact frames both ways, version 1 clients on the same hub
// unchanged, and compact input held to version 1's rules.

let server: SyncServer | undefined
const clients: RawClient[] = []

async function connect(): Promise<RawClient> {
  const client = await rawClient((server as SyncServer).url)
  clients.push(client)
  return client
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map(c => c.close()))
  await server?.close()
  server = undefined
})

/** The next frame (raw text) a client receives after `count` frames. */
async function frameAfter(client: RawClient, count: number): Promise<string> {
  await client.next(() => client.frames.length > count)
  return client.frames[count] as string
}

/** What a version 2 client reads from its frames so far (version 1 messages). */
function read(decoder: FrameDecoder, frames: readonly string[]): ServerMessage[] {
  return frames.flatMap(frame => {
    const parsed = decoder.server(frame)
    if (!Array.isArray(parsed)) throw parsed
    return parsed.map(p => {
      if (!p.ok) throw p.error
      return p.message
    })
  })
}

describe.each(['memory', 'redis'] as const)('protocol v2 on %s storage', kind => {
  it('a v2 client and a v1 client sync one entity, each in its own version', async () => {
    server = await startServerOn(kind)
    const [v2, v1, v2b] = [await connect(), await connect(), await connect()]
    v2.send([
      { t: 'hello', v: 2, client: 'c-v2' },
      { t: 'sub', r: 'wide', id: 'w-1' },
    ])
    v1.send([
      { t: 'hello', v: 1, client: 'c-v1' },
      { t: 'sub', r: 'wide', id: 'w-1' },
    ])
    v2b.send([
      { t: 'hello', v: 2, client: 'c-v2b' },
      { t: 'sub', r: 'other', id: 'o' },
      { t: 'sub', r: 'wide', id: 'w-1' },
    ])
    expect(await v2.next({ t: 'welcome' })).toMatchObject({ v: 2 })
    expect(await v1.next({ t: 'welcome' })).toMatchObject({ v: 1 })
    await v1.next({ t: 'snap' } as Partial<ServerMessage>)
    await v2.next(() => v2.frames.some(f => f.includes('"e":')))
    await v2b.next(() => v2b.frames.some(f => f.includes('{"e":[2,"wide","w-1"],"r":0}')))
    // The snap answering the sub gave the entity handle 1 on this connection.
    expect(v2.frames.find(f => f.includes('"e":'))).toContain('{"e":[1,"wide","w-1"],"r":0}')

    // A v1 put, then a compact patch by handle with its op left out after a named one.
    v1.send({ t: 'put', op: 1, r: 'wide', id: 'w-1', value: enc({ status: 'open', n: 1 }) })
    expect(await v1.next({ t: 'ack' })).toEqual({ t: 'ack', op: 1, rev: 1 })
    await v2.next(() => v2.frames.some(f => f.includes('{"c":1,"r":1,"v":{"status":"open","n":1}}')))
    let seen = v2.frames.length
    v2.send('{"p":1,"o":7,"s":["n",2]}')
    expect(await frameAfter(v2, seen)).toContain('{"a":7,"r":2}')
    seen = v2.frames.length
    v2.send('{"p":1,"s":["status","in review"]}')
    expect(await frameAfter(v2, seen)).toContain('{"a":8,"r":3}')

    // The v1 client reads version 1 changes, the other v2 client compact ones with its own handle.
    expect(await v1.next({ t: 'change', rev: 3 } as Partial<ServerMessage>)).toEqual({
      t: 'change',
      r: 'wide',
      id: 'w-1',
      rev: 3,
      set: [[['status'], enc('in review')]],
    })
    await v2b.next(() => v2b.frames.some(f => f.includes('"r":3')))
    expect(v2b.frames.find(f => f.includes('"r":3'))).toContain('{"c":2,"r":3,"s":["status","in review"]}')
    const decoder = createFrameDecoder()
    const messages = read(decoder, v2b.frames)
    expect(messages.at(-1)).toEqual({
      t: 'change',
      r: 'wide',
      id: 'w-1',
      rev: 3,
      set: [[['status'], enc('in review')]],
    })
    expect(messages).toContainEqual({
      t: 'change',
      r: 'wide',
      id: 'w-1',
      rev: 1,
      value: enc({ status: 'open', n: 1 }),
    })
  })
})

describe('protocol v2 negotiation and hostile input', () => {
  it('welcomes version 1 and 2 in their own version, and closes any other with 1002', async () => {
    server = await startServerOn('memory')
    const [v1, v2, newer, older] = [await connect(), await connect(), await connect(), await connect()]
    v1.send({ t: 'hello', v: 1, client: 'c1' })
    v2.send({ t: 'hello', v: 2, client: 'c2' })
    expect(await v1.next({ t: 'welcome' })).toMatchObject({ v: 1 })
    expect(await v2.next({ t: 'welcome' })).toMatchObject({ v: 2 })
    newer.send({ t: 'hello', v: 3, client: 'c3' })
    older.send({ t: 'hello', v: 0, client: 'c4' })
    expect(await newer.closed).toBe(1002)
    expect(await older.closed).toBe(1002)
  })

  it('takes compact envelopes only after a hello agreed on version 2', async () => {
    server = await startServerOn('memory')
    const c = await connect()
    c.send('{"d":["person","1"],"o":1}')
    expect(await c.next({ t: 'error' })).toMatchObject({ code: 'BAD_FRAME' })
  })

  it('refuses hostile compact writes with version 1 errors, and answers a readable op', async () => {
    server = await startServerOn('memory')
    const c = await connect()
    c.send([
      { t: 'hello', v: 2, client: 'c1' },
      { t: 'sub', r: 'person', id: '1' },
    ])
    await c.next({ t: 'welcome' })
    c.send('{"p":["person","1"],"o":1,"s":["__proto__",{"x":1}]}')
    expect(await c.next({ t: 'reject' })).toMatchObject({ op: 1, code: 'BAD_FIELD' })
    c.send('{"w":["person","1"],"o":2,"v":{"a":{"constructor":{}}}}')
    expect(await c.next({ t: 'reject' })).toMatchObject({ op: 2, code: 'BAD_FIELD' })
    c.send('{"p":99,"o":3,"s":["a",1]}')
    expect(await c.next({ t: 'error' })).toMatchObject({
      code: 'BAD_FRAME',
      message: expect.stringContaining('handle 99'),
    })
    // A frame that is not JSON may have held writes: an op is not inferred after it.
    c.send('{"p":1,')
    expect(await c.next({ t: 'error' })).toMatchObject({ code: 'BAD_FRAME' })
    c.send('{"d":1}')
    expect(await c.next({ t: 'error' })).toMatchObject({ message: expect.stringContaining('o is needed') })
    c.send(`{"p":1,"o":4,"s":[${JSON.stringify(Array.from({ length: 65 }, () => 'k'))},1]}`)
    expect(await c.next({ t: 'error' })).toMatchObject({ code: 'BAD_FRAME' })
    // The connection still works.
    const seen = c.frames.length
    c.send('{"w":1,"o":5,"v":{"name":"Ada"}}')
    expect(await frameAfter(c, seen)).toBe('{"a":5,"r":1}')
  })

  it('recognises a compact write resent after a reconnect (its op inferred the first time)', async () => {
    server = await startServerOn('memory')
    const first = await connect()
    first.send([
      { t: 'hello', v: 2, client: 'c-dedup' },
      { t: 'sub', r: 'person', id: '1' },
    ])
    await first.next({ t: 'welcome' })
    first.send('[{"w":["person","1"],"o":10,"v":{"n":1}},{"p":["person","1"],"s":["n",2]}]')
    await first.next(() => first.frames.some(f => f.includes('"a":11')))
    await first.close()
    const second = await connect()
    second.send([
      { t: 'hello', v: 2, client: 'c-dedup' },
      { t: 'sub', r: 'person', id: '1' },
    ])
    await second.next({ t: 'welcome' })
    await second.next(() => second.frames.some(f => f.includes('"e":[1,"person","1"]')))
    const seen = second.frames.length
    second.send('{"p":1,"o":11,"s":["n",2]}')
    // Already applied at revision 2: acknowledged as not applied again.
    expect(await frameAfter(second, seen)).toBe('{"a":11,"r":2,"f":1}')
  })
})
