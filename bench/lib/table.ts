import { formatFigure, formatNumber } from './format.ts'
import type { Row } from './row.ts'

const HEADER = ['', 'measure', 'lensync', 'baseline', 'ratio', 'added', 'goal', 'met'] as const

function cells(row: Row): string[] {
  const goal = row.goal
  const goalText = goal
    ? `${goal.op === '<=' ? '≤' : '≥'} ${formatNumber(goal.value)}${goal.on === 'ratio' ? '×' : ` ${row.unit}`}`
    : '—'
  return [
    row.id,
    row.label,
    formatFigure(row.lensync, row.unit),
    formatFigure(row.baseline, row.unit),
    formatFigure(row.ratio, '×'),
    row.added ? `${row.added.median >= 0 ? '+' : ''}${formatFigure(row.added, row.unit)}` : '',
    goalText,
    row.met === undefined ? '' : row.met ? 'yes' : '**no**',
  ]
}

/**
 * The report as a Markdown table, padded so that it also reads well in a
 * terminal (and pastes into docs/benchmarks.md as is), followed by what each
 * row's baseline is. Figures are `median (min–max)` over the repeats; the
 * ratio is lensync ÷ baseline, repeat by repeat.
 *
 * @param rows - The rows, in order.
 * @returns The table, one line per row, with a header.
 */
export function renderTable(rows: readonly Row[]): string {
  const body = rows.map(cells)
  const widths = HEADER.map((title, i) => Math.max(title.length, ...body.map(line => (line[i] ?? '').length)))
  const line = (values: readonly string[]) =>
    `| ${values.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')} |`
  const rule = `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`
  const legend = rows.map(
    row => `- ${row.id}: baseline ${row.baselineLabel}${row.note ? `; ${row.note}` : ''}`,
  )
  return [line(HEADER), rule, ...body.map(line), '', ...legend].join('\n')
}
