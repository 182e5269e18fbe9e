import { interleave, pick } from '../lib/interleave.ts'
import { makeRow } from '../lib/row.ts'
import type { Metric } from './types.ts'

/** Members of the room, and members updating their state in the same tick. */
const MEMBERS = 100
const BURST = 10

/**
 * P8: presence fan-out — members of one room updating their state (a
 * cursor, the field they edit), each update delivered to the 99 others — in
 * deliveries per CPU-second of the server process, against a raw `ws`
 * server whose message handler loops over `wss.clients` and sends the
 * received frame to every other client; and the bytes a member receives per
 * update against the raw frame forwarded as it is.
 */
export const p8PresenceFanOut: Metric = {
  id: 'P8',
  title:
    'presence update fan-out to 100 members, deliveries per server CPU-second and bytes per update, vs raw ws send loop',
  async run(context) {
    const [server, relay, clients] = await Promise.all([
      // No presence rate limit: the load generator exceeds the default (40/s per member) on purpose.
      context.start('syncServer', 'server'),
      context.start('rawServer', 'server'),
      context.start('presenceClients', 'client'),
    ])
    const [{ url: sync }, { url: raw }] = await Promise.all([
      server.call('start', { presenceRate: false }),
      relay.call('start'),
    ])
    context.log(`joining ${MEMBERS} members to a room of each server`)
    await clients.call('setup', 'lensync', sync, MEMBERS)
    await clients.call('setup', 'raw', raw, MEMBERS)
    const deliveries = context.quick ? 10_000 : 60_000
    const bursts = Math.max(1, Math.round(deliveries / (BURST * (MEMBERS - 1))))
    context.log(`${MEMBERS} members, ${bursts} bursts of ${BURST} updates`)
    const measure = (side: 'lensync' | 'raw', cpuMicros: () => Promise<number>) => async () => {
      const before = await cpuMicros()
      const round = await clients.call('round', side, bursts, BURST)
      const cpuSeconds = ((await cpuMicros()) - before) / 1e6
      return { perCpuSecond: round.deliveries / cpuSeconds, bytesPerUpdate: round.bytes / round.deliveries }
    }
    const rounds = await interleave(
      { repeats: context.repeats },
      measure('lensync', () => server.call('cpuMicros')),
      measure('raw', () => relay.call('cpuMicros')),
    )
    await clients.call('teardown')
    return [
      makeRow({
        id: `P8 ${MEMBERS}`,
        label: `presence fan-out to ${MEMBERS}, ${BURST} members' updates per tick`,
        unit: 'deliveries/CPU-s',
        better: 'higher',
        baselineLabel: 'raw ws send loop',
        ...pick(rounds, round => round.perCpuSecond),
        note: 'informational, no goal in the issue; presenceRate off (the default coalesces above 40 updates/s per member)',
      }),
      makeRow({
        id: 'P8 bytes',
        label: 'bytes a member receives per presence update',
        unit: 'B',
        better: 'lower',
        baselineLabel: 'the raw frame forwarded',
        ...pick(rounds, round => round.bytesPerUpdate),
        note: "whole states (never diffs), with the sender's client id; several updates of one tick share a frame",
      }),
    ]
  },
}
