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
    // Each round also takes the CPU time its server and the clients' process
    // used per edit (process.cpuUsage inside each), which the machine's other
    // load moves far less than wall time, and which the latency mostly is when
    // every process shares one CPU.
    const measured = async (
      side: 'lensync' | 'raw',
      host: { call(method: 'cpuMicros'): Promise<number> },
    ) => {
      const [server0, clients0] = await Promise.all([host.call('cpuMicros'), clients.call('cpuMicros')])
      const round = await clients.call('round', side, samples)
      const [server1, clients1] = await Promise.all([host.call('cpuMicros'), clients.call('cpuMicros')])
      return {
        ...round,
        serverCpu: (server1 - server0) / round.samples,
        clientsCpu: (clients1 - clients0) / round.samples,
      }
    }
    const rounds = await interleave(
      { repeats: context.repeats },
      () => measured('lensync', server),
      () => measured('raw', relay),
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
      makeRow({
        ...common,
        id: 'P1 cpu server',
        label: 'server CPU per edit (in the rounds above)',
        baselineLabel: 'raw ws relay; informational, no goal',
        ...pick(rounds, round => round.serverCpu),
      }),
      makeRow({
        ...common,
        id: 'P1 cpu clients',
        label: "clients' CPU per edit, A and B in one process",
        baselineLabel: 'raw ws clients; informational, no goal',
        ...pick(rounds, round => round.clientsCpu),
      }),
    ]
  },
}
