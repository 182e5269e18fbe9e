import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type AckMessage,
  type EntitySnapMessage,
  PROTOCOL_VERSION,
  type RejectMessage,
  type ServerMessage,
} from '@lensync/protocol'
import { memoryStorage, type Storage, type SyncServer, type SyncServerOptions } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { enc, type RawClient, rawClient, STORAGE_KINDS, startServer, startServerOn } from './hubHelpers.ts'
import { REDIS_URL, redisPrefix } from './support/redis.ts'
import { type Relay, startRelay } from './support/relay.ts'

const servers: SyncServer[] = []
const clients: RawClient[] = []
const relays: Relay[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  for (const r of relays.splice(0)) await r.close()
  for (const s of servers.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function keep<T extends SyncServer>(server: T): T {
  servers.push(server)
  return server
}

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lensync-dedup-'))
  dirs.push(dir)
  return join(dir, 'lensync.db')
}

/** A raw client that said `hello` with `client` (and `token`) and was welcomed. */
async function open(url: string, client: string, token?: string): Promise<RawClient> {
  const c = await rawClient(url)
  clients.push(c)
  c.send({ t: 'hello', v: PROTOCOL_VERSION, client, ...(token === undefined ? {} : { token }) })
  await c.next({ t: 'welcome' })
  return c
}

async function subscribe(c: RawClient, id: string): Promise<EntitySnapMessage> {
  c.send({ t: 'sub', r: 'doc', id })
  return c.next<EntitySnapMessage>(m => m.t === 'snap' && 'id' in m && m.id === id)
}

function answer(c: RawClient, op: number): Promise<AckMessage | RejectMessage> {
  return c.next<AckMessage | RejectMessage>(m => (m.t === 'ack' || m.t === 'reject') && m.op === op)
}

async function stored(server: SyncServer, id: string): Promise<unknown> {
  const entity = await server.hub.storage.get('doc', id)
  return entity?.value == null ? null : (JSON.parse(entity.value) as { json: unknown }).json
}

/** The four writes whose ack can be lost: each with what exists before it, and the other client's later write. */
const CASES = [
  {
    name: 'a patch',
    before: { title: 'start' } as object | null,
    write: { t: 'patch', set: [[['title'], enc('from A')]] },
    later: { t: 'patch', set: [[['title'], enc('from B')]] },
    final: { title: 'from B' } as object | null,
  },
  {
    name: 'a put',
    before: { title: 'start' },
    write: { t: 'put', value: enc({ title: 'from A' }) },
    later: { t: 'put', value: enc({ title: 'from B' }) },
    final: { title: 'from B' },
  },
  {
    name: 'a delete',
    before: { title: 'start' },
    write: { t: 'del' },
    later: { t: 'put', value: enc({ title: 'from B' }) },
    final: { title: 'from B' },
  },
  {
    name: 'a create-only put (a syncList add)',
    before: null,
    write: { t: 'put', create: true, value: enc({ title: 'from A' }) },
    later: { t: 'patch', set: [[['title'], enc('from B')]] },
    final: { title: 'from B' },
  },
] as const

/**
 * A writes through a relay that drops the connection right after the server
 * answered (applied) the write; B then writes the same entity (acknowledged);
 * A comes back with the same client id — through `resendUrl` — and resends
 * the same op: it must be answered `ack applied:false` and change nothing.
 */
async function loseAckThenResend(
  c: (typeof CASES)[number],
  id: string,
  first: SyncServer,
  second: () => Promise<SyncServer>,
): Promise<{
  resent: AckMessage | RejectMessage
  watcher: RawClient
  server: SyncServer
  appliedRev: number
}> {
  if (c.before) {
    const seed = await open(first.url, `seed-${id}`)
    seed.send({ t: 'put', op: 1, r: 'doc', id, value: enc(c.before) })
    expect(await answer(seed, 1)).toMatchObject({ t: 'ack' })
  }
  const relay = await startRelay(first.url)
  relays.push(relay)
  const a = await open(relay.url, `A-${id}`)
  await subscribe(a, id)
  const write = { ...c.write, op: 7, r: 'doc', id }
  const dropped = relay.dropAfterAnswer(7)
  a.send(write)
  await dropped
  expect(await a.closed).toBe(1006)
  const appliedRev = (await first.hub.storage.get('doc', id))?.rev ?? 0

  const server = await second()
  const watcher = await open(server.url, `W-${id}`)
  await subscribe(watcher, id)
  const b = await open(server.url, `B-${id}`)
  await subscribe(b, id)
  b.send({ ...c.later, op: 1, r: 'doc', id })
  expect(await answer(b, 1)).toMatchObject({ t: 'ack', op: 1 })
  await watcher.next(m => m.t === 'change' || (m.t === 'snap' && 'id' in m && m.rev > appliedRev))

  const again = await open(server.url, `A-${id}`)
  await subscribe(again, id)
  again.send(write)
  const resent = await answer(again, 7)
  return { resent, watcher, server, appliedRev }
}

async function expectNoLaterChange(watcher: RawClient, server: SyncServer, id: string, final: unknown) {
  // A fresh subscriber and storage both still show B's value.
  const late = await open(server.url, `late-${id}`)
  const snap = await subscribe(late, id)
  expect((snap.value as { json: unknown } | null)?.json ?? null).toEqual(final)
  expect(await stored(server, id)).toEqual(final)
  // The watcher got nothing for the resend (sync with a round trip of its own).
  const before = watcher.received.length
  watcher.send({ t: 'sub', r: 'doc', id: `${id}-ping` })
  await watcher.next(m => m.t === 'snap' && 'id' in m && m.id === `${id}-ping`)
  const since = watcher.received.slice(before) as ServerMessage[]
  expect(since.filter(m => m.t === 'change' || m.t === 'gone')).toEqual([])
}

describe.each(STORAGE_KINDS)('a lost ack on %s storage', kind => {
  for (const c of CASES)
    it(`${c.name} resent after a lost ack is acknowledged, not applied again`, async () => {
      const server = keep(await startServerOn(kind))
      const id = `e-${Math.random().toString(36).slice(2)}`
      const { resent, watcher, appliedRev } = await loseAckThenResend(c, id, server, async () => server)
      expect(resent).toEqual({ t: 'ack', op: 7, rev: appliedRev, applied: false })
      await expectNoLaterChange(watcher, server, id, c.final)
    })
})

describe('a lost ack across a restart and across nodes', () => {
  it('a write resent to the next process on the same SQLite file is recognised', async () => {
    const file = tempFile()
    for (const c of CASES) {
      const id = `r-${c.name.split(' ')[1]}`
      const first = await startServer({ dataFile: file })
      let next: SyncServer | undefined
      const { resent, watcher, appliedRev } = await loseAckThenResend(c, id, first, async () => {
        await first.close()
        next = keep(await startServer({ dataFile: file }))
        return next
      })
      expect(resent).toEqual({ t: 'ack', op: 7, rev: appliedRev, applied: false })
      await expectNoLaterChange(watcher, next as SyncServer, id, c.final)
      await (next as SyncServer).close()
    }
  })

  it('a write resent to another node on the same Redis is recognised', async () => {
    const redis = { url: REDIS_URL, prefix: redisPrefix() }
    const a = keep(await startServer({ redis }))
    const b = keep(await startServer({ redis }))
    for (const c of CASES) {
      const id = `n-${c.name.split(' ')[1]}`
      const { resent, watcher, appliedRev } = await loseAckThenResend(c, id, a, async () => b)
      expect(resent).toEqual({ t: 'ack', op: 7, rev: appliedRev, applied: false })
      await expectNoLaterChange(watcher, b, id, c.final)
    }
  })
})

/** Memory storage whose commits wait until `release()`: a write stays "committing" as long as the test wants. */
function heldStorage(): Storage & { hold(): void; release(): void } {
  const inner = memoryStorage()
  let gate: Promise<void> = Promise.resolve()
  let open: () => void = () => {}
  const held = {
    get: inner.get.bind(inner),
    revision: inner.revision.bind(inner),
    list: inner.list.bind(inner),
    applied: (client: string, op: number | string) => inner.applied?.(client, op),
    close: inner.close.bind(inner),
    async commit(writes: Parameters<Storage['commit']>[0]) {
      await gate
      return inner.commit(writes)
    },
    hold() {
      gate = new Promise(resolve => {
        open = resolve
      })
    },
    release: () => open(),
  }
  held.hold()
  return held
}

describe('the same write twice at once on one node', () => {
  it('twice in one frame: applied once, both acknowledged with its revision', async () => {
    const server = keep(await startServer())
    const a = await open(server.url, 'twice')
    a.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ n: 0 }) })
    await answer(a, 1)
    const patch = { t: 'patch', op: 2, r: 'doc', id: 'x', set: [[['n'], enc(1)]] }
    a.send([patch, patch])
    const first = await answer(a, 2)
    const second = await answer(a, 2)
    expect(first).toEqual({ t: 'ack', op: 2, rev: 2 })
    expect(second).toEqual({ t: 'ack', op: 2, rev: 2, applied: false })
    expect(await server.hub.storage.revision('doc')).toBe(2)
  })

  it('on a half-open old connection and a new one while the first is committing: applied once', async () => {
    const storage = heldStorage()
    const server = keep(await startServer({ storage }))
    const seed = await open(server.url, 'seed')
    seed.send({ t: 'put', op: 1, r: 'doc', id: 'y', value: enc({ n: 0 }) })
    storage.release()
    await answer(seed, 1)
    storage.hold()

    const old = await open(server.url, 'tab')
    const patch = { t: 'patch', op: 5, r: 'doc', id: 'y', set: [[['n'], enc(5)]] }
    old.send(patch)
    // The new connection's resend is handled (its sub, sent first in the same frame, is answered).
    const fresh = await open(server.url, 'tab')
    fresh.send([{ t: 'sub', r: 'doc', id: 'other' }, patch])
    await fresh.next({ t: 'snap', r: 'doc', id: 'other' })
    storage.release()
    const [one, two] = await Promise.all([answer(old, 5), answer(fresh, 5)])
    expect(one).toEqual({ t: 'ack', op: 5, rev: 2 })
    expect(two).toEqual({ t: 'ack', op: 5, rev: 2, applied: false })
    expect(await server.hub.storage.revision('doc')).toBe(2)
  })

  it('a write rejected the first time is decided again when resent', async () => {
    const server = keep(await startServer())
    const a = await open(server.url, 'rejected')
    const patch = { t: 'patch', op: 3, r: 'doc', id: 'z', set: [[['n'], enc(1)]] }
    a.send(patch)
    expect(await answer(a, 3)).toMatchObject({ t: 'reject', code: 'NOT_FOUND' })
    a.send({ t: 'put', op: 4, r: 'doc', id: 'z', value: enc({ n: 0 }) })
    await answer(a, 4)
    a.send(patch)
    expect(await answer(a, 3)).toEqual({ t: 'ack', op: 3, rev: 2 })
  })

  it('without a hello a write has no origin and each copy applies', async () => {
    const server = keep(await startServer())
    const a = await rawClient(server.url)
    clients.push(a)
    a.send({ t: 'put', op: 1, r: 'doc', id: 'anon', value: enc({ n: 0 }) })
    await answer(a, 1)
    a.send({ t: 'put', op: 1, r: 'doc', id: 'anon', value: enc({ n: 0 }) })
    expect(await answer(a, 1)).toEqual({ t: 'ack', op: 1, rev: 2 })
  })

  it("a write naming another tab's client id is deduplicated under that id", async () => {
    const server = keep(await startServer())
    const tab1 = await open(server.url, 'tab-1')
    tab1.send({ t: 'put', op: 9, r: 'doc', id: 'w', value: enc({ n: 1 }) })
    await answer(tab1, 9)
    // Tab 2 took tab 1's outbox over and resends op 9 under tab 1's id.
    const tab2 = await open(server.url, 'tab-2')
    tab2.send({ t: 'put', op: 9, r: 'doc', id: 'w', value: enc({ n: 1 }), client: 'tab-1' })
    expect(await answer(tab2, 9)).toEqual({ t: 'ack', op: 9, rev: 1, applied: false })
    // Its own op 9 is another write.
    tab2.send({ t: 'put', op: 9, r: 'doc', id: 'w', value: enc({ n: 2 }) })
    expect(await answer(tab2, 9)).toEqual({ t: 'ack', op: 9, rev: 2 })
  })
})

describe('client ids belong to the principal that first used them', () => {
  const auth: SyncServerOptions = {
    authenticate: (_request, hello) => hello.token ?? null,
  }

  it("another principal's hello with that client id is closed 4403", async () => {
    const server = keep(await startServer(auth))
    await open(server.url, 'c-1', 'alice')
    const bob = await rawClient(server.url)
    clients.push(bob)
    bob.send({ t: 'hello', v: PROTOCOL_VERSION, client: 'c-1', token: 'bob' })
    expect(await bob.closed).toBe(4403)
    expect(bob.received.some(m => m.t === 'welcome')).toBe(false)
    // The owner may come back with it.
    await open(server.url, 'c-1', 'alice')
  })

  it("a write naming another principal's client id is refused FORBIDDEN", async () => {
    const server = keep(await startServer(auth))
    const alice = await open(server.url, 'c-a', 'alice')
    alice.send({ t: 'put', op: 1, r: 'doc', id: 'p', value: enc({ n: 1 }) })
    await answer(alice, 1)
    const bob = await open(server.url, 'c-b', 'bob')
    bob.send({ t: 'put', op: 1, r: 'doc', id: 'p', value: enc({ n: 2 }), client: 'c-a' })
    expect(await answer(bob, 1)).toMatchObject({ t: 'reject', op: 1, code: 'FORBIDDEN' })
    // An id nobody used yet becomes bob's; alice may not use it then.
    bob.send({ t: 'put', op: 2, r: 'doc', id: 'p', value: enc({ n: 3 }), client: 'c-b2' })
    expect(await answer(bob, 2)).toMatchObject({ t: 'ack', op: 2 })
    alice.send({ t: 'put', op: 2, r: 'doc', id: 'p', value: enc({ n: 4 }), client: 'c-b2' })
    expect(await answer(alice, 2)).toMatchObject({ t: 'reject', code: 'FORBIDDEN' })
    expect(await stored(server, 'p')).toEqual({ n: 3 })
  })

  it('principals are compared by principalKey (default: an object by its id)', async () => {
    const server = keep(
      await startServer({ authenticate: (_request, hello) => ({ id: hello.token, at: Math.random() }) }),
    )
    await open(server.url, 'c-o', 'u1')
    // A fresh object for the same user: the same principal.
    await open(server.url, 'c-o', 'u1')
    const other = await rawClient(server.url)
    clients.push(other)
    other.send({ t: 'hello', v: PROTOCOL_VERSION, client: 'c-o', token: 'u2' })
    expect(await other.closed).toBe(4403)
  })
})

describe('a graceful close drains', () => {
  it('three clients writing one field as close() starts: every committed write is acknowledged, over 5 restarts on one SQLite file', async () => {
    const file = tempFile()
    const names = ['c1', 'c2', 'c3'] as const
    type Write = { t: 'patch'; op: number; r: 'doc'; id: 'f'; set: [string[], { json: unknown }][] }
    const ops = new Map<string, number>(names.map(n => [n, 0]))
    /** Writes sent whose connection closed before their answer. */
    const unanswered = new Map<string, Write[]>(names.map(n => [n, []]))
    /** Every write c3 sent in the last round, answered or not: resent after the restart anyway. */
    let c3LastRound: Write[] = []
    const applied: string[] = []
    let committedButUnanswered = 0
    let resentAgain = 0
    const write = (name: string): Write => {
      const op = (ops.get(name) ?? 0) + 1
      ops.set(name, op)
      return { t: 'patch', op, r: 'doc', id: 'f', set: [[['field'], enc(`${name}-${op}`)]] }
    }
    const settle = async (c: RawClient, name: string, w: Write, resend: boolean) => {
      c.send(w)
      const got = await answer(c, w.op)
      expect(got.t).toBe('ack')
      if ((got as AckMessage).applied === false) {
        if (resend) resentAgain++
        else committedButUnanswered++
      } else applied.push(`${name}:${w.op}`)
    }

    for (let round = 0; round <= 5; round++) {
      const server = await startServer({ dataFile: file })
      const conns = await Promise.all(names.map(n => open(server.url, n)))
      if (round === 0) {
        conns[0]?.send({ t: 'put', op: 1_000_000, r: 'doc', id: 'f', value: enc({ field: 'start' }) })
        await answer(conns[0] as RawClient, 1_000_000)
        applied.push('seed')
      }
      // What no answer came for is resent; the drain acknowledged everything
      // it committed, so none of it may turn out to be applied already.
      for (const [i, name] of names.entries()) {
        const pending = unanswered.get(name) ?? []
        unanswered.set(name, [])
        for (const w of pending) await settle(conns[i] as RawClient, name, w, false)
      }
      // c3 resends everything of the last round, answered or not: dedup keeps it from applying twice.
      for (const w of c3LastRound) await settle(conns[2] as RawClient, 'c3', w, true)
      c3LastRound = []
      if (round === 5) {
        await server.close()
        break
      }

      const sent = new Map<string, Write[]>(names.map(n => [n, []]))
      for (const [i, name] of names.entries()) {
        const w = write(name)
        sent.get(name)?.push(w)
        conns[i]?.send(w)
      }
      const closing = server.close()
      // The tick after close() started.
      for (const [i, name] of names.entries()) {
        const w = write(name)
        sent.get(name)?.push(w)
        conns[i]?.send(w)
      }
      await closing
      for (const [i, name] of names.entries()) {
        const c = conns[i] as RawClient
        expect(await c.closed).toBe(1001)
        for (const w of sent.get(name) ?? []) {
          const got = c.received.find(m => (m.t === 'ack' || m.t === 'reject') && m.op === w.op)
          if (got) {
            expect(got.t).toBe('ack')
            applied.push(`${name}:${w.op}`)
          } else unanswered.get(name)?.push(w)
        }
        if (name === 'c3') c3LastRound = [...(sent.get(name) ?? [])]
      }
    }

    expect(committedButUnanswered).toBe(0)
    // Every write applied exactly once: one acknowledgement each, one revision each.
    expect(new Set(applied).size).toBe(applied.length)
    expect(applied).toHaveLength(1 + 5 * 2 * names.length)
    expect(resentAgain).toBeGreaterThan(0)
    const last = await startServer({ dataFile: file })
    servers.push(last)
    expect(await last.hub.storage.revision('doc')).toBe(applied.length)
  })
})
