import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { interleave, pick } from '../lib/interleave.ts'
import { makeRow, type Row } from '../lib/row.ts'
import type { Metric } from './types.ts'

/** The Redis the nodes share (`.ci/run` and the tests use the same one). */
const REDIS_URL = process.env.BENCH_REDIS ?? 'redis://127.0.0.1:6379'
const SUBSCRIBERS = [100, 1000] as const
const BURST = 10

/**
 * P2b: fan-out through two nodes on Redis — the writer on node 1, the
 * subscribers on node 2, so every change goes node 1 → Redis (commit script)
 * → node 2 (change feed) → subscribers — in deliveries per CPU-second of
 * both nodes together, against the same fan-out on one node (memory
 * storage, P2's lensync side). Redis's own CPU is not counted (it is a
 * separate server, shared by every node).
 */
export const p2bTwoNodes: Metric = {
  id: 'P2b',
  title: 'fan-out through two nodes on Redis, deliveries per CPU-second of both nodes, vs one node',
  async run(context) {
    const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true })
    try {
      await admin.connect()
    } catch (error) {
      throw new Error(`P2b needs Redis at ${REDIS_URL} (set BENCH_REDIS): ${(error as Error).message}`)
    }
    const prefix = `lensync-bench-${randomUUID()}`
    try {
      const redis = { url: REDIS_URL, prefix }
      const [single, one, two, clients] = await Promise.all([
        context.start('syncServer', 'server'),
        context.start('syncServer', 'server'),
        context.start('syncServer', 'server'),
        context.start('fanoutClients', 'client'),
      ])
      const [{ url: singleUrl }, { url: url1 }, { url: url2 }] = await Promise.all([
        single.call('start', {}),
        one.call('start', { redis }),
        two.call('start', { redis }),
      ])
      const cpu = async () => ({ one: await one.call('cpuMicros'), two: await two.call('cpuMicros') })
      const rows: Row[] = []
      for (const subscribers of SUBSCRIBERS) {
        context.log(`connecting ${subscribers} subscribers to node 2 and to the single node`)
        await clients.call('setup', 'nodes', url2, subscribers, url1)
        await clients.call('setup', 'lensync', singleUrl, subscribers)
        const bursts = Math.max(1, Math.round((context.quick ? 10_000 : 60_000) / subscribers / BURST))
        // One round of each side gives both rows: per CPU-second of both
        // nodes, and of node 2 alone (the node that fans out).
        const rounds = await interleave(
          { repeats: context.repeats },
          async () => {
            const before = await cpu()
            const { deliveries } = await clients.call('round', 'nodes', bursts, BURST)
            const after = await cpu()
            const both = (after.one - before.one + after.two - before.two) / 1e6
            return { both: deliveries / both, fanout: deliveries / ((after.two - before.two) / 1e6) }
          },
          async () => {
            const before = await single.call('cpuMicros')
            const { deliveries } = await clients.call('round', 'lensync', bursts, BURST)
            const perCpu = deliveries / (((await single.call('cpuMicros')) - before) / 1e6)
            return { both: perCpu, fanout: perCpu }
          },
        )
        const row = (id: string, label: string, key: 'both' | 'fanout', note: string) =>
          makeRow({
            id,
            label,
            unit: 'deliveries/CPU-s',
            better: 'higher',
            baselineLabel: 'one node, memory storage',
            ...pick(rounds, round => round[key]),
            note: `${note}; Redis's CPU not counted; informational, no goal`,
          })
        rows.push(
          row(
            `P2b ${subscribers}`,
            `two nodes, ${subscribers} subscribers on node 2`,
            'both',
            'CPU of both nodes',
          ),
          row(`P2b ${subscribers} fan-out node`, `  of it, node 2 alone`, 'fanout', 'CPU of node 2 only'),
        )
      }
      await clients.call('teardown')
      return rows
    } finally {
      let cursor = '0'
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) await admin.del(...keys)
      } while (cursor !== '0')
      admin.disconnect()
    }
  },
}
