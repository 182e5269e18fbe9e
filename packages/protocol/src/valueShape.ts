import { MAX_VALUE_DEPTH } from './constants.ts'

/** What {@link findValueProblem} found: a value that references itself, or one nested too deeply. */
export type ValueProblem = 'cycle' | 'depth'

// Heights of nodes whose walk is under way; a node met again meanwhile is its own descendant.
const IN_PROGRESS = -1
const CYCLE = -2
const TOO_DEEP = -3

/**
 * Checks the shape of a decoded value: a cycle (which superjson's
 * `referentialEqualities` can build, and which no store, `JSON.stringify`
 * or recursive walk survives) or nesting deeper than `maxDepth`.
 *
 * Plain objects (and other objects, by their own enumerable fields), arrays,
 * Map keys and values, and Set items are walked; Dates, typed arrays and
 * primitives are leaves. Each object is walked once, whatever the number of
 * paths that reach it, so the time is linear in the number of objects and
 * references, also for values that share sub-objects (superjson's
 * referential equalities can make 2^n paths out of n objects). The walk
 * stops `maxDepth` levels down, so the recursion stays shallow.
 *
 * @param value - A decoded value.
 * @param maxDepth - The deepest nesting allowed (`{}` is 1 deep); at most a few thousand.
 *   Defaults to {@link MAX_VALUE_DEPTH}.
 * @returns `'cycle'`, `'depth'`, or `undefined` when the value is fine.
 * @example
 * if (findValueProblem(decoded) !== undefined) refuse()
 */
export function findValueProblem(
  value: unknown,
  maxDepth: number = MAX_VALUE_DEPTH,
): ValueProblem | undefined {
  const height = measure(value, 0, maxDepth, new Map())
  if (height === CYCLE) return 'cycle'
  if (height === TOO_DEEP || height > maxDepth) return 'depth'
  return undefined
}

// The nesting height of `value` (0 for a leaf), or CYCLE / TOO_DEEP.
// `above` counts the containers between the root and `value`.
function measure(value: unknown, above: number, maxDepth: number, heights: Map<object, number>): number {
  if (typeof value !== 'object' || value === null) return 0
  const known = heights.get(value)
  if (known !== undefined) return known === IN_PROGRESS ? CYCLE : known
  if (value instanceof Date || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return 0
  if (above >= maxDepth) return TOO_DEEP
  heights.set(value, IN_PROGRESS)
  let tallest = 0
  const visit = (child: unknown): boolean => {
    const h = measure(child, above + 1, maxDepth, heights)
    if (h < 0) {
      tallest = h
      return false
    }
    if (h > tallest) tallest = h
    return true
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!visit(value[i])) return tallest
  } else if (value instanceof Map) {
    for (const [key, item] of value) if (!visit(key) || !visit(item)) return tallest
  } else if (value instanceof Set) {
    for (const item of value) if (!visit(item)) return tallest
  } else {
    for (const key of Object.keys(value)) {
      if (!visit((value as Record<string, unknown>)[key])) return tallest
    }
  }
  const height = tallest + 1
  heights.set(value, height)
  return height
}
