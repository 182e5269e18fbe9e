import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { health } from './support/attack.ts'
import { startChildServer } from './support/childServer.ts'
import { processFixtures } from './support/processFixtures.ts'

const { track, openRaw } = processFixtures()
const hook = pathToFileURL(fileURLToPath(new URL('./fixtures/throwAfterListening.mjs', import.meta.url))).href

describe('lensync-server after startup', () => {
  it('logs an uncaught exception and an unhandled rejection and keeps serving', async () => {
    const server = await startChildServer(['--port', '0', '--memory'], track, 20_000, ['--import', hook])
    await expect.poll(() => server.output()).toContain('rejected with no handler')
    expect(server.output()).toContain('escaped from a callback')
    expect(server.output()).toContain('uncaught, still serving')
    expect(server.child.exitCode).toBeNull()
    expect((await health(server.url)).ok).toBe(true)
    const client = await openRaw(server.url, 'after')
    const write = await client.write({ t: 'put', r: 'note', id: 'n', value: { json: 1 } })
    expect(write.answer).toMatchObject({ t: 'ack', rev: 1 })
  })
})
