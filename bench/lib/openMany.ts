/**
 * Opens many connections a batch at a time, so the server's accept queue
 * (511 on Linux by default) never overflows into SYN retries, which would
 * add whole seconds to a run.
 *
 * @param count - How many.
 * @param open - Opens the i-th one.
 * @param batch - How many at once. Default 100.
 * @returns Every connection, in order.
 */
export async function openMany<T>(
  count: number,
  open: (index: number) => Promise<T>,
  batch = 100,
): Promise<T[]> {
  const all: T[] = []
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start)
    all.push(...(await Promise.all(Array.from({ length: size }, (_, i) => open(start + i)))))
  }
  return all
}
