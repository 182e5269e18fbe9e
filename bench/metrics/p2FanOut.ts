import { interleave, pick } from '../lib/interleave.ts'
import { makeRow, type Row } from '../lib/row.ts'
import type { Metric } from './types.ts'

/** The fan-outs measured: subscribers, and changes written per tick (1: no batching possible). */
const CASES = [
  { subscribers: 100, burst: 10 },
  { subscribers: 1000, burst: 10 },
  { subscribers: 100, burst: 1 },
  { subscribers: 1000, burst: 1 },
] as const

/**
 * Single changes each side handles, unmeasured, before the first one-change-per-tick
 * case: V8 optimizes the hub's per-change path (parse, decide, commit, answer)
 * with TurboFan only after a few thousand changes (`--trace-opt`), whereas the
 * raw loop's few functions are optimized within its first round. Measured
 * before that, the ratio climbs round by round (0.8× → 1.0×); the warm-up's
 * own rounds are reported in a row of their own.
 */
const WARM_SINGLE_CHANGES = 3000

/**
 * P2: hub fan-out — one writer's changes to N subscribers of the entity —
 * in deliveries per CPU-second of the server process (`process.cpuUsage()`
 * inside it; the clients share the cores, so wall time would measure them
 * too), against a raw `ws` server whose message handler loops over
 * `wss.clients` and sends the received bytes to every other client.
 */
export const p2FanOut: Metric = {
  id: 'P2',
  title: 'hub fan-out to 100 and 1000 subscribers, deliveries per server CPU-second, vs raw ws send loop',
  async run(context) {
    const [server, relay, clients] = await Promise.all([
      context.start('syncServer', 'server'),
      context.start('rawServer', 'server'),
      context.start('fanoutClients', 'client'),
    ])
    const [{ url: sync }, { url: raw }] = await Promise.all([server.call('start', {}), relay.call('start')])
    const rows: Row[] = []
    let connected = 0
    let warmedSingles = false
    for (const { subscribers, burst } of CASES) {
      if (subscribers !== connected) {
        context.log(`connecting ${subscribers} subscribers to each server`)
        await clients.call('setup', 'lensync', sync, subscribers)
        await clients.call('setup', 'raw', raw, subscribers)
        connected = subscribers
      }
      const deliveries = (context.quick ? 10_000 : burst === 1 ? 30_000 : 60_000) / subscribers
      const bursts = Math.max(1, Math.round(deliveries / burst))
      context.log(`${subscribers} subscribers, ${bursts} bursts of ${burst}`)
      const measure = (side: 'lensync' | 'raw', cpuMicros: () => Promise<number>) => async () => {
        const before = await cpuMicros()
        const round = await clients.call('round', side, bursts, burst)
        const cpuSeconds = ((await cpuMicros()) - before) / 1e6
        return round.deliveries / cpuSeconds
      }
      const lensyncRound = measure('lensync', () => server.call('cpuMicros'))
      const rawRound = measure('raw', () => relay.call('cpuMicros'))
      if (burst === 1 && !warmedSingles) {
        warmedSingles = true
        const warm = context.quick ? 300 : WARM_SINGLE_CHANGES
        const warmRounds = Math.max(3, Math.ceil(warm / bursts))
        context.log(
          `${subscribers} subscribers, warm-up: ${warmRounds} rounds of ${bursts} single changes per side`,
        )
        const warmup = await interleave({ repeats: warmRounds, warmup: 0 }, lensyncRound, rawRound)
        rows.push(
          makeRow({
            id: `P2 ${subscribers} ×1 warm-up`,
            label: `fan-out to ${subscribers}, 1 change per tick, the first ${warmRounds * bursts} changes`,
            unit: 'deliveries/CPU-s',
            better: 'higher',
            baselineLabel: 'raw ws send loop',
            ...pick(warmup, round => round),
            note: "the warm-up before the ×1 rows, while V8 optimizes the hub's per-change path; informational, no goal",
          }),
        )
      }
      const rounds = await interleave({ repeats: context.repeats }, lensyncRound, rawRound)
      rows.push(
        makeRow({
          id: `P2 ${subscribers}${burst === 1 ? ' ×1' : ''}`,
          label: `fan-out to ${subscribers}, ${burst} change${burst === 1 ? '' : 's'} per tick`,
          unit: 'deliveries/CPU-s',
          better: 'higher',
          baselineLabel: 'raw ws send loop',
          ...pick(rounds, round => round),
          // One change per tick (nothing to batch): issue #21's goal, ≥ 1.0× the raw send loop.
          goal: { op: '>=', value: burst === 1 ? 1.0 : 1.2, on: 'ratio' },
          ...(burst === 1 ? { note: 'one change per tick: nothing to batch (goal from issue #21)' } : {}),
        }),
      )
    }
    await clients.call('teardown')
    return rows
  },
}
