import type { EntitySnapMessage, HelloMessage, StandardSchemaV1 } from '@lensync/protocol'
import { CloseReason, type SyncServer, type SyncServerOptions } from '@lensync/sync-server'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { enc, type RawClient, rawClient, STORAGE_KINDS, startServerOn } from './hubHelpers.ts'

let server: SyncServer | undefined
const clients: RawClient[] = []
let kind: (typeof STORAGE_KINDS)[number] = 'memory'

async function start(options: SyncServerOptions = {}) {
  server = await startServerOn(kind, options)
  return server
}

async function connect(headers?: Record<string, string>): Promise<RawClient> {
  const client = await rawClient((server as SyncServer).url, { headers })
  clients.push(client)
  return client
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map(c => c.close()))
  await server?.close()
  server = undefined
})

/** Checks that a fresh pair of clients still syncs through the server. */
async function stillSyncs(tag: string) {
  const [a, b] = [await connect(), await connect()]
  b.send({ t: 'sub', r: 'check', id: tag })
  await b.next({ t: 'snap' })
  a.send({ t: 'put', op: 1, r: 'check', id: tag, value: enc({ ok: true }) })
  expect(await a.next({ t: 'ack' })).toMatchObject({ op: 1 })
  expect(await b.next({ t: 'change' })).toMatchObject({ id: tag, value: enc({ ok: true }) })
}

// Every test runs on local storage and on Redis (shared storage).
describe.each(STORAGE_KINDS)('on %s storage', storage => {
  beforeAll(() => {
    kind = storage
  })

  describe('sync hub: bad input', () => {
    it('answers garbage with error envelopes and carries on, for this and every other client', async () => {
      await start()
      const [bad, watcher] = [await connect(), await connect()]
      watcher.send({ t: 'sub', r: 'doc' })
      await watcher.next({ t: 'snap' })

      const garbage: [string | Uint8Array, string][] = [
        ['not json', 'BAD_FRAME'],
        ['42', 'BAD_FRAME'],
        ['[1]', 'BAD_FRAME'],
        [JSON.stringify({ r: 'doc' }), 'BAD_FRAME'],
        [JSON.stringify({ t: 'explode' }), 'UNKNOWN_TYPE'],
        [JSON.stringify({ t: 'put', op: 1, r: 'doc' }), 'BAD_FRAME'],
        [JSON.stringify({ t: 'put', op: {}, r: 'doc', id: 'a', value: enc(1) }), 'BAD_FRAME'],
        [JSON.stringify({ t: 'put', op: 1, r: '', id: 'a', value: enc(1) }), 'BAD_FRAME'],
        [JSON.stringify({ t: 'put', op: 1, r: 'x'.repeat(257), id: 'a', value: enc(1) }), 'BAD_FRAME'],
        [JSON.stringify({ t: 'put', op: 1, r: 'doc', id: 'a', value: 5 }), 'BAD_FRAME'],
        [JSON.stringify({ t: 'patch', op: 1, r: 'doc', id: 'a', set: [['name', enc(1)]] }), 'BAD_FRAME'],
        [JSON.stringify({ t: 'patch', op: 1, r: 'doc', id: 'a', set: [[[], enc(1)]] }), 'BAD_FRAME'],
        [JSON.stringify({ t: 'sub', r: 'doc', since: -1 }), 'BAD_FRAME'],
        [new Uint8Array([1, 2, 3]), 'BAD_FRAME'],
      ]
      for (const [frame] of garbage) bad.send(frame)
      for (const [, code] of garbage) expect(await bad.next()).toMatchObject({ t: 'error', code })

      // The same connection still works.
      bad.send({ t: 'put', op: 'ok', r: 'doc', id: 'a', value: enc({ fine: true }) })
      expect(await bad.next()).toEqual({ t: 'ack', op: 'ok', rev: 1 })
      expect(await watcher.next({ t: 'change' })).toMatchObject({ id: 'a', value: enc({ fine: true }) })
      await stillSyncs('after-garbage')
    })

    it('never pollutes prototypes, through values, paths or superjson meta', async () => {
      await start()
      const a = await connect()
      a.send({ t: 'put', op: 0, r: 'doc', id: 'p', value: enc({ safe: {} }) })
      await a.next({ t: 'ack' })
      const attempts = [
        // An own "__proto__" key, as JSON.parse makes it.
        '{"t":"put","op":1,"r":"doc","id":"p","value":{"json":{"__proto__":{"polluted":"value"}}}}',
        '{"t":"put","op":2,"r":"doc","id":"p","value":{"json":{"a":{"constructor":{"prototype":{"polluted":1}}}}}}',
        '{"t":"patch","op":3,"r":"doc","id":"p","set":[[["__proto__","polluted"],{"json":"path"}]]}',
        '{"t":"patch","op":4,"r":"doc","id":"p","set":[[["safe","constructor","prototype","polluted"],{"json":1}]]}',
        '{"t":"patch","op":5,"r":"doc","id":"p","set":[[["x"],{"json":{"__proto__":{"polluted":1}}}]]}',
        '{"t":"patch","op":6,"r":"doc","id":"p","set":[],"unset":[["__proto__"]]}',
        '{"t":"put","op":7,"r":"doc","id":"p","value":{"json":{"a":1},"meta":{"values":{"__proto__.polluted":["undefined"]}}}}',
        '{"t":"put","op":8,"r":"doc","id":"p","value":{"json":{"a":1},"meta":{"referentialEqualities":{"a":["constructor.prototype"]}}}}',
      ]
      for (const text of attempts) a.send(text)
      for (let op = 1; op <= attempts.length; op++) {
        expect(await a.next()).toMatchObject({ t: 'reject', op, code: 'BAD_FIELD' })
      }
      // Without an op there is nothing to reject: an error instead.
      a.send('{"t":"sub","r":"doc","__proto__":{"polluted":1}}')
      expect(await a.next()).toMatchObject({ t: 'snap' })
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect(Object.prototype).not.toHaveProperty('polluted')

      // A harmless field whose name merely contains a forbidden word is fine.
      a.send({
        t: 'put',
        op: 9,
        r: 'doc',
        id: 'p',
        value: {
          json: { constructorId: 'x', at: '2024-01-01T00:00:00.000Z' },
          meta: { values: { at: ['Date'] } },
        },
      })
      expect(await a.next()).toEqual({ t: 'ack', op: 9, rev: 2 })
      a.send({ t: 'sub', r: 'doc', id: 'p' })
      expect((await a.next<EntitySnapMessage>({ t: 'snap', id: 'p' } as never)).value).toMatchObject({
        json: { constructorId: 'x' },
      })
    })

    it('closes a client that keeps sending garbage with 1008 (default 20 errors) and keeps serving others', async () => {
      await start()
      const bad = await connect()
      for (let i = 0; i < 19; i++) bad.send('garbage')
      for (let i = 0; i < 19; i++) await bad.next({ t: 'error' })
      expect(bad.ws.readyState).toBe(bad.ws.OPEN)
      bad.send('garbage')
      expect(await bad.closed).toBe(1008)
      await stillSyncs('after-1008')
    })

    it('survives invalid UTF-8 (ws closes that client with 1007)', async () => {
      await start()
      const bad = await connect()
      bad.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
      expect(await bad.closed).toBe(1007)
      await stillSyncs('after-1007')
    })

    it('closes a message over maxFrameSize with 1009 and keeps serving', async () => {
      await start({ maxFrameSize: 1024 })
      const big = await connect()
      big.send({ t: 'put', op: 1, r: 'doc', id: 'big', value: enc('x'.repeat(2000)) })
      expect(await big.closed).toBe(1009)
      await stillSyncs('after-1009')
    })

    it('rejects an entity over maxEntityBytes with TOO_LARGE, for puts and for patches that grow it', async () => {
      await start({ maxEntityBytes: 100 })
      const a = await connect()
      a.send({ t: 'put', op: 1, r: 'doc', id: 'd', value: enc({ text: 'x'.repeat(200) }) })
      expect(await a.next()).toMatchObject({ t: 'reject', op: 1, code: 'TOO_LARGE' })
      a.send({ t: 'put', op: 2, r: 'doc', id: 'd', value: enc({ text: 'small' }) })
      expect(await a.next()).toEqual({ t: 'ack', op: 2, rev: 1 })
      a.send({ t: 'patch', op: 3, r: 'doc', id: 'd', set: [[['more'], enc('y'.repeat(100))]] })
      expect(await a.next()).toMatchObject({ t: 'reject', op: 3, code: 'TOO_LARGE' })
      a.send({ t: 'sub', r: 'doc', id: 'd' })
      expect(await a.next()).toMatchObject({ t: 'snap', rev: 1, value: enc({ text: 'small' }) })
    })

    it('rate-limits writes per connection (RATE_LIMITED), then closes 1008 when the excess persists', async () => {
      await start({ rateLimit: { perSecond: 1, burst: 2, closeAfter: 3 }, now: () => 0 })
      const a = await connect()
      for (let op = 1; op <= 5; op++) a.send({ t: 'put', op, r: 'doc', id: `d${op}`, value: enc(op) })
      expect(await a.next()).toMatchObject({ t: 'ack', op: 1 })
      expect(await a.next()).toMatchObject({ t: 'ack', op: 2 })
      expect(await a.next()).toMatchObject({ t: 'reject', op: 3, code: 'RATE_LIMITED' })
      expect(await a.next()).toMatchObject({ t: 'reject', op: 4, code: 'RATE_LIMITED' })
      expect(await a.next()).toMatchObject({ t: 'reject', op: 5, code: 'RATE_LIMITED' })
      expect(await a.closed).toBe(1008)
    })

    it('limits subscriptions per connection (maxSubscriptions); a repeated sub does not count twice', async () => {
      await start({ maxSubscriptions: 2 })
      const a = await connect()
      a.send([
        { t: 'sub', r: 'doc', id: '1' },
        { t: 'sub', r: 'doc', id: '1' },
        { t: 'sub', r: 'doc' },
        { t: 'sub', r: 'doc', id: '2' },
      ])
      await a.next({ t: 'snap', id: '1' } as never)
      await a.next({ t: 'snap', id: '1' } as never)
      await a.next({ t: 'snap', r: 'doc', rev: 0, items: [] } as never)
      expect(await a.next()).toMatchObject({ t: 'reject', r: 'doc', id: '2', code: 'RATE_LIMITED' })
      a.send([
        { t: 'unsub', r: 'doc' },
        { t: 'sub', r: 'doc', id: '2' },
      ])
      expect(await a.next()).toMatchObject({ t: 'snap', id: '2' })
    })
  })

  it('ends a lone subscription and starts it again: changes stop, then come again', async () => {
    await start()
    const [a, writer] = [await connect(), await connect()]
    a.send({ t: 'sub', r: 'doc', id: '1' })
    await a.next({ t: 'snap', id: '1' } as never)
    a.send({ t: 'unsub', r: 'doc', id: '1' })
    writer.send({ t: 'put', op: 'w1', r: 'doc', id: '1', value: enc('one') })
    await writer.next({ t: 'ack', op: 'w1' } as never)
    a.send({ t: 'sub', r: 'doc', id: '1' })
    expect(await a.next({ t: 'snap', id: '1' } as never)).toMatchObject({ rev: 1 })
    writer.send({ t: 'put', op: 'w2', r: 'doc', id: '1', value: enc('two') })
    expect(await a.next({ t: 'change' })).toMatchObject({ id: '1', rev: 2 })
    expect(a.received.filter(m => m.t === 'change')).toHaveLength(1)
  })

  it('keeps many subscriptions apart: an unsub ends only its own, the limit still counts', async () => {
    await start({ maxSubscriptions: 12 })
    const [a, writer] = [await connect(), await connect()]
    a.send(Array.from({ length: 12 }, (_, i) => ({ t: 'sub' as const, r: 'doc', id: `${i}` })))
    for (let i = 0; i < 12; i++) await a.next({ t: 'snap', id: `${i}` } as never)
    a.send([
      { t: 'sub', r: 'doc', id: '5' },
      { t: 'sub', r: 'doc', id: '12' },
    ])
    await a.next({ t: 'snap', id: '5' } as never)
    expect(await a.next()).toMatchObject({ t: 'reject', r: 'doc', id: '12', code: 'RATE_LIMITED' })
    a.send([
      { t: 'unsub', r: 'doc', id: '0' },
      { t: 'unsub', r: 'doc', id: '7' },
      { t: 'sub', r: 'doc', id: '12' },
      { t: 'sub', r: 'doc' },
    ])
    await a.next({ t: 'snap', id: '12' } as never)
    await a.next({ t: 'snap', r: 'doc', rev: 0, items: [] } as never)
    a.send({ t: 'unsub', r: 'doc' })
    for (const id of ['0', '7', '11', '12']) writer.send({ t: 'put', op: id, r: 'doc', id, value: enc(id) })
    for (const id of ['0', '7', '11', '12']) await writer.next({ t: 'ack', op: id } as never)
    expect(await a.next({ t: 'change' })).toMatchObject({ id: '11' })
    expect(await a.next({ t: 'change' })).toMatchObject({ id: '12' })
    expect(a.received.filter(m => m.t === 'change').map(m => (m as { id: string }).id)).toEqual(['11', '12'])
  })

  describe('sync hub: authentication and authorization', () => {
    const users: Record<string, { name: string; suspended?: boolean }> = {
      'token-ann': { name: 'ann' },
      'token-bob': { name: 'bob' },
      'token-eve': { name: 'eve', suspended: true },
    }
    const authOptions: SyncServerOptions = {
      authenticate: async (request, hello: HelloMessage) => {
        const header = request.headers.authorization?.replace(/^Bearer /, '')
        const user = users[hello.token ?? header ?? '']
        return user?.suspended ? new CloseReason(4403, 'Account suspended') : (user ?? null)
      },
      authorize: (principal, { op, resource, id }) => {
        const user = principal as { name: string }
        if (resource === 'secret') return user.name === 'ann'
        // A drop box: everybody may create entries, only ann may read them.
        if (resource === 'dropbox') return op === 'write' || user.name === 'ann'
        if (op === 'delete') return user.name === 'ann'
        return id !== 'ann-only' || user.name === 'ann'
      },
    }
    // One client id per credential: a client id belongs to the principal that first used it.
    const hello = (token?: string) => ({
      t: 'hello',
      v: 1,
      client: `c-${token ?? 'header'}`,
      ...(token ? { token } : {}),
    })

    it('closes 4401 when the first envelope is not hello, or the token is wrong or missing', async () => {
      await start(authOptions)
      const first = await connect()
      first.send({ t: 'sub', r: 'doc', id: '1' })
      expect(await first.next()).toMatchObject({ t: 'error', code: 'BAD_FRAME' })
      expect(await first.closed).toBe(4401)
      const wrong = await connect()
      wrong.send(hello('nope'))
      expect(await wrong.closed).toBe(4401)
      const none = await connect()
      none.send([hello(), { t: 'sub', r: 'doc', id: '1' }])
      expect(await none.closed).toBe(4401)
      expect(none.received.filter(m => m.t === 'snap')).toEqual([])
    })

    it('lets the right user in, by hello token or by Authorization header', async () => {
      await start({ ...authOptions, node: 'n1' })
      const ann = await connect()
      ann.send([hello('token-ann'), { t: 'sub', r: 'doc', id: '1' }])
      expect(await ann.next()).toEqual({ t: 'welcome', v: 1, client: 'c-token-ann', node: 'n1' })
      expect(await ann.next()).toMatchObject({ t: 'snap', id: '1' })
      const bob = await connect({ authorization: 'Bearer token-bob' })
      bob.send([hello(), { t: 'put', op: 1, r: 'doc', id: '1', value: enc({ by: 'bob' }) }])
      expect(await bob.next({ t: 'ack' })).toEqual({ t: 'ack', op: 1, rev: 1 })
      expect(await ann.next({ t: 'change' })).toMatchObject({ value: enc({ by: 'bob' }) })
    })

    it('answers a forbidden sub with reject FORBIDDEN (r/id, no op) and leaks no data, then or later', async () => {
      await start(authOptions)
      const [ann, bob] = [await connect(), await connect()]
      ann.send([hello('token-ann'), { t: 'put', op: 1, r: 'secret', id: 's', value: enc({ pin: 1234 }) }])
      await ann.next({ t: 'ack' })
      bob.send([hello('token-bob'), { t: 'sub', r: 'secret', id: 's' }, { t: 'sub', r: 'secret' }])
      await bob.next({ t: 'welcome' })
      expect(await bob.next()).toEqual({
        t: 'reject',
        r: 'secret',
        id: 's',
        code: 'FORBIDDEN',
        message: expect.any(String),
      })
      const collection = await bob.next()
      expect(collection).toMatchObject({ t: 'reject', r: 'secret', code: 'FORBIDDEN' })
      expect(collection).not.toHaveProperty('op')
      expect(collection).not.toHaveProperty('id')

      // Later writes do not reach bob either; a permitted one does (so bob has caught up).
      bob.send({ t: 'sub', r: 'doc', id: 'open' })
      await bob.next({ t: 'snap' })
      ann.send([
        { t: 'put', op: 2, r: 'secret', id: 's', value: enc({ pin: 9999 }) },
        { t: 'put', op: 3, r: 'doc', id: 'open', value: enc({ hi: 1 }) },
      ])
      await bob.next({ t: 'change' })
      expect(JSON.stringify(bob.received)).not.toContain('pin')

      bob.send([
        { t: 'put', op: 10, r: 'secret', id: 's', value: enc({ pin: 0 }) },
        { t: 'del', op: 11, r: 'doc', id: 'open' },
        { t: 'patch', op: 12, r: 'doc', id: 'ann-only', set: [[['x'], enc(1)]] },
      ])
      for (const op of [10, 11, 12])
        expect(await bob.next()).toMatchObject({ t: 'reject', op, code: 'FORBIDDEN' })
      ann.send({ t: 'sub', r: 'secret', id: 's' })
      expect(await ann.next({ t: 'snap' })).toMatchObject({ value: enc({ pin: 9999 }) })
    })

    it('closes 4401 a connection that sends no hello within helloTimeout; one that did stays', async () => {
      await start({ ...authOptions, helloTimeout: 100 })
      const silent = await connect()
      const ann = await connect()
      ann.send(hello('token-ann'))
      await ann.next({ t: 'welcome' })
      expect(await silent.closed).toBe(4401)
      ann.send({ t: 'sub', r: 'doc', id: '1' })
      expect(await ann.next()).toMatchObject({ t: 'snap' })
    })

    it('answers a second hello on one connection with error BAD_FRAME, not another welcome', async () => {
      await start(authOptions)
      const ann = await connect()
      ann.send([hello('token-ann'), hello('token-bob')])
      await ann.next({ t: 'welcome' })
      expect(await ann.next()).toMatchObject({ t: 'error', code: 'BAD_FRAME' })
      expect(ann.received.filter(m => m.t === 'welcome')).toHaveLength(1)
    })

    it('refuses a known but unwelcome user with the CloseReason authenticate returns (4403)', async () => {
      await start(authOptions)
      const eve = await connect()
      eve.send([hello('token-eve'), { t: 'sub', r: 'doc', id: '1' }])
      expect(await eve.closed).toBe(4403)
      expect(eve.received.filter(m => m.t === 'welcome' || m.t === 'snap')).toEqual([])
    })

    it('answers a create-only put that finds an entity the writer may not read with FORBIDDEN, not its value', async () => {
      await start(authOptions)
      const [ann, bob] = [await connect(), await connect()]
      ann.send([
        hello('token-ann'),
        { t: 'put', op: 1, r: 'dropbox', id: 'd', value: enc({ note: 'private' }) },
      ])
      await ann.next({ t: 'ack' })
      bob.send([
        hello('token-bob'),
        { t: 'put', op: 1, r: 'dropbox', id: 'd', value: enc({ note: 'mine' }), create: true },
        { t: 'put', op: 2, r: 'dropbox', id: 'fresh', value: enc({ note: 'new' }), create: true },
      ])
      expect(await bob.next({ t: 'reject' })).toMatchObject({ op: 1, code: 'FORBIDDEN' })
      expect(await bob.next({ t: 'ack' })).toMatchObject({ op: 2 })
      expect(JSON.stringify(bob.received)).not.toContain('private')
      ann.send({ t: 'sub', r: 'dropbox', id: 'd' })
      expect(await ann.next({ t: 'snap' })).toMatchObject({ value: enc({ note: 'private' }) })
    })

    it('refuses resources without configuration when allowUnknownResources is false', async () => {
      await start({ resources: { doc: {} }, allowUnknownResources: false })
      const a = await connect()
      a.send([
        { t: 'sub', r: 'other' },
        { t: 'put', op: 1, r: 'other', id: 'x', value: enc(1) },
        { t: 'put', op: 2, r: 'doc', id: 'x', value: enc(1) },
      ])
      expect(await a.next()).toMatchObject({ t: 'reject', r: 'other', code: 'FORBIDDEN' })
      expect(await a.next()).toMatchObject({ t: 'reject', op: 1, code: 'FORBIDDEN' })
      expect(await a.next()).toEqual({ t: 'ack', op: 2, rev: 1 })
    })

    it('closes a connection from an origin that is not allowed with 4403', async () => {
      await start({ allowedOrigins: ['http://good.example'] })
      const evil = await connect({ origin: 'http://evil.example' })
      expect(await evil.closed).toBe(4403)
      const good = await connect({ origin: 'http://good.example' })
      good.send({ t: 'sub', r: 'doc', id: '1' })
      expect(await good.next()).toMatchObject({ t: 'snap' })
      // No Origin at all: not a browser (browsers always send one), let through.
      const service = await connect()
      service.send({ t: 'sub', r: 'doc', id: '1' })
      expect(await service.next()).toMatchObject({ t: 'snap' })
    })
  })

  describe('sync hub: schemas', () => {
    type Person = { name: string; age?: number }
    const check = (value: unknown) => {
      const v = value as Partial<Person> | null
      if (typeof v !== 'object' || v === null || typeof v.name !== 'string')
        return { issues: [{ message: 'name must be a string', path: ['name'] }] }
      if (v.age !== undefined && typeof v.age !== 'number')
        return { issues: [{ message: 'age must be a number', path: [{ key: 'age' }] }] }
      return { value: v as Person }
    }
    const syncSchema: StandardSchemaV1<Person> = {
      '~standard': { version: 1, vendor: 'test', validate: check },
    }
    const asyncSchema: StandardSchemaV1<Person> = {
      '~standard': { version: 1, vendor: 'test', validate: async value => check(value) },
    }

    for (const [kind, schema] of [
      ['sync', syncSchema],
      ['async', asyncSchema],
    ] as const) {
      it(`rejects invalid puts and patches (${kind} schema); others never see them; the stored value stays valid`, async () => {
        await start({ resources: { person: { schema } } })
        const [a, b] = [await connect(), await connect()]
        b.send({ t: 'sub', r: 'person', id: 'p' })
        await b.next({ t: 'snap' })

        a.send([
          { t: 'put', op: 1, r: 'person', id: 'p', value: enc({ age: 3 }) },
          { t: 'put', op: 2, r: 'person', id: 'p', value: enc({ name: 'Ada', age: 36 }) },
          { t: 'patch', op: 3, r: 'person', id: 'p', set: [[['age'], enc('old')]] },
          { t: 'patch', op: 4, r: 'person', id: 'p', set: [], unset: [['name']] },
          { t: 'patch', op: 5, r: 'person', id: 'p', set: [[['age'], enc(37)]] },
        ])
        expect(await a.next()).toEqual({
          t: 'reject',
          op: 1,
          code: 'VALIDATION_FAILED',
          message: expect.any(String),
          issues: [{ message: 'name must be a string', path: ['name'] }],
        })
        expect(await a.next()).toEqual({ t: 'ack', op: 2, rev: 1 })
        expect(await a.next()).toMatchObject({
          t: 'reject',
          op: 3,
          code: 'VALIDATION_FAILED',
          issues: [{ message: 'age must be a number', path: ['age'] }],
        })
        expect(await a.next()).toMatchObject({ t: 'reject', op: 4, code: 'VALIDATION_FAILED' })
        expect(await a.next()).toEqual({ t: 'ack', op: 5, rev: 2 })

        expect(await b.next({ t: 'change' })).toMatchObject({ rev: 1, value: enc({ name: 'Ada', age: 36 }) })
        expect(await b.next({ t: 'change' })).toMatchObject({ rev: 2, set: [[['age'], enc(37)]] })
        expect(b.received.filter(m => m.t === 'change')).toHaveLength(2)

        const c = await connect()
        c.send({ t: 'sub', r: 'person', id: 'p' })
        expect(await c.next()).toMatchObject({ rev: 2, value: enc({ name: 'Ada', age: 37 }) })
      })
    }
  })
})
