import type { ChildProcess } from 'node:child_process'
import { afterEach } from 'vitest'
import { ProtocolClient } from './protocolClient.ts'

/**
 * Per-test fixtures for tests that run servers as child processes: the
 * children (killed with SIGKILL after each test) and raw protocol clients
 * (terminated after each test).
 */
export function processFixtures() {
  const children: ChildProcess[] = []
  const raws: ProtocolClient[] = []
  afterEach(async () => {
    await Promise.all(raws.splice(0).map(c => c.terminate()))
    await Promise.all(
      children.splice(0).map(child => {
        if (child.exitCode !== null || child.signalCode !== null) return undefined
        const exited = new Promise(resolve => child.once('exit', resolve))
        child.kill('SIGKILL')
        return exited
      }),
    )
  })
  return {
    /** Hand to `startChildServer` so the child is killed after the test. */
    track: (child: ChildProcess) => void children.push(child),
    /** A raw protocol client, terminated after the test. */
    async openRaw(url: string, name: string): Promise<ProtocolClient> {
      const client = await ProtocolClient.open(url, name)
      raws.push(client)
      return client
    },
  }
}
