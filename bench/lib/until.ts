import type { ReadonlySignal } from '@lensync/store'

/**
 * Waits until a signal's value passes a test (checked at once, then on every change).
 *
 * @param source - The signal to watch, e.g. `sync.status`.
 * @param test - E.g. `s => s === 'synced'`.
 * @param timeoutMs - Fail after this long. Default 20 000.
 * @returns The first value that passed.
 */
export function until<T>(
  source: ReadonlySignal<T>,
  test: (value: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let done = false
    let stop: (() => void) | undefined
    const timer = setTimeout(() => {
      done = true
      stop?.()
      reject(new Error(`until(): no passing value within ${timeoutMs} ms (last: ${String(source.peek())})`))
    }, timeoutMs)
    stop = source.subscribe(value => {
      if (done || !test(value)) return
      done = true
      clearTimeout(timer)
      queueMicrotask(() => stop?.())
      resolve(value)
    })
    if (done) stop()
  })
}

/**
 * Waits until every one of some signals passes a test.
 *
 * @param sources - The signals.
 * @param test - The test for each.
 * @returns When all passed.
 */
export async function untilAll<T>(
  sources: Iterable<ReadonlySignal<T>>,
  test: (value: T) => boolean,
): Promise<void> {
  await Promise.all([...sources].map(source => until(source, test)))
}
