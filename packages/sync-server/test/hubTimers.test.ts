import type { IncomingMessage } from 'node:http'
import { createSyncHub, type HubConnection, memoryStorage, type Timers } from '@lensync/sync-server'
import { describe, expect, it } from 'vitest'
import { enc, quietLogger } from './hubHelpers.ts'

// The hub takes its timers from the `timers` option: the flush once per
// tick, the hello timeout, a closing connection's wait. With fake timers a
// test decides when each runs, and sees that nothing is left pending.

const request = { headers: {} } as IncomingMessage

function fakeTimers() {
  let next = 1
  const timeouts = new Map<number, { callback: () => void; ms: number }>()
  const immediates: (() => void)[] = []
  const timers: Timers = {
    setTimeout(callback, ms) {
      const handle = next++
      timeouts.set(handle, { callback, ms })
      return handle
    },
    clearTimeout: handle => void timeouts.delete(handle as number),
    setImmediate: callback => void immediates.push(callback),
  }
  return {
    timers,
    timeouts,
    immediates,
    /** Runs the flushes asked for so far. */
    runImmediates() {
      for (const callback of immediates.splice(0)) callback()
    },
    /** Fires every pending timeout of `ms`. */
    fire(ms: number) {
      for (const [handle, timeout] of [...timeouts])
        if (timeout.ms === ms) {
          timeouts.delete(handle)
          timeout.callback()
        }
    },
  }
}

function fakeConnection(id: string) {
  const sent: string[] = []
  const closes: [number, string][] = []
  const connection: HubConnection = {
    id,
    send: text => void sent.push(text),
    close: (code, reason) => void closes.push([code, reason]),
  }
  return { connection, sent, closes }
}

describe('the hub on injected timers', () => {
  it('sends what a tick queued when its setImmediate runs, not before', async () => {
    const clock = fakeTimers()
    const hub = createSyncHub(memoryStorage(), { logger: quietLogger(), timers: clock.timers })
    const writer = fakeConnection('w')
    const client = hub.connect(writer.connection, request)
    client.receive(JSON.stringify({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc(1) }))
    await Promise.resolve()
    expect(writer.sent).toEqual([])
    expect(clock.immediates).toHaveLength(1)
    clock.runImmediates()
    expect(writer.sent).toEqual(['{"t":"ack","op":1,"rev":1}'])
    client.disconnect()
    await hub.close()
  })

  it('closes a connection without hello when the helloTimeout timer fires; disconnecting clears it', async () => {
    const clock = fakeTimers()
    const hub = createSyncHub(memoryStorage(), {
      logger: quietLogger(),
      timers: clock.timers,
      authenticate: () => ({ user: 'u' }),
      helloTimeout: 1234,
    })
    const silent = fakeConnection('silent')
    const a = hub.connect(silent.connection, request)
    const greeted = fakeConnection('greeted')
    const b = hub.connect(greeted.connection, request)
    b.receive(JSON.stringify({ t: 'hello', v: 1, client: 'c' }))
    expect([...clock.timeouts.values()].map(t => t.ms)).toEqual([1234])
    clock.fire(1234)
    clock.runImmediates()
    expect(silent.closes).toEqual([[4401, 'No hello in time']])
    expect(greeted.closes).toEqual([])
    expect(JSON.parse(greeted.sent[0] as string)).toMatchObject({ t: 'welcome', client: 'c' })

    const late = hub.connect(fakeConnection('late').connection, request)
    expect(clock.timeouts.size).toBe(1)
    late.disconnect()
    a.disconnect()
    b.disconnect()
    expect(clock.timeouts.size).toBe(0)
    await hub.close()
  })

  it('falls back to setTimeout(…, 0) without setImmediate', async () => {
    const clock = fakeTimers()
    const { setImmediate: _, ...withoutImmediate } = clock.timers
    const hub = createSyncHub(memoryStorage(), { logger: quietLogger(), timers: withoutImmediate })
    const writer = fakeConnection('w')
    const client = hub.connect(writer.connection, request)
    client.receive(JSON.stringify({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc(1) }))
    expect(writer.sent).toEqual([])
    clock.fire(0)
    expect(writer.sent).toEqual(['{"t":"ack","op":1,"rev":1}'])
    client.disconnect()
    await hub.close()
  })

  it('names the timers option when it is not timer functions', () => {
    expect(() => createSyncHub(memoryStorage(), { timers: { setTimeout } as never })).toThrow(
      /timers must be an object with setTimeout\(\) and clearTimeout\(\)/,
    )
  })
})
