// Reads V8 CPU profiles (from `BENCH_CPU_PROF=<dir> npm run bench -- --only P1`, or
// `node --cpu-prof`) and prints where the time went: self time by package and by function.
// Usage: npx tsx bench/profileSummary.ts <file.cpuprofile>… [--top 25]
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Which part of the stack a script belongs to, for the per-package totals. */
function areaOf(url: string, name: string): string {
  if (url === '') return name === '(garbage collector)' ? 'gc' : name.startsWith('(') ? name : 'native'
  const pkg = /packages\/([^/]+)\/(?:src|dist)\//.exec(url)
  if (pkg) return `@lensync/${pkg[1]}`
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (module) return module[1] as string
  if (url.startsWith('node:')) return 'node internals'
  if (url.includes('/bench/')) return 'bench'
  return basename(url)
}

function summarize(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const self = new Map<number, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const areas = new Map<string, number>()
  const functions = new Map<string, number>()
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame
    const area = areaOf(url, functionName)
    areas.set(area, (areas.get(area) ?? 0) + micros)
    const key = `${functionName || '(anonymous)'} ${url ? `${basename(url)}:${lineNumber + 1}` : ''}`
    functions.set(key, (functions.get(key) ?? 0) + micros)
  }
  const pct = (micros: number) => `${((100 * micros) / total).toFixed(1).padStart(5)}%`
  console.log(`\n${basename(file)}: ${(total / 1e6).toFixed(2)} s sampled`)
  for (const [area, micros] of [...areas].sort((a, b) => b[1] - a[1]))
    console.log(`  ${pct(micros)}  ${area}`)
  console.log('  top functions (self time):')
  for (const [key, micros] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${pct(micros)}  ${key}`)
}

const args = process.argv.slice(2)
const topAt = args.indexOf('--top')
const top = topAt >= 0 ? Number(args[topAt + 1]) : 25
const files = args.filter((_, i) => topAt < 0 || (i !== topAt && i !== topAt + 1))
if (files.length === 0) {
  console.error('usage: npx tsx bench/profileSummary.ts <file.cpuprofile>… [--top 25]')
  process.exit(2)
}
for (const file of files) summarize(file, top)
