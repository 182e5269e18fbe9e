import { formatNumber } from '../lib/format.ts'
import { makeRow } from '../lib/row.ts'
import type { EditBytes } from '../roles/bytesClient.ts'
import type { Metric } from './types.ts'

const bytes = (text: string) => Buffer.byteLength(text)

/**
 * P5: bytes on the wire for a one-field edit of a 20-field entity — the
 * frame client A sends and the frame client B receives, captured by a tap
 * on the WebSocket — against `JSON.stringify({ path, value })`, with the
 * whole entity (what a sync of whole values, such as fritz2's, sends) for
 * comparison. Payload bytes: WebSocket framing adds the same 2–14 bytes to
 * any message. The baseline is computed, not sent, so it needs no interleaving.
 */
export const p5EditBytes: Metric = {
  id: 'P5',
  title: 'bytes on the wire for a one-field edit of a 20-field entity, vs JSON {path, value}',
  async run(context) {
    const [server, client] = await Promise.all([
      context.start('syncServer', 'server'),
      context.start('bytesClient', 'client'),
    ])
    const { url } = await server.call('start', {})
    // Deterministic, but measured like the others: several edits, each of a fresh entity.
    const edits: EditBytes[] = []
    for (let i = 0; i < context.repeats; i++) edits.push(await client.call('measure', url))
    const baseline = edits.map(edit => bytes(edit.baseline))
    const example = edits[0] as EditBytes
    const whole = bytes(example.wholeEntity)
    const common = {
      unit: 'B',
      better: 'lower',
      baselineLabel: 'JSON.stringify({path, value})',
      showAdded: true,
      baseline,
      goal: { op: '<=', value: 1.15, on: 'ratio' },
    } as const
    const sent = bytes(example.sent)
    return [
      makeRow({
        ...common,
        id: 'P5 sent',
        label: 'one-field edit, client → server',
        lensync: edits.map(edit => bytes(edit.sent)),
        note:
          `sent \`${example.sent}\`, baseline \`${example.baseline}\`; the whole entity (what a ` +
          `whole-value sync sends) is ${whole} B, ${formatNumber(whole / sent)}× the patch`,
      }),
      makeRow({
        ...common,
        id: 'P5 recv',
        label: 'one-field edit, server → client',
        lensync: edits.map(edit => bytes(edit.received)),
        note: `received \`${example.received}\``,
      }),
    ]
  },
}
