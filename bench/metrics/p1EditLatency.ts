import { formatNumber } from '../lib/format.ts'
import { interleave, pick } from '../lib/interleave.ts'
import { makeRow } from '../lib/row.ts'
import type { Metric } from './types.ts'

/**
 * P1: client A's store `update` → sync server → client B's store notified,
 * one edit at a time, against a raw `ws` relay forwarding the same bytes
 * from A's socket to B's. Server and relay are separate processes; A and B
 * share one (one clock for both ends).
 */
export const p1EditLatency: Metric = {
  id: 'P1',
  title: 'edit latency: A update → server → B store notified, vs raw ws relay',
  async run(context) {
    const [server, relay, clients] = await Promise.all([
      context.start('syncServer', 'server'),
      context.start('rawServer', 'server'),
      context.start('latencyClients', 'client'),
    ])
    const [{ url: sync }, { url: raw }] = await Promise.all([server.call('start', {}), relay.call('start')])
    await clients.call('setup', { sync, raw })
    const samples = context.quick ? 300 : 2000
    context.log(`${context.repeats} × ${samples} edits per side, interleaved`)
    const rounds = await interleave(
      { repeats: context.repeats },
      () => clients.call('round', 'lensync', samples),
      () => clients.call('round', 'raw', samples),
    )
    const parts = await clients.call('breakdown', samples)
    await clients.call('teardown')
    const where =
      `where lensync's p50 goes (a tapped round): client A ${formatNumber(parts.clientA)} µs (update → socket send), ` +
      `${formatNumber(parts.wireAndServer)} µs socket send → B's socket receive (loopback + server), ` +
      `client B ${formatNumber(parts.clientB)} µs (socket receive → store notified)`
    const common = {
      unit: 'µs',
      better: 'lower',
      baselineLabel: 'raw ws relay, same bytes',
      showAdded: true,
    } as const
    return [
      makeRow({
        ...common,
        id: 'P1 p50',
        label: 'edit latency p50',
        ...pick(rounds, round => round.p50),
        goal: { op: '<=', value: 1.25, on: 'ratio' },
        note: where,
      }),
      makeRow({
        ...common,
        id: 'P1 p99',
        label: 'edit latency p99',
        ...pick(rounds, round => round.p99),
        goal: { op: '<=', value: 1.5, on: 'ratio' },
      }),
    ]
  },
}
