import { afterEach, describe, expect, it, onTestFailed } from 'vitest'
import { type Attacker, openAttacker, probe, rssOf, untilConnections } from './support/attack.ts'
import { startChildServer } from './support/childServer.ts'
import { processFixtures } from './support/processFixtures.ts'

// Attacks by one client against a default `lensync-server` (no login), each
// run against a server in a child process, so a crash ends that process and
// not the test runner. For every attack: the process stays alive, its RSS
// stays within a bound, and an honest client's write → ack round trip is
// answered within 2 s while the attack runs and after it.
// The figures are in docs/security.md ("Attacks we test").

const { track, openRaw } = processFixtures()
const attackers: Attacker[] = []
afterEach(() => {
  for (const attacker of attackers.splice(0)) attacker.ws.terminate()
})

/** RSS growth allowed during an attack: a few connections' bounded queues, the kernel's buffers, V8's slack. */
const RSS_BOUND = 256 << 20

/** A value whose stored envelope is just under the default 512 KiB entity limit. */
const BIG = 'x'.repeat(500_000)

async function setUp() {
  const server = await startChildServer(['--port', '0', '--memory'], track)
  const pid = server.child.pid as number
  onTestFailed(() => console.error(`lensync-server printed:\n${server.output()}`))
  const seed = await openRaw(server.url, 'seed')
  const honest = await openRaw(server.url, 'honest')
  // Warm up before the baseline: first writes allocate the caches.
  for (let i = 0; i < 20; i++) await honest.write({ t: 'put', r: 'honest', id: 'probe', value: { json: i } })
  return { server, pid, seed, honest, baseline: rssOf(pid) }
}

async function attacker(url: string): Promise<Attacker> {
  const a = await openAttacker(url)
  attackers.push(a)
  return a
}

function envelopes(count: number, envelope: object): string {
  return JSON.stringify(Array.from({ length: count }, () => envelope))
}

describe('attacks by one client (server in a child process)', () => {
  it('400 collection subs of three 500 KB entities in one 9 KB frame: no crash, the reader is closed 1013', async () => {
    const { server, pid, seed, honest, baseline } = await setUp()
    for (const id of ['a', 'b', 'c'])
      await seed.write({ t: 'put', r: 'big', id, value: { json: { text: BIG } } })
    const running = probe(honest, pid)
    const a = await attacker(server.url)
    a.stopReading()
    const frame = envelopes(400, { t: 'sub', r: 'big' })
    expect(frame.length).toBeLessThan(10_000)
    a.send(frame)
    await running.rounds(30)
    a.resumeReading()
    expect(await a.closed).toBe(1013)
    await untilConnections(server.url, 2)
    await running.rounds(10)
    const report = await running.stop()
    expect(server.child.exitCode).toBeNull()
    expect(report.peakRss - baseline).toBeLessThan(RSS_BOUND)
    expect(report.worstMs).toBeLessThan(2000)
  })

  it('1,000 subs of one 500 KB entity from four connections that never read: RSS stays bounded', async () => {
    const { server, pid, seed, honest, baseline } = await setUp()
    await seed.write({ t: 'put', r: 'big', id: 'one', value: { json: { text: BIG } } })
    const running = probe(honest, pid)
    const four = await Promise.all([1, 2, 3, 4].map(() => attacker(server.url)))
    const frame = envelopes(1000, { t: 'sub', r: 'big', id: 'one' })
    for (const a of four) {
      a.stopReading()
      a.send(frame)
    }
    await running.rounds(40)
    for (const a of four) a.resumeReading()
    expect(await Promise.all(four.map(a => a.closed))).toEqual([1013, 1013, 1013, 1013])
    await untilConnections(server.url, 2)
    await running.rounds(10)
    const report = await running.stop()
    expect(server.child.exitCode).toBeNull()
    expect(report.peakRss - baseline).toBeLessThan(RSS_BOUND)
  })

  it('a patch of 40,000 fields is refused TOO_LARGE; one of 10,000 (the limit) is merged without freezing anyone', async () => {
    const { server, pid, seed, honest, baseline } = await setUp()
    await seed.write({ t: 'put', r: 'wide', id: 'w', value: { json: { n: 0 } } })
    const reader = await openRaw(server.url, 'reader')
    await reader.subscribe('wide', 'w')
    const running = probe(honest, pid)
    const set = (count: number, offset: number) =>
      Array.from({ length: count }, (_, i) => [[`_${(offset + i).toString(36)}`], { json: 0 }])
    const tooMany = await seed.write({ t: 'patch', r: 'wide', id: 'w', set: set(40_000, 0) } as never)
    expect(tooMany.answer).toMatchObject({ t: 'reject', code: 'TOO_LARGE' })
    for (let round = 0; round < 4; round++) {
      const atLimit = await seed.write({
        t: 'patch',
        r: 'wide',
        id: 'w',
        set: set(10_000, round * 10_000),
      } as never)
      expect(atLimit.answer).toMatchObject({ t: 'ack' })
    }
    await running.rounds(10)
    const report = await running.stop()
    expect(server.child.exitCode).toBeNull()
    expect(report.worstMs).toBeLessThan(2000)
    expect(report.peakRss - baseline).toBeLessThan(RSS_BOUND)
    await expect.poll(() => Object.keys((reader.view.get('wide/w') ?? {}) as object).length).toBe(40_001)
  })

  it('an unsub flood costs rate-limit tokens: the flooder is closed 1008, honest latency stays low', async () => {
    const { server, pid, honest } = await setUp()
    const running = probe(honest, pid)
    const a = await attacker(server.url)
    const frame = envelopes(2000, { t: 'unsub', r: 'x', id: 'y' })
    // Bounded: at most 5 s or 2,000 frames, or until the server closes it.
    const until = performance.now() + 5000
    for (let i = 0; i < 2000 && a.ws.readyState === a.ws.OPEN && performance.now() < until; i++) {
      a.send(frame)
      if (i % 10 === 9) await running.rounds(1)
    }
    expect(await a.closed).toBe(1008)
    await running.rounds(10)
    const report = await running.stop()
    expect(server.child.exitCode).toBeNull()
    expect(report.worstMs).toBeLessThan(2000)
  })
})
