// `npm run bench:peers`: lensync beside raw ws, TinyBase, Yjs (y-websocket, Hocuspocus) and
// automerge-repo on one workload — a 20-field record, one field edited at a time — each server
// in a process of its own, rounds interleaved across the systems. Installs bench/peers'
// dependencies on first use, prints the table, writes bench/peers/results.json and results.md.
// See docs/benchmarks.md, "Peers".
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { buildPackages } from '../lib/build.ts'
import { describeMachine, loadAverage } from '../lib/machine.ts'
import { type PinMode, resolvePinning } from '../lib/pinning.ts'
import type { MemorySample } from '../lib/processProbe.ts'
import { makePeerRow, type PeerRow, renderPeerTable } from './lib/report.ts'
import type { PeerWorker } from './lib/worker.ts'
import type { RoleMethods } from './roles/index.ts'
import { isSystemId, type SystemId, systemIds, systems } from './systems/index.ts'

const here = fileURLToPath(new URL('.', import.meta.url))
const USAGE =
  'usage: npm run bench:peers -- [--quick] [--rounds 5] [--systems raw,lensync,…] ' +
  '[--metrics latency,idle,fanout,late,presence] [--pin auto|same|split|off] [--source]'
const { values: options } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    systems: { type: 'string', default: systemIds.join(',') },
    pin: { type: 'string', default: 'auto' },
    source: { type: 'boolean', default: false },
    metrics: { type: 'string', default: 'latency,idle,fanout,late,presence' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
})
if (options.help) {
  console.log(USAGE)
  process.exit(0)
}
const quick = options.quick
const rounds = Number(options.rounds ?? (quick ? 1 : 5))
const pinMode = options.pin as PinMode | 'auto'
const chosen = options.systems.split(',').map(s => s.trim())
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer\n${USAGE}`)
if (!['auto', 'same', 'split', 'off'].includes(pinMode))
  throw new Error(`--pin must be auto, same, split or off\n${USAGE}`)
const unknown = chosen.filter(id => !isSystemId(id))
if (unknown.length > 0)
  throw new Error(`unknown system ${unknown.join(', ')}; known: ${systemIds.join(', ')}`)
const columns = systemIds.filter(id => chosen.includes(id))
const metricIds = ['latency', 'idle', 'fanout', 'late', 'presence'] as const
const wantedMetrics = options.metrics.split(',').map(m => m.trim())
const badMetric = wantedMetrics.filter(m => !(metricIds as readonly string[]).includes(m))
if (badMetric.length > 0)
  throw new Error(`unknown metric ${badMetric.join(', ')}; known: ${metricIds.join(', ')}`)
const wants = (metric: (typeof metricIds)[number]) => wantedMetrics.includes(metric)

/** The workload sizes. */
const size = quick
  ? {
      latencySamples: 100,
      latencyMs: 1000,
      idle: 100,
      readers: [20, 100],
      edits: 100,
      late: 200,
      members: 30,
      bursts: 5,
    }
  : {
      latencySamples: 500,
      latencyMs: 3000,
      idle: 500,
      readers: [100, 1000],
      edits: 300,
      late: 1000,
      members: 100,
      bursts: 30,
    }
const BURST = 10

const started = Date.now()
const log = (message: string) =>
  console.log(`[bench:peers ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${message}`)

// First use: the peers' own dependencies, outside the workspace's install.
if (!existsSync(`${here}/node_modules`)) {
  log('installing bench/peers dependencies (npm ci --prefix bench/peers)')
  execFileSync('npm', ['ci', '--prefix', here, '--no-audit', '--no-fund'], { stdio: 'inherit' })
}
const { startPeerWorker, TimeoutError } = await import('./lib/worker.ts')

// auto: the latency rounds with every process on one CPU (a wake-up on the other vCPU costs
// 40–100 µs here, as in the main bench); the throughput rounds with the servers on one CPU and
// the clients on the other, so that a thousand clients' work does not queue behind the server's.
const pinning = resolvePinning(pinMode === 'auto' ? 'same' : pinMode)
const throughputPinning = resolvePinning(pinMode === 'auto' ? 'split' : pinMode)
const machine = describeMachine()
const loadBefore = loadAverage()
const pinningText =
  pinning.describe() === throughputPinning.describe()
    ? pinning.describe()
    : `latency: ${pinning.describe()}; the rest: ${throughputPinning.describe()}`
log(`${machine.cpu}, ${machine.cpus} CPUs, Node ${machine.node}; ${pinningText}; ${rounds} rounds`)
if (quick) log('--quick: small workloads, figures are not for publishing')
if (options.source) log('--source: lensync from its TypeScript sources through tsx')
else log(`built packages/*/dist in ${buildPackages()} s`)

type Server = PeerWorker<RoleMethods<'server'>>
type Clients = PeerWorker<RoleMethods<'clients'>>
interface Pair {
  readonly server: Server
  readonly clients: Clients
  readonly url: string
}

const failures: { system: SystemId; metric: string; error: string }[] = []
const failed = new Map<string, Set<SystemId>>()
const failedIn = (metric: string) => {
  let set = failed.get(metric)
  if (!set) {
    set = new Set()
    failed.set(metric, set)
  }
  return set
}
/** Appends `value` to the series of `system`. */
function push<T>(series: Partial<Record<SystemId, T[]>>, system: SystemId, value: T): void {
  const values = series[system]
  if (values) values.push(value)
  else series[system] = [value]
}

/** What a cell says when its system failed: `timed out` when a call ran out of time. */
const failureTexts = new Map<string, string>()

function fail(metric: string, system: SystemId, error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
  failedIn(metric).add(system)
  failureTexts.set(`${metric}/${system}`, error instanceof TimeoutError ? 'timed out' : 'failed')
  failures.push({ system, metric, error: text })
  log(`${metric} ${system} FAILED: ${text.split('\n')[0]}`)
}

async function startPair(system: SystemId, serverFlags: string[] = [], latency = false): Promise<Pair> {
  const common = {
    pinning: latency ? pinning : throughputPinning,
    source: options.source,
    callTimeoutMs: 180_000,
  }
  const [server, clients] = await Promise.all([
    startPeerWorker('server', system, { ...common, kind: 'server', nodeFlags: serverFlags }),
    startPeerWorker('clients', system, { ...common, kind: 'client' }),
  ])
  const { url } = await server.call('start')
  return { server, clients, url }
}

async function stopPair(pair: Pair | undefined): Promise<void> {
  if (!pair) return
  await Promise.all([pair.clients.stop(), pair.server.stop()])
}

/** Rotates the order of the systems from round to round, so that none is always first after a pause. */
const orderOf = (round: number, ids: readonly SystemId[]) =>
  ids.map((_, i) => ids[(i + round) % ids.length] as SystemId)

/** Waits until the server process is idle (under 1 ms of CPU in two 50 ms windows), at most 3 s. */
async function serverIdle(server: Server): Promise<number> {
  let quiet = 0
  let last = await server.callWithin(60_000, 'cpuMicros')
  for (let i = 0; i < 60 && quiet < 2; i++) {
    await sleep(50)
    const now = await server.callWithin(60_000, 'cpuMicros')
    quiet = now - last < 1000 ? quiet + 1 : 0
    last = now
  }
  return last
}

/**
 * Runs one metric: a server and a clients process per system, `setup` once, then one
 * unmeasured warm-up round (if `warmup`) and `rounds` measured rounds, interleaved across
 * the systems. A system that fails is left out of the metric's later rounds.
 */
async function interleaved<T>(
  metric: string,
  ids: readonly SystemId[],
  setup: (pair: Pair, system: SystemId) => Promise<void>,
  round: (pair: Pair, system: SystemId, index: number) => Promise<T>,
  { warmup = true, latency = false, budgetS }: { warmup?: boolean; latency?: boolean; budgetS: number },
): Promise<Partial<Record<SystemId, T[]>>> {
  const pairs = new Map<SystemId, Pair>()
  const results: Partial<Record<SystemId, T[]>> = {}
  const took = new Map<SystemId, number>()
  try {
    for (const system of ids) {
      try {
        const pair = await startPair(system, [], latency)
        pairs.set(system, pair)
        await setup(pair, system)
      } catch (error) {
        fail(metric, system, error)
      }
    }
    for (let r = warmup ? -1 : 0; r < rounds; r++) {
      for (const system of orderOf(r + 1, ids)) {
        const pair = pairs.get(system)
        if (!pair || failedIn(metric).has(system)) continue
        // Bounded in time: after its budget, a system that has one measured round does no more.
        if ((results[system]?.length ?? 0) > 0 && (took.get(system) ?? 0) > budgetS) continue
        const start = Date.now()
        try {
          const value = await round(pair, system, r)
          if (r >= 0) push(results, system, value)
        } catch (error) {
          fail(metric, system, error)
          // Its processes may still be busy (a timeout): end them now, they would slow the others.
          pairs.delete(system)
          await stopPair(pair)
        }
        took.set(system, (took.get(system) ?? 0) + (Date.now() - start) / 1000)
      }
      log(`${metric}: ${r < 0 ? 'warm-up' : `round ${r + 1}/${rounds}`} done`)
    }
  } finally {
    await Promise.all([...pairs.values()].map(stopPair))
  }
  log(`${metric}: seconds per system: ${[...took].map(([id, s]) => `${id} ${s.toFixed(1)}`).join(', ')}`)
  return results
}

const pickAll = <T>(results: Partial<Record<SystemId, T[]>>, pick: (value: T) => number) => {
  const out: Partial<Record<SystemId, number[]>> = {}
  for (const [id, values] of Object.entries(results) as [SystemId, T[]][]) out[id] = values.map(pick)
  return out
}
const failedTexts = (metric: string) => {
  const out: Partial<Record<SystemId, string>> = {}
  for (const id of failedIn(metric)) out[id] = failureTexts.get(`${metric}/${id}`) ?? 'failed'
  return out
}

const rows: PeerRow[] = []

// 1. Edit latency A → server → B, and the bytes of those edits.
if (wants('latency')) {
  const metric = 'latency'
  log(`${metric}: up to ${size.latencySamples} edits or ${size.latencyMs} ms per round`)
  const results = await interleaved(
    metric,
    columns,
    pair => pair.clients.callWithin(60_000, 'latencySetup', pair.url),
    pair => pair.clients.call('latencyRound', size.latencySamples, size.latencyMs),
    { latency: true, budgetS: 30 },
  )
  const texts = failedTexts(metric)
  const common = { unit: 'µs', better: 'lower' } as const
  rows.push(
    makePeerRow(
      { ...common, id: 'latency p50', label: 'edit latency A → server → B, p50' },
      pickAll(results, r => r.p50),
      texts,
    ),
    makePeerRow(
      { ...common, id: 'latency p99', label: 'edit latency A → server → B, p99' },
      pickAll(results, r => r.p99),
      texts,
    ),
    makePeerRow(
      { id: 'bytes sent', label: 'bytes A → server per edit', unit: 'B', better: 'lower' },
      pickAll(results, r => r.bytes.aSent),
      texts,
    ),
    makePeerRow(
      { id: 'bytes all', label: 'bytes per edit, all four directions', unit: 'B', better: 'lower' },
      pickAll(results, r => r.bytes.aSent + r.bytes.aReceived + r.bytes.bSent + r.bytes.bReceived),
      texts,
    ),
    makePeerRow(
      { id: 'latency samples', label: 'edits per latency round', unit: 'edits', better: 'higher' },
      pickAll(results, r => r.samples),
      texts,
    ),
  )
}

// 2. Server memory per idle client: fresh processes every round.
if (wants('idle')) {
  const metric = 'idle'
  log(`${metric}: ${size.idle} idle clients per system, fresh processes each round`)
  const results: Partial<Record<SystemId, { heap: number; rss: number }[]>> = {}
  const took = new Map<SystemId, number>()
  for (let r = 0; r < rounds; r++) {
    for (const system of orderOf(r, columns)) {
      if (failedIn(metric).has(system)) continue
      // 20 s: TinyBase's rounds take ~25 s each here (n² messages to connect), automerge-repo's ~9 s.
      if ((took.get(system) ?? 0) > 20) continue
      const start = Date.now()
      let pair: Pair | undefined
      try {
        pair = await startPair(system, ['--expose-gc'])
        const { server, clients, url } = pair
        // The creator and one reader first: the record and the code paths of a client exist before the baseline.
        const ref = await clients.call('idleOpen', pair.url, 1)
        await clients.call('idleOpen', url, 1, ref)
        const before: MemorySample = await server.call('memory')
        await clients.callWithin(90_000, 'idleOpen', url, size.idle, ref)
        await sleep(500)
        const after: MemorySample = await server.call('memory')
        push(results, system, {
          heap: (after.heapAndExternal - before.heapAndExternal) / size.idle / 1024,
          rss: (after.rss - before.rss) / size.idle / 1024,
        })
      } catch (error) {
        fail(metric, system, error)
      } finally {
        await stopPair(pair)
        took.set(system, (took.get(system) ?? 0) + (Date.now() - start) / 1000)
      }
    }
    log(`${metric}: round ${r + 1}/${rounds} done`)
  }
  log(`${metric}: seconds per system: ${[...took].map(([id, s]) => `${id} ${s.toFixed(1)}`).join(', ')}`)
  const texts = failedTexts(metric)
  rows.push(
    makePeerRow(
      {
        id: 'idle heap',
        label: `server heap + external per idle client (${size.idle})`,
        unit: 'KiB',
        better: 'lower',
      },
      pickAll(results, r => r.heap),
      texts,
    ),
    makePeerRow(
      { id: 'idle rss', label: `server RSS per idle client (${size.idle})`, unit: 'KiB', better: 'lower' },
      pickAll(results, r => r.rss),
      texts,
    ),
  )
}

// 3. Fan-out: one writer, N quiet readers, `edits` edits; server CPU from the first edit until it is idle again.
for (const readers of wants('fanout') ? size.readers : []) {
  const metric = `fan-out ${readers}`
  log(`${metric}: ${size.edits} edits to ${readers} readers, fresh readers each round`)
  const results = await interleaved(
    metric,
    columns,
    async () => {},
    async ({ server, clients, url }, _system, r) => {
      // Bounded: a system that cannot connect its readers within 90 s or deliver the edits within 60 s
      // is `timed out` (every system that finishes takes under 35 s; automerge-repo, throttled, 78 s
      // when it did, and the run must stay under 15 minutes from a clean clone).
      await clients.callWithin(90_000, 'fanoutSetup', url, readers, r)
      const before = await serverIdle(server)
      const { ms } = await clients.callWithin(60_000, 'fanoutRound', size.edits)
      const cpuSeconds = ((await serverIdle(server)) - before) / 1e6
      // (After a failure the processes are ended instead.)
      await clients.callWithin(60_000, 'fanoutTeardown')
      return { perCpuSecond: (size.edits * readers) / cpuSeconds, ms }
    },
    { warmup: readers === size.readers[0], budgetS: 30 },
  )
  const texts = failedTexts(metric)
  rows.push(
    makePeerRow(
      {
        id: `fan-out ${readers}`,
        label: `fan-out to ${readers} readers: edit-deliveries per server CPU-second`,
        unit: '/CPU-s',
        better: 'higher',
      },
      pickAll(results, r => r.perCpuSecond),
      texts,
    ),
  )
  if (readers === size.readers.at(-1))
    rows.push(
      makePeerRow(
        {
          id: `fan-out ${readers} ms`,
          label: `fan-out to ${readers}: first edit → every reader saw the last, ${size.edits} edits`,
          unit: 'ms',
          better: 'lower',
        },
        pickAll(results, r => r.ms),
        texts,
      ),
    )
}

// 4. Late joiner: a fresh client syncs a collection of records.
if (wants('late')) {
  const metric = 'late joiner'
  log(`${metric}: ${size.late} records`)
  const results = await interleaved(
    metric,
    columns,
    pair => pair.clients.callWithin(90_000, 'lateSetup', pair.url, size.late),
    pair => pair.clients.call('lateRound'),
    { budgetS: 20 },
  )
  rows.push(
    makePeerRow(
      { id: 'late joiner', label: `late joiner, ${size.late} records → synced`, unit: 'ms', better: 'lower' },
      pickAll(results, r => r.ms),
      failedTexts(metric),
    ),
  )
}

// 5. Presence: `members` members, bursts of 10 members' updates, each delivered to every other member.
if (wants('presence')) {
  const metric = 'presence'
  const withPresence: SystemId[] = []
  const texts: Partial<Record<SystemId, string>> = {}
  for (const system of columns) {
    // TinyBase has no presence; the others say so through their client module.
    if (system === 'tinybase') texts[system] = '–'
    else withPresence.push(system)
  }
  log(`${metric}: ${size.members} members, ${size.bursts} bursts of ${BURST} updates`)
  const results = await interleaved(
    metric,
    withPresence,
    // 180 s: automerge-repo's members settle after a join burst of ~1M deliveries (80–120 s of
    // the clients' CPU at 100 members; bench/peers/systems/automergeClient.ts, `settled`).
    pair => pair.clients.callWithin(180_000, 'presenceSetup', pair.url, size.members),
    async ({ server, clients }) => {
      const before = await serverIdle(server)
      const { deliveries } = await clients.call('presenceRound', size.bursts, BURST)
      const cpuSeconds = ((await serverIdle(server)) - before) / 1e6
      return deliveries / cpuSeconds
    },
    { budgetS: 20 },
  )
  rows.push(
    makePeerRow(
      {
        id: 'presence',
        label: `presence fan-out to ${size.members} members: update-deliveries per server CPU-second`,
        unit: '/CPU-s',
        better: 'higher',
      },
      pickAll(results, r => r),
      { ...texts, ...failedTexts(metric) },
    ),
  )
}

const versionOf = (name: string) => {
  try {
    return (
      JSON.parse(readFileSync(`${here}/node_modules/${name}/package.json`, 'utf8')) as { version: string }
    ).version
  } catch {
    return 'unknown'
  }
}
const versions = Object.fromEntries(
  [
    'ws',
    'tinybase',
    'yjs',
    'y-websocket',
    '@y/websocket-server',
    '@hocuspocus/server',
    '@hocuspocus/provider',
    '@automerge/automerge-repo',
    '@automerge/automerge',
  ].map(name => [name, versionOf(name)]),
)
const seconds = Math.round((Date.now() - started) / 100) / 10
const loadAfter = loadAverage()
const table = renderPeerTable(rows, columns, rounds)
const summary =
  `${machine.cpu}, ${machine.cpus} CPUs, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}; ` +
  `${pinningText}; commit ${machine.commit}; ${rounds} round${rounds === 1 ? '' : 's'}` +
  `${quick ? ' (--quick)' : ''}; lensync from ${options.source ? 'source' : 'dist'}; ${seconds} s; ` +
  `load average ${loadBefore} before / ${loadAfter} after`
writeFileSync(
  `${here}/results.json`,
  `${JSON.stringify(
    {
      date: new Date(started).toISOString(),
      machine,
      pinning: pinningText,
      rounds,
      quick,
      code: options.source ? 'source' : 'dist',
      load: { before: loadBefore, after: loadAfter },
      seconds,
      systems: Object.fromEntries(columns.map(id => [id, systems[id]])),
      versions,
      sizes: size,
      rows,
      failures,
    },
    null,
    2,
  )}\n`,
)
writeFileSync(
  `${here}/results.md`,
  `# Peers bench results\n\n${summary}\n\nFigures are \`median (min–max)\` over the rounds. See docs/benchmarks.md, "Peers".\n\n${table}\n`,
)
console.log(`\n${summary}\n\n${table}\n`)
log(`done in ${seconds} s; wrote bench/peers/results.json and results.md`)
if (failures.length > 0) {
  console.error(`failed: ${failures.map(f => `${f.metric} ${f.system}`).join(', ')}`)
  // A peer that times out or crashes is a finding, shown in its cell; the
  // run fails only when lensync or the raw floor did.
  if (failures.some(f => f.system === 'lensync' || f.system === 'raw')) process.exitCode = 1
}
