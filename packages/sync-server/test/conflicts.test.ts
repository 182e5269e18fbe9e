import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type AckMessage,
  type ChangeMessage,
  type EntitySnapMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
} from '@lensync/protocol'
import {
  type CreateSyncServerOptions,
  createSyncServer,
  type SyncServer,
  type SyncServerOptions,
} from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import {
  enc,
  quietLogger,
  type RawClient,
  rawClient,
  STORAGE_KINDS,
  startServer,
  startServerOn,
} from './hubHelpers.ts'
import { POSTGRES_URL, postgresSchema } from './support/postgres.ts'
import { REDIS_URL, redisPrefix } from './support/redis.ts'

// Field provenance on the wire: a write sent with `base` (the entity revision
// the client's view had when the edit was made) is answered with the fields
// another client wrote after it — by whom, at which revision, their value —
// and with `onConflict: 'keep-theirs'` those fields are not applied.

const servers: SyncServer[] = []
const clients: RawClient[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  for (const s of servers.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** The principal is `{ name }` from the hello's token; `by` is that name. */
const PEOPLE: SyncServerOptions = {
  authenticate: (_request, hello) => (hello.token ? { name: hello.token } : null),
  attribution: principal => (principal as { name: string }).name,
}

function keep<T extends SyncServer>(server: T): T {
  servers.push(server)
  return server
}

/** A raw client that said `hello` as `client` with `name` as its token, subscribed to `doc x`. */
async function person(server: SyncServer, client: string, name: string): Promise<RawClient> {
  const c = await rawClient(server.url)
  clients.push(c)
  c.send({ t: 'hello', v: PROTOCOL_VERSION, client, token: name })
  await c.next({ t: 'welcome' })
  c.send({ t: 'sub', r: 'doc', id: 'x' })
  await c.next<EntitySnapMessage>(m => m.t === 'snap')
  return c
}

function ack(c: RawClient, op: number): Promise<AckMessage> {
  return c.next<AckMessage>(m => (m.t === 'ack' || m.t === 'reject') && m.op === op)
}

async function write(c: RawClient, op: number, message: object): Promise<AckMessage> {
  c.send({ op, r: 'doc', id: 'x', ...message })
  return ack(c, op)
}

function patch(op: number, set: [string, unknown][], extra: object = {}) {
  return { t: 'patch', op, r: 'doc', id: 'x', set: set.map(([key, value]) => [[key], enc(value)]), ...extra }
}

async function stored(server: SyncServer): Promise<unknown> {
  const entity = await server.hub.storage.get('doc', 'x')
  return entity?.value == null ? null : (JSON.parse(entity.value) as { json: unknown }).json
}

/** Everything `c` received up to now and a round trip later (the changes sent to it are in by then). */
async function settled(c: RawClient): Promise<ServerMessage[]> {
  const ping = `ping-${Math.random().toString(36).slice(2)}`
  c.send({ t: 'sub', r: 'doc', id: ping })
  await c.next(m => m.t === 'snap' && 'id' in m && m.id === ping)
  return c.received
}

/**
 * Ada creates `doc x` (`{ name: 'Start', age: 1 }`) and Grace sees it at
 * that revision (`base`); then Ada renames it: Grace's next edit of the name,
 * made at `base`, is an offline edit that meets Ada's.
 */
async function adaRenamedWhileGraceWasAway(server: SyncServer) {
  const ada = await person(server, 'tab-ada', 'Ada')
  const { rev: base } = await write(ada, 1, { t: 'put', value: enc({ name: 'Start', age: 1 }) })
  const grace = await person(server, 'tab-grace', 'Grace')
  const { rev: renamed } = await write(ada, 2, patch(2, [['name', 'Ada']]))
  await grace.next<ChangeMessage>(m => m.t === 'change' && m.rev === renamed)
  return { ada, grace, base, renamed }
}

describe.each(STORAGE_KINDS)('conflicts on %s storage', kind => {
  it('an edit made before another client changed the field: applied, and the ack reports theirs', async () => {
    const server = keep(await startServerOn(kind, PEOPLE))
    const { ada, grace, base, renamed } = await adaRenamedWhileGraceWasAway(server)
    const answer = await write(grace, 7, patch(7, [['name', 'Grace']], { base }))
    expect(answer).toEqual({
      t: 'ack',
      op: 7,
      rev: renamed + 1,
      conflicts: [{ path: ['name'], rev: renamed, by: 'Ada', theirs: { json: 'Ada' }, applied: true }],
    })
    expect(await stored(server)).toEqual({ name: 'Grace', age: 1 })
    // The others get the change as always.
    const change = await ada.next<ChangeMessage>(m => m.t === 'change' && m.rev === renamed + 1)
    expect(change.set).toEqual([[['name'], enc('Grace')]])
  })

  it('keep-theirs: the conflicting field is not applied and not broadcast; the others are', async () => {
    const server = keep(await startServerOn(kind, PEOPLE))
    const { ada, grace, base, renamed } = await adaRenamedWhileGraceWasAway(server)
    const both = await write(
      grace,
      7,
      patch(
        7,
        [
          ['name', 'Grace'],
          ['age', 2],
        ],
        { base, onConflict: 'keep-theirs' },
      ),
    )
    expect(both).toEqual({
      t: 'ack',
      op: 7,
      rev: renamed + 1,
      conflicts: [{ path: ['name'], rev: renamed, by: 'Ada', theirs: { json: 'Ada' }, applied: false }],
    })
    expect(await stored(server)).toEqual({ name: 'Ada', age: 2 })
    const change = await ada.next<ChangeMessage>(m => m.t === 'change' && m.rev === renamed + 1)
    expect(change.set).toEqual([[['age'], enc(2)]])

    // Nothing left of the write: acknowledged applied: false at the current revision, nothing stored or sent.
    const none = await write(grace, 8, patch(8, [['name', 'Grace']], { base, onConflict: 'keep-theirs' }))
    expect(none).toEqual({
      t: 'ack',
      op: 8,
      rev: renamed + 1,
      applied: false,
      conflicts: [{ path: ['name'], rev: renamed, by: 'Ada', theirs: { json: 'Ada' }, applied: false }],
    })
    expect(await server.hub.storage.revision('doc')).toBe(renamed + 1)
    expect((await settled(ada)).filter(m => m.t === 'change' && m.rev > renamed + 1)).toEqual([])
  })

  it('no conflict for another field, for my own earlier write, or for a base that saw the write', async () => {
    const server = keep(await startServerOn(kind, PEOPLE))
    const { ada, grace, base, renamed } = await adaRenamedWhileGraceWasAway(server)
    expect(await write(grace, 7, patch(7, [['age', 2]], { base }))).toEqual({
      t: 'ack',
      op: 7,
      rev: renamed + 1,
    })
    // Ada's own rename is not a conflict for Ada, though she edits from the old base too.
    expect(await write(ada, 3, patch(3, [['name', 'Ada L.']], { base }))).toEqual({
      t: 'ack',
      op: 3,
      rev: renamed + 2,
    })
    expect(await write(grace, 8, patch(8, [['name', 'Grace']], { base: renamed + 2 }))).toEqual({
      t: 'ack',
      op: 8,
      rev: renamed + 3,
    })
  })

  it('a put conflicts on each top-level field another client wrote since its base', async () => {
    const server = keep(await startServerOn(kind, PEOPLE))
    const { grace, base, renamed } = await adaRenamedWhileGraceWasAway(server)
    const value = enc({ name: 'Grace', age: 1, email: 'g@x' })
    const kept = await write(grace, 7, { t: 'put', value, base, onConflict: 'keep-theirs' })
    expect(kept).toEqual({
      t: 'ack',
      op: 7,
      rev: renamed + 1,
      conflicts: [{ path: ['name'], rev: renamed, by: 'Ada', theirs: { json: 'Ada' }, applied: false }],
    })
    expect(await stored(server)).toEqual({ name: 'Ada', age: 1, email: 'g@x' })
    const overwritten = await write(grace, 8, { t: 'put', value, base })
    expect(overwritten.conflicts).toEqual([
      { path: ['name'], rev: renamed, by: 'Ada', theirs: { json: 'Ada' }, applied: true },
    ])
    expect(await stored(server)).toEqual({ name: 'Grace', age: 1, email: 'g@x' })
  })

  it('a conflicting write resent after a lost ack is answered from its record, not applied again', async () => {
    const server = keep(await startServerOn(kind, PEOPLE))
    const { grace, base, renamed } = await adaRenamedWhileGraceWasAway(server)
    const first = await write(grace, 7, patch(7, [['name', 'Grace']], { base }))
    expect(first.conflicts).toHaveLength(1)
    expect(await write(grace, 7, patch(7, [['name', 'Grace']], { base }))).toEqual({
      t: 'ack',
      op: 7,
      rev: renamed + 1,
      applied: false,
    })
  })
})

describe('conflicts without attribution, across a restart and across nodes', () => {
  it('without attribution a conflict has no by', async () => {
    const server = keep(await startServer({ authenticate: PEOPLE.authenticate }))
    const { grace, base, renamed } = await adaRenamedWhileGraceWasAway(server)
    expect((await write(grace, 7, patch(7, [['name', 'Grace']], { base }))).conflicts).toEqual([
      { path: ['name'], rev: renamed, theirs: { json: 'Ada' }, applied: true },
    ])
  })

  it('an attribution that throws is logged: no by, the write goes on', async () => {
    const logger = quietLogger()
    const server = keep(
      await startServer({
        authenticate: PEOPLE.authenticate,
        attribution: () => {
          throw new Error('no name')
        },
        logger,
      }),
    )
    const { grace, base, renamed } = await adaRenamedWhileGraceWasAway(server)
    expect((await write(grace, 7, patch(7, [['name', 'Grace']], { base }))).conflicts).toEqual([
      { path: ['name'], rev: renamed, theirs: { json: 'Ada' }, applied: true },
    ])
    expect(logger.error).toHaveBeenCalledWith('lensync hub: attribution threw; no by', expect.any(Error))
  })

  it('field revisions and by survive a restart on a SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lensync-conflicts-'))
    dirs.push(dir)
    const dataFile = join(dir, 'lensync.db')
    const first = await startServer({ ...PEOPLE, dataFile })
    const { base, renamed } = await adaRenamedWhileGraceWasAway(first)
    for (const c of clients.splice(0)) await c.close()
    await first.close()
    const next = keep(await startServer({ ...PEOPLE, dataFile }))
    const grace = await person(next, 'tab-grace', 'Grace')
    expect((await write(grace, 7, patch(7, [['name', 'Grace']], { base }))).conflicts).toEqual([
      { path: ['name'], rev: renamed, by: 'Ada', theirs: { json: 'Ada' }, applied: true },
    ])
  })

  const shared: [string, () => CreateSyncServerOptions][] = [
    ['Redis', () => ({ redis: { url: REDIS_URL, prefix: redisPrefix() } })],
    ['PostgreSQL', () => ({ postgres: { url: POSTGRES_URL, schema: postgresSchema() } })],
  ]
  it.each(shared)(
    'a write through one node conflicts with an edit through another on the same %s',
    async (_name, place) => {
      const storage = place()
      const node = () => createSyncServer({ port: 0, logger: quietLogger(), ...PEOPLE, ...storage })
      const a = keep(await node())
      const b = keep(await node())
      const ada = await person(a, 'tab-ada', 'Ada')
      const grace = await person(b, 'tab-grace', 'Grace')
      const { rev: created } = await write(ada, 1, { t: 'put', value: enc({ name: 'Start', age: 1 }) })
      await grace.next<ChangeMessage>(m => m.t === 'change' && m.rev === created)
      // A write through node b caches the entity there; Ada's rename then reaches
      // that cache through the feed, field revisions included.
      const { rev: base } = await write(grace, 5, patch(5, [['age', 2]]))
      await ada.next<ChangeMessage>(m => m.t === 'change' && m.rev === base)
      const { rev: renamed } = await write(ada, 2, patch(2, [['name', 'Ada']]))
      await grace.next<ChangeMessage>(m => m.t === 'change' && m.rev === renamed)
      expect(await write(grace, 7, patch(7, [['name', 'Grace']], { base }))).toEqual({
        t: 'ack',
        op: 7,
        rev: renamed + 1,
        conflicts: [{ path: ['name'], rev: renamed, by: 'Ada', theirs: { json: 'Ada' }, applied: true }],
      })
      // And the other way round, on node a, which wrote the revisions itself.
      expect(await write(ada, 3, patch(3, [['name', 'Ada again']], { base: renamed }))).toEqual({
        t: 'ack',
        op: 3,
        rev: renamed + 2,
        conflicts: [
          { path: ['name'], rev: renamed + 1, by: 'Grace', theirs: { json: 'Grace' }, applied: true },
        ],
      })
    },
  )
})
