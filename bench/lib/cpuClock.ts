/**
 * CPU time this process has used (user + system), in nanoseconds, at
 * microsecond resolution. Micro-benchmarks time their loops with it rather
 * than with the wall clock: time the process spends descheduled (other work
 * on the shared cores) does not count, so loops of ≥ 0.1 s are steady even
 * on a busy machine.
 *
 * @returns The CPU time so far.
 */
export function cpuNanos(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) * 1000
}
