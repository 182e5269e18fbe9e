import type { Figure } from './stats.ts'

/**
 * A number for people: three significant digits, `k`/`M` for large ones.
 *
 * @param value - The number.
 * @returns E.g. `1.23M`, `45.6k`, `123`, `12.3`, `1.23`; integers below 10 000 as they are.
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  if (Number.isInteger(value) && abs < 1e4) return String(value)
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(3)}M`
  if (abs >= 1e4) return `${(value / 1e3).toPrecision(3)}k`
  if (abs >= 100) return value.toFixed(0)
  if (abs >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

/**
 * A figure as `median (min–max) unit`; the range is left out when every repeat gave the same value.
 *
 * @param figure - Median and range.
 * @param unit - Appended after the numbers (`×` with no space).
 * @returns The text.
 */
export function formatFigure(figure: Figure, unit: string): string {
  const suffix = unit === '×' ? '×' : unit === '' ? '' : ` ${unit}`
  const median = formatNumber(figure.median)
  const min = formatNumber(figure.min)
  const max = formatNumber(figure.max)
  return min === max ? `${median}${suffix}` : `${median} (${min}–${max})${suffix}`
}
