import { formatFigure } from '../../lib/format.ts'
import { type Figure, figure } from '../../lib/stats.ts'
import { type SystemId, systemIds, systems } from '../systems/index.ts'

/** One row of the peers table: a figure per system, or why there is none. */
export interface PeerRow {
  /** Short id, e.g. `latency p50`. */
  readonly id: string
  /** The row's title in the table. */
  readonly label: string
  readonly unit: string
  readonly better: 'lower' | 'higher'
  /** Per system: median and range over the rounds, or a text (`–`: no equivalent; `failed`). */
  readonly cells: Partial<Record<SystemId, Figure | string>>
}

/**
 * Makes a row from every round's value per system.
 *
 * @param row - Id, label, unit, direction.
 * @param samples - Per system, one value per measured round.
 * @param texts - Per system, a text instead of a figure (`–`, `failed`).
 * @returns The row.
 */
export function makePeerRow(
  row: Omit<PeerRow, 'cells'>,
  samples: Partial<Record<SystemId, number[]>>,
  texts: Partial<Record<SystemId, string>> = {},
): PeerRow {
  const cells: Partial<Record<SystemId, Figure | string>> = {}
  for (const id of systemIds) {
    const values = samples[id] ?? []
    const text = texts[id]
    if (text !== undefined) cells[id] = text
    else if (values.length > 0) cells[id] = figure(values)
  }
  return { ...row, cells }
}

/**
 * The rows as a Markdown table, systems as columns, `median (min–max)` per cell.
 *
 * @param rows - The rows.
 * @param columns - The systems measured, in order.
 * @param rounds - The rounds asked for: a cell from fewer (its time budget ran out) says how many.
 * @returns The table, padded so that it also reads in a terminal.
 */
export function renderPeerTable(
  rows: readonly PeerRow[],
  columns: readonly SystemId[],
  rounds: number,
): string {
  const header = ['row', ...columns.map(id => systems[id])]
  const body = rows.map(row => [
    `${row.label} (${row.unit})`,
    ...columns.map(id => {
      const cell = row.cells[id]
      if (cell === undefined) return '–'
      if (typeof cell === 'string') return cell
      const n = cell.samples.length
      return n < rounds
        ? `${formatFigure(cell, '')} [${n} round${n === 1 ? '' : 's'}]`
        : formatFigure(cell, '')
    }),
  ])
  const widths = header.map((title, i) => Math.max(title.length, ...body.map(line => (line[i] ?? '').length)))
  const line = (values: readonly string[]) =>
    `| ${values.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')} |`
  const rule = `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`
  return [line(header), rule, ...body.map(line)].join('\n')
}
