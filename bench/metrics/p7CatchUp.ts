import { interleave, pick } from '../lib/interleave.ts'
import { makeRow } from '../lib/row.ts'
import type { Metric } from './types.ts'

/** Entities changed while the client was away. */
const CHANGES = 10

/**
 * P7: catch-up after a reconnect — a `syncList` of a 1000-entity collection
 * whose connection dropped while another client changed 10 entities —
 * from the new socket's creation to `synced` with the 10 changes in the
 * store, in ms and in round trips (the WebSocket upgrade counts as one).
 * Baseline: a raw `ws` client that connects, sends the bytes lensync sent
 * on reconnect and receives, in one message, the bytes lensync received
 * (the floor for any protocol that catches up in one exchange).
 */
export const p7CatchUp: Metric = {
  id: 'P7',
  title: 'catch-up: reconnect → synced, 1000 entities, 10 changed while away',
  async run(context) {
    const [server, raw, client] = await Promise.all([
      context.start('syncServer', 'server'),
      context.start('rawServer', 'server'),
      context.start('catchUpClient', 'client'),
    ])
    const [{ url: sync }, { url: rawUrl }] = await Promise.all([server.call('start', {}), raw.call('start')])
    const count = context.quick ? 200 : 1000
    await client.call('setup', { sync, raw: rawUrl }, count)
    let request = ''
    const repeats = Math.max(context.repeats, 10)
    context.log(`${repeats} catch-ups per side, interleaved`)
    const rounds = await interleave(
      { repeats, warmup: 2 },
      async () => {
        const round = await client.call('round', 'lensync', CHANGES)
        request = round.request
        await raw.call('setReply', round.reply)
        return round
      },
      () => client.call('round', 'raw', CHANGES, request),
    )
    await client.call('teardown')
    const common = {
      better: 'lower',
      baselineLabel: 'raw ws: connect + one request/answer, same bytes',
    } as const
    const bytes = Buffer.byteLength(rounds.lensync.at(-1)?.reply ?? '')
    return [
      makeRow({
        ...common,
        id: 'P7 ms',
        label: `catch-up, reconnect → synced (${count} entities, ${CHANGES} changed)`,
        unit: 'ms',
        showAdded: true,
        ...pick(rounds, round => round.ms),
        note: `${bytes} bytes received while catching up (only the ${CHANGES} changed entities)`,
      }),
      makeRow({
        ...common,
        id: 'P7 trips',
        label: 'catch-up round trips (WebSocket upgrade included)',
        unit: 'round trips',
        ...pick(rounds, round => round.roundTrips),
        goal: { op: '<=', value: 3, on: 'lensync' },
      }),
    ]
  },
}
