// `npm run bench`: measures lensync against the raw layers beneath it, each metric with its
// baseline in the same run, prints the table and writes bench/results.json. See docs/benchmarks.md.
import { parseBenchArgs } from './lib/args.ts'
import { buildPackages } from './lib/build.ts'
import { describeMachine, loadAverage } from './lib/machine.ts'
import { resolvePinning } from './lib/pinning.ts'
import { writeResults } from './lib/results.ts'
import type { Row } from './lib/row.ts'
import { renderTable } from './lib/table.ts'
import { startWorker } from './lib/worker.ts'
import { metrics } from './metrics/index.ts'
import type { BenchContext } from './metrics/types.ts'

const args = parseBenchArgs(process.argv.slice(2))
// Metric ids are matched without regard to case (`--only p2b`).
const wanted = (id: string) => args.only.some(only => only.toUpperCase() === id.toUpperCase())
const unknown = args.only.filter(id => !metrics.some(metric => metric.id.toUpperCase() === id.toUpperCase()))
if (unknown.length > 0) {
  console.error(`unknown metric ${unknown.join(', ')}; known: ${metrics.map(m => m.id).join(', ')}`)
  process.exit(2)
}
const selected = args.only.length === 0 ? metrics : metrics.filter(metric => wanted(metric.id))
const pinning = resolvePinning(args.pin)
const machine = describeMachine()
const started = Date.now()
const loadBefore = loadAverage()
const log = (message: string) =>
  console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${message}`)

log(
  `${machine.cpu}, ${machine.cpus} CPUs, Node ${machine.node}; ${pinning.describe()}; ${args.repeats} repeats`,
)
if (args.quick) log('--quick: small workloads, figures are not for publishing')
if (args.source) log('--source: lensync runs from its TypeScript sources through tsx (figures include tsx)')
else log(`built packages/*/dist in ${buildPackages()} s`)

const rows: Row[] = []
const failures: { metric: string; error: string }[] = []
for (const metric of selected) {
  const workers: { stop(): Promise<void> }[] = []
  const context: BenchContext = {
    repeats: args.repeats,
    quick: args.quick,
    pinning,
    source: args.source,
    async start(role, kind, nodeFlags) {
      const worker = await startWorker(role, { pinning, kind, source: args.source, nodeFlags })
      workers.push(worker)
      return worker
    },
    log: message => log(`${metric.id} ${message}`),
  }
  log(`${metric.id} ${metric.title}`)
  try {
    rows.push(...(await metric.run(context)))
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
    failures.push({ metric: metric.id, error: text })
    log(`${metric.id} FAILED: ${text}`)
  } finally {
    await Promise.all(workers.map(worker => worker.stop()))
  }
}

const seconds = Math.round((Date.now() - started) / 100) / 10
writeResults(args.out, {
  date: new Date(started).toISOString(),
  machine,
  pinning: pinning.describe(),
  repeats: args.repeats,
  quick: args.quick,
  code: args.source ? 'source' : 'dist',
  load: { before: loadBefore, after: loadAverage() },
  seconds,
  rows,
  failures,
})
console.log(`\n${renderTable(rows)}\n`)
const missed = rows.filter(row => row.met === false).map(row => row.id)
log(
  `done in ${seconds} s; wrote ${args.out}; goals missed: ${missed.length === 0 ? 'none' : missed.join(', ')}`,
)
if (failures.length > 0) {
  console.error(`failed: ${failures.map(f => f.metric).join(', ')}`)
  process.exitCode = 1
}
