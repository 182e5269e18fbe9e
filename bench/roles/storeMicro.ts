// Role: P3's store micro-benchmarks, in their own pinned process, timed in CPU time (cpuNanos).
// Each case is its own loop:
// a shared timing helper calling closures would add the same megamorphic call to both sides
// and flatten the ratios.
import { computed, effect, lenses, signal, storeOf } from '@lensync/store'
import { cpuNanos } from '../lib/cpuClock.ts'
import { type Deep, deep } from '../lib/fixtures.ts'

const L = lenses<Deep>()

function nsPerOp(start: number, iterations: number): number {
  return (cpuNanos() - start) / iterations
}

function check(fired: number, expected: number, what: string): void {
  if (fired !== expected) throw new Error(`${what}: the effect ran ${fired} times, expected ${expected}`)
}

export const methods = {
  /**
   * lensync: `store.map(L.meta.level.value).update(i)` with an effect on that
   * sub-store's `data`; raw: `signal.value = i` → `computed` → `effect`.
   * Both until the effect has run. ns per update.
   */
  fieldUpdate(side: 'lensync' | 'raw', iterations: number): number {
    let fired = 0
    if (side === 'lensync') {
      const root = storeOf(deep())
      const field = root.map(L.meta.level.value)
      const stop = effect(() => {
        field.data.value
        fired++
      })
      const start = cpuNanos()
      for (let i = 1; i <= iterations; i++) field.update(i)
      const ns = nsPerOp(start, iterations)
      stop()
      check(fired, iterations + 1, 'fieldUpdate')
      return ns
    }
    const source = signal(0)
    const derived = computed(() => source.value)
    const stop = effect(() => {
      derived.value
      fired++
    })
    const start = cpuNanos()
    for (let i = 1; i <= iterations; i++) source.value = i
    const ns = nsPerOp(start, iterations)
    stop()
    check(fired, iterations + 1, 'fieldUpdate raw')
    return ns
  },

  /**
   * The same depth-3 update written by hand on raw signals, as a user of
   * preact signals would without a store: an object signal, a `computed` of
   * the field, an effect on it, and immutable spreads down the path.
   */
  fieldUpdateByHand(iterations: number): number {
    let fired = 0
    const source = signal(deep())
    const field = computed(() => source.value.meta.level.value)
    const stop = effect(() => {
      field.value
      fired++
    })
    const start = cpuNanos()
    for (let i = 1; i <= iterations; i++) {
      const p = source.peek()
      source.value = { ...p, meta: { ...p.meta, level: { ...p.meta.level, value: i } } }
    }
    const ns = nsPerOp(start, iterations)
    stop()
    check(fired, iterations + 1, 'fieldUpdateByHand')
    return ns
  },

  /**
   * An update of a root store with the value it holds (an effect reads its
   * `data`), vs writing a signal its own value (an effect reads it). Nothing
   * may be notified. ns per update.
   */
  noopRoot(side: 'lensync' | 'raw', iterations: number): number {
    let fired = 0
    if (side === 'lensync') {
      const root = storeOf(deep())
      const stop = effect(() => {
        root.data.value
        fired++
      })
      const same = root.current
      const start = cpuNanos()
      for (let i = 0; i < iterations; i++) root.update(same)
      const ns = nsPerOp(start, iterations)
      stop()
      check(fired, 1, 'noopRoot')
      return ns
    }
    return sameValueSignalWrite(iterations)
  },

  /** The same for the depth-3 sub-store of {@link methods.fieldUpdate} (an effect reads its `data`). */
  noopSub(side: 'lensync' | 'raw', iterations: number): number {
    let fired = 0
    if (side === 'lensync') {
      const field = storeOf(deep()).map(L.meta.level.value)
      const stop = effect(() => {
        field.data.value
        fired++
      })
      const same = field.current
      const start = cpuNanos()
      for (let i = 0; i < iterations; i++) field.update(same)
      const ns = nsPerOp(start, iterations)
      stop()
      check(fired, 1, 'noopSub')
      return ns
    }
    return sameValueSignalWrite(iterations)
  },
}

function sameValueSignalWrite(iterations: number): number {
  let fired = 0
  const source = signal(deep())
  const stop = effect(() => {
    source.value
    fired++
  })
  const same = source.peek()
  const start = cpuNanos()
  for (let i = 0; i < iterations; i++) source.value = same
  const ns = nsPerOp(start, iterations)
  stop()
  check(fired, 1, 'same-value signal write')
  return ns
}
