import { describe, expect, it } from 'vitest'
import { startChildServer } from '../../../sync-server/test/support/childServer.ts'
import { POSTGRES_URL, postgresSchema } from '../../../sync-server/test/support/postgres.ts'
import type { SentWrite } from '../../../sync-server/test/support/protocolClient.ts'
import { REDIS_URL, redisPrefix } from '../../../sync-server/test/support/redis.ts'
import { killFixtures } from './killFixtures.ts'

// kill -9 of one of two server nodes sharing one Redis or one PostgreSQL
// database, in the middle of a stream of writes: nothing acknowledged is
// lost, and its clients move to the other node by themselves and catch up.

const { track, noteClient, openRaw, stopSyncs } = killFixtures()

const KILL_AFTER_ACKS = 300
const WINDOW = 32

/** The command-line flags of two nodes on fresh shared storage. */
const SHARED: [string, () => string[]][] = [
  ['Redis', () => ['--redis', REDIS_URL, '--redis-prefix', redisPrefix()]],
  ['PostgreSQL', () => ['--postgres', POSTGRES_URL, '--postgres-schema', postgresSchema()]],
]

describe.each(SHARED)('scale-out failover on %s (kill -9 of a node)', (storage, flags) => {
  it('loses no acknowledged write when a node dies; its clients move to the other node and converge', async () => {
    const args = ['--port', '0', ...flags()]
    const [one, two] = await Promise.all([startChildServer(args, track), startChildServer(args, track)])

    // A knows both nodes and is on node 1; B is on node 2.
    const a = noteClient([one.url, two.url])
    const b = noteClient([two.url])
    await Promise.all([a.sync.flush(), b.sync.flush()])

    const writer = await openRaw(one.url, 'writer')
    const acked: SentWrite[] = []
    const onAck = (write: SentWrite) => {
      acked.push(write)
      if (acked.length % 25 === 0) a.store.update({ ...a.store.current, a: acked.length })
      if (acked.length === KILL_AFTER_ACKS) one.child.kill('SIGKILL')
    }
    const window: Promise<unknown>[] = []
    for (let i = 0; writer.isOpen; i++) {
      expect(i, 'node 1 should have died by now').toBeLessThan(100_000)
      window.push(
        writer
          .write({ t: 'put', r: 'stream', id: `k${i}`, value: { json: { i } } })
          .then(onAck, () => undefined),
      )
      if (window.length >= WINDOW) await window.shift()
    }
    await Promise.all(window)
    expect(await one.exited).toBe('SIGKILL')
    expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS)

    // Every acknowledged write is on node 2, with the revision its ack gave.
    const reader = await openRaw(two.url, 'reader')
    await reader.subscribe('stream')
    for (const { msg } of acked)
      expect(reader.view.get(`stream/${msg.id}`)).toEqual(msg.t === 'put' && msg.value.json)
    expect(reader.view.size - acked.length).toBeLessThanOrEqual(writer.writes.length - acked.length)

    // A edits on; its sync finds node 2 by itself, and B sees everything.
    a.store.update({ ...a.store.current, a: -1 })
    b.store.update({ ...b.store.current, b: -2 })
    await Promise.all([a.sync.flush(), b.sync.flush()])
    const expected = { _id: 'shared', a: -1, b: -2 }
    await expect.poll(() => a.store.current, { timeout: 10_000 }).toEqual(expected)
    await expect.poll(() => b.store.current, { timeout: 10_000 }).toEqual(expected)
    await reader.subscribe('note', 'shared')
    expect(reader.view.get('note/shared')).toEqual(expected)
    console.info(
      `[${storage} failover] ${acked.length} writes acknowledged by node 1 before SIGKILL; all present on node 2`,
    )
    stopSyncs()
    expect(await two.stop('SIGTERM')).toBe(0)
  }, 60_000)
})
