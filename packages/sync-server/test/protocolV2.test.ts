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

describe.each(['memory', 'redis'] as const)('protocol v3 short patches on %s storage', kind => {
  it('a short patch is applied, acknowledged, and broadcast to v1, v2 and v3 subscribers in their own forms', async () => {
    server = await startServerOn(kind)
    const [v3, v1, v2, v3b] = [await connect(), await connect(), await connect(), await connect()]
    for (const [c, v] of [
      [v3, 3],
      [v1, 1],
      [v2, 2],
      [v3b, 3],
    ] as const)
      c.send([
        { t: 'hello', v, client: `c-v${v}-${c === v3b ? 'b' : 'a'}` },
        { t: 'sub', r: 'wide', id: 'w-1' },
      ])
    expect(await v3.next({ t: 'welcome' })).toMatchObject({ v: 3 })
    await v3.next(() => v3.frames.some(f => f.includes('{"e":[1,"wide","w-1"],"r":0}')))
    await v1.next({ t: 'snap' } as Partial<ServerMessage>)
    await v2.next(() => v2.frames.some(f => f.includes('"e":')))
    await v3b.next(() => v3b.frames.some(f => f.includes('"e":')))
    v3.send('{"w":1,"o":4,"v":{"status":"open","n":1}}')
    await v3.next(() => v3.frames.some(f => f.includes('{"a":4,"r":1}')))

    let seen = v3.frames.length
    v3.send('[1,1,"status","in review"]')
    expect(await frameAfter(v3, seen)).toBe('{"a":5,"r":2}')
    expect(await v1.next({ t: 'change', rev: 2 } as Partial<ServerMessage>)).toEqual({
      t: 'change',
      r: 'wide',
      id: 'w-1',
      rev: 2,
      set: [[['status'], enc('in review')]],
    })
    await v2.next(() => v2.frames.includes('{"c":1,"r":2,"s":["status","in review"]}'))
    // Version 3 subscribers get the short change, [handle, rev, path, value].
    await v3b.next(() => v3b.frames.includes('[1,2,"status","in review"]'))

    // Two short patches and an object-form write in one frame: answered in order.
    seen = v3.frames.length
    v3.send('[[1,2,"n",2],[1,3,["deep","x"],{"y":[1]}],{"d":["wide","w-9"]}]')
    await v3.next(() => v3.frames.slice(seen).join().includes('"a":8'))
    expect(read(createFrameDecoder(), v3.frames.slice(seen))).toEqual([
      { t: 'ack', op: 6, rev: 3 },
      { t: 'ack', op: 7, rev: 4 },
      { t: 'ack', op: 8, rev: 0 },
    ])
    const changes = () => read(createFrameDecoder(), v3b.frames).filter(m => m.t === 'change')
    await v3b.next(() => changes().length === 4)
    expect(v3b.frames.slice(-2).join()).toContain('[1,4,["deep","x"],{"y":[1]}]')
    expect(changes()).toEqual([
      { t: 'change', r: 'wide', id: 'w-1', rev: 1, value: enc({ status: 'open', n: 1 }) },
      { t: 'change', r: 'wide', id: 'w-1', rev: 2, set: [[['status'], enc('in review')]] },
      { t: 'change', r: 'wide', id: 'w-1', rev: 3, set: [[['n'], enc(2)]] },
      { t: 'change', r: 'wide', id: 'w-1', rev: 4, set: [[['deep', 'x'], enc({ y: [1] })]] },
    ])
  })
})

describe('protocol v2 negotiation and hostile input', () => {
  it('welcomes versions 1 to 3 in their own version, and closes any other with 1002', async () => {
    server = await startServerOn('memory')
    const [v1, v2, v3, newer, older] = [
      await connect(),
      await connect(),
      await connect(),
      await connect(),
      await connect(),
    ]
    v1.send({ t: 'hello', v: 1, client: 'c1' })
    v2.send({ t: 'hello', v: 2, client: 'c2' })
    v3.send({ t: 'hello', v: 3, client: 'c3' })
    expect(await v1.next({ t: 'welcome' })).toMatchObject({ v: 1 })
    expect(await v2.next({ t: 'welcome' })).toMatchObject({ v: 2 })
    expect(await v3.next({ t: 'welcome' })).toMatchObject({ v: 3 })
    newer.send({ t: 'hello', v: 4, client: 'c4' })
    older.send({ t: 'hello', v: 0, client: 'c5' })
    expect(await newer.closed).toBe(1002)
    expect(await older.closed).toBe(1002)
    // The reason names what the server speaks: a client falls back to the newest of it.
    expect(await newer.closeReason).toBe('Unsupported protocol version 4; this server speaks 1 to 3')
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

  it('refuses hostile short patches with version 1 errors; the connection and the others go on', async () => {
    server = await startServerOn('memory')
    const [c, other] = [await connect(), await connect()]
    for (const [client, id] of [
      [c, 'c-hostile'],
      [other, 'c-other'],
    ] as const)
      client.send([
        { t: 'hello', v: 3, client: id },
        { t: 'sub', r: 'person', id: '1' },
      ])
    await c.next(() => c.frames.some(f => f.includes('"e":[1,"person","1"]')))
    await other.next(() => other.frames.some(f => f.includes('"e":[1,"person","1"]')))
    // Before any write names an op, a short patch cannot be read.
    c.send('[1,0,"name","Ada"]')
    expect(await c.next({ t: 'error' })).toMatchObject({
      code: 'BAD_FRAME',
      message: expect.stringContaining("previous write's op"),
    })
    let seen = c.frames.length
    c.send('{"w":1,"o":1,"v":{"name":"Ada"}}')
    expect(await frameAfter(c, seen)).toBe('{"a":1,"r":1}')
    c.send('[1,1,"__proto__",{"x":1}]')
    expect(await c.next({ t: 'reject' })).toMatchObject({ op: 2, code: 'BAD_FIELD' })
    c.send('[99,1,"name","Eve"]')
    expect(await c.next({ t: 'error' })).toMatchObject({ message: expect.stringContaining('handle 99') })
    c.send('[1,1,"name"]')
    expect(await c.next({ t: 'error' })).toMatchObject({ code: 'BAD_FRAME' })
    // ops 3 and 4 were used by the refused ones: the next is 5.
    seen = c.frames.length
    c.send('[1,1,"name","Grace"]')
    expect(await frameAfter(c, seen)).toBe('{"a":5,"r":2}')
    await other.next(() => other.frames.includes('[1,2,"name","Grace"]'))
    // A version 2 connection does not read short patches.
    const v2 = await connect()
    v2.send([
      { t: 'hello', v: 2, client: 'c-v2' },
      { t: 'sub', r: 'person', id: '1' },
    ])
    await v2.next(() => v2.frames.some(f => f.includes('"e":[1,"person","1"]')))
    v2.send('{"p":1,"o":1,"s":["name","Lin"]}')
    await v2.next(() => v2.frames.some(f => f.includes('"a":1')))
    v2.send('[1,3,"name","Eve"]')
    expect(await v2.next({ t: 'error' })).toMatchObject({
      code: 'BAD_FRAME',
      message: 'an envelope must be a JSON object',
    })
  })

  it('recognises a short patch resent after a reconnect in the object form', async () => {
    server = await startServerOn('memory')
    const first = await connect()
    first.send([
      { t: 'hello', v: 3, client: 'c-short-dedup' },
      { t: 'sub', r: 'person', id: '1' },
    ])
    await first.next(() => first.frames.some(f => f.includes('"e":[1,"person","1"]')))
    first.send('[{"w":1,"o":20,"v":{"n":1}},[1,1,"n",2]]')
    await first.next(() => first.frames.some(f => f.includes('"a":21')))
    await first.close()
    const second = await connect()
    second.send([
      { t: 'hello', v: 3, client: 'c-short-dedup' },
      { t: 'sub', r: 'person', id: '1' },
    ])
    await second.next(() => second.frames.some(f => f.includes('"e":[1,"person","1"]')))
    const seen = second.frames.length
    // The first write on a connection names its op: the object form.
    second.send('{"p":1,"o":21,"b":1,"s":["n",2]}')
    expect(await frameAfter(second, seen)).toBe('{"a":21,"r":2,"f":1}')
  })
})
