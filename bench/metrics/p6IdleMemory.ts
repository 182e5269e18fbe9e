import { interleave, pick } from '../lib/interleave.ts'
import type { MemorySample } from '../lib/processProbe.ts'
import { makeRow } from '../lib/row.ts'
import type { BenchContext, Metric } from './types.ts'

/** How long connections sit idle before the second memory sample, in ms. */
const SETTLE_MS = 500

/**
 * Starts a fresh server, samples its memory after GC, opens `count` idle
 * connections to it, samples again.
 *
 * @returns Bytes per connection (heap + external, and RSS).
 */
async function perConnection(
  context: BenchContext,
  side: 'lensync' | 'raw',
  count: number,
): Promise<{ heap: number; rss: number }> {
  const server = await context.start(side === 'lensync' ? 'syncServer' : 'rawServer', 'server', [
    '--expose-gc',
  ])
  const clients = await context.start('idleClients', 'client')
  try {
    const { url } = await server.call('start', {})
    // One connection first: the shared entity and the code paths of a connection exist before the baseline.
    await clients.call('open', side, url, 1)
    const before: MemorySample = await server.call('memory')
    await clients.call('open', side, url, count)
    await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
    const after: MemorySample = await server.call('memory')
    return {
      heap: (after.heapAndExternal - before.heapAndExternal) / count,
      rss: (after.rss - before.rss) / count,
    }
  } finally {
    await Promise.all([server.stop(), clients.stop()])
  }
}

/**
 * P6: server memory per idle sync connection (1000 connections, each a
 * `syncWith` client subscribed to one entity and synced) against a raw `ws`
 * server holding as many plain connections. Every repeat uses fresh
 * processes; memory is sampled after full GCs (`--expose-gc`).
 */
export const p6IdleMemory: Metric = {
  id: 'P6',
  title: 'server memory per idle sync connection (1000), vs raw ws',
  async run(context) {
    const count = context.quick ? 200 : 1000
    context.log(`${context.repeats} × ${count} idle connections per side, fresh processes each`)
    const rounds = await interleave(
      { repeats: context.repeats, warmup: 0 },
      () => perConnection(context, 'lensync', count),
      () => perConnection(context, 'raw', count),
    )
    const common = {
      unit: 'KiB',
      better: 'lower',
      baselineLabel: 'raw ws connection',
      showAdded: true,
      goal: { op: '<=', value: 1.3, on: 'ratio' },
    } as const
    return [
      makeRow({
        ...common,
        id: 'P6 heap',
        label: `server heap + external per connection (${count})`,
        ...pick(rounds, round => round.heap / 1024),
      }),
      makeRow({
        ...common,
        id: 'P6 rss',
        label: `server RSS per connection (${count})`,
        ...pick(rounds, round => round.rss / 1024),
      }),
    ]
  },
}
