import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startChildServer } from '../../../sync-server/test/support/childServer.ts'
import type { SentWrite } from '../../../sync-server/test/support/protocolClient.ts'
import { killFixtures } from './killFixtures.ts'

// kill -9 of the server process in the middle of a stream of writes: every
// write that was acknowledged must be there after a restart on the same file
// (acks go out only after the SQLite commit, WAL + synchronous=FULL).

const { track, noteClient, openRaw, stopSyncs } = killFixtures()
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const KILL_AFTER_ACKS = 400
const WINDOW = 32

describe('crash safety (kill -9)', () => {
  it('keeps every acknowledged write across SIGKILL + restart; revisions continue; syncWith clients recover and converge', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lensync-crash-'))
    dirs.push(dir)
    const data = join(dir, 'lensync.db')
    const first = await startChildServer(['--port', '0', '--data', data], track)

    const a = noteClient(first.url)
    const b = noteClient(first.url)
    await Promise.all([a.sync.flush(), b.sync.flush()])

    // Stream puts with up to WINDOW in flight; kill -9 once KILL_AFTER_ACKS came back.
    const writer = await openRaw(first.url, 'writer')
    const acked: SentWrite[] = []
    let killedAt = -1
    const onAck = (write: SentWrite) => {
      acked.push(write)
      // The real clients edit along the way, so some of their writes are in flight at the kill too.
      if (acked.length % 25 === 0) {
        a.store.update({ ...a.store.current, a: acked.length })
        b.store.update({ ...b.store.current, b: acked.length })
      }
      if (acked.length === KILL_AFTER_ACKS) {
        killedAt = writer.inFlight
        first.child.kill('SIGKILL')
      }
    }
    const window: Promise<unknown>[] = []
    for (let i = 0; writer.isOpen; i++) {
      expect(i, 'the server should have died by now').toBeLessThan(100_000)
      window.push(
        writer
          .write({ t: 'put', r: 'stream', id: `k${i}`, value: { json: { i, text: `value ${i}` } } })
          .then(onAck, () => undefined),
      )
      if (window.length >= WINDOW) await window.shift()
    }
    await Promise.all(window)
    expect(await first.exited).toBe('SIGKILL')
    expect(await writer.closed).toBe(1006)
    expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS)

    // Edits made while the server is down wait in the clients.
    a.store.update({ ...a.store.current, a: -1 })
    b.store.update({ ...b.store.current, b: -2 })

    const second = await startChildServer(['--port', String(first.port), '--data', data], track)
    expect(second.url).toBe(first.url)

    // Every acknowledged write is there, with the revision its ack gave.
    const reader = await openRaw(second.url, 'reader')
    await reader.subscribe('stream')
    for (const write of acked) {
      const key = `stream/${write.msg.id}`
      expect(reader.view.get(key), key).toEqual((write.msg as { value: { json: unknown } }).value.json)
    }
    const maxAckedRev = Math.max(...acked.map(w => (w.answer?.t === 'ack' ? w.answer.rev : 0)))
    expect(maxAckedRev).toBeGreaterThanOrEqual(KILL_AFTER_ACKS)
    // Writes in flight at the kill may or may not have made it; nothing else may be there.
    const unacked = reader.view.size - acked.length
    expect(unacked).toBeGreaterThanOrEqual(0)
    expect(unacked).toBeLessThanOrEqual(writer.writes.length - acked.length)

    // Revisions continue after the ones already handed out.
    const after = await reader.write({ t: 'put', r: 'stream', id: 'after-restart', value: { json: 1 } })
    expect(after.answer).toMatchObject({ t: 'ack' })
    expect((after.answer as { rev: number }).rev).toBeGreaterThan(maxAckedRev)

    // The real clients reconnect by themselves, resend their offline edits and converge.
    await Promise.all([a.sync.flush(), b.sync.flush()])
    const expected = { _id: 'shared', a: -1, b: -2 }
    await expect.poll(() => a.store.current, { timeout: 10_000 }).toEqual(expected)
    await expect.poll(() => b.store.current, { timeout: 10_000 }).toEqual(expected)
    const late = noteClient(second.url)
    await late.sync.flush()
    expect(late.store.current).toEqual(expected)

    console.info(
      `[crash] ${acked.length} writes acknowledged before SIGKILL (${killedAt} in flight at the kill, ` +
        `${unacked} of them committed anyway); all ${acked.length} present after restart`,
    )
    await reader.close()
    stopSyncs()
    expect(await second.stop('SIGTERM')).toBe(0)
  }, 60_000)
})
