import { interleave, pick } from '../lib/interleave.ts'
import { makeRow } from '../lib/row.ts'
import type { Metric } from './types.ts'

/**
 * P1o: P1's edit latency (A update → server → B store notified) with an
 * observer on both clients' frames (`socket.frames`, what the inspector of
 * `@lensync/devtools` subscribes to) against the same without one, in the
 * same process and run. The observation API should cost nothing measurable.
 */
export const p1oObserved: Metric = {
  id: 'P1o',
  title: 'edit latency with a frame observer attached vs without (socket.frames)',
  async run(context) {
    const [server, clients] = await Promise.all([
      context.start('syncServer', 'server'),
      context.start('observedLatencyClients', 'client'),
    ])
    const { url } = await server.call('start', {})
    await clients.call('setup', url)
    const samples = context.quick ? 300 : 2000
    context.log(`${context.repeats} × ${samples} edits per side, interleaved`)
    const rounds = await interleave(
      { repeats: context.repeats },
      () => clients.call('round', 'observed', samples),
      () => clients.call('round', 'plain', samples),
    )
    const bytes = await clients.call('teardown')
    const common = {
      unit: 'µs',
      better: 'lower',
      baselineLabel: 'the same, no observer',
      showAdded: true,
      note: `the observers saw ${bytes} bytes of frames`,
    } as const
    return [
      makeRow({
        ...common,
        id: 'P1o p50',
        label: 'edit latency p50, frames observed',
        ...pick(rounds, round => round.p50),
        // The observer sizes each frame and calls a function: a few µs at most, within P1's noise.
        goal: { op: '<=', value: 1.1, on: 'ratio' },
      }),
      makeRow({
        ...common,
        id: 'P1o p99',
        label: 'edit latency p99, frames observed',
        ...pick(rounds, round => round.p99),
      }),
    ]
  },
}
