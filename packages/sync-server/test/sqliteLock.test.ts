import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSyncServer, ServerError, type SyncServer, sqliteStorage } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { enc, quietLogger, rawClient } from './hubHelpers.ts'
import { startChildServer } from './support/childServer.ts'

const children: ChildProcess[] = []
const servers: SyncServer[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await Promise.all(servers.splice(0).map(server => server.close()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function dataFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lensync-lock-'))
  dirs.push(dir)
  return join(dir, 'db', 'lensync.db')
}

async function start(file: string): Promise<SyncServer> {
  const server = await createSyncServer({ port: 0, dataFile: file, logger: quietLogger() })
  servers.push(server)
  return server
}

/** The error `createSyncServer` rejects with on `file`. */
async function refusal(file: string): Promise<unknown> {
  return start(file).then(
    server => new Error(`a second server started on ${file} (${server.url})`),
    (error: unknown) => error,
  )
}

describe('one server per SQLite file', () => {
  it('refuses a second server on the same file with STORAGE_LOCKED naming the file, and starts one after the first closed', async () => {
    const file = dataFile()
    const first = await start(file)
    const error = await refusal(file)
    expect(error).toBeInstanceOf(ServerError)
    expect(error).toMatchObject({ code: 'STORAGE_LOCKED' })
    expect((error as Error).message).toContain(file)

    // The refused server left the first one alone.
    const client = await rawClient(first.url)
    client.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ n: 1 }) })
    expect(await client.next()).toEqual({ t: 'ack', op: 1, rev: 1 })
    await client.close()
    await first.close()

    const next = await start(file)
    const again = await rawClient(next.url)
    again.send({ t: 'sub', r: 'doc', id: 'x' })
    expect(await again.next()).toEqual({ t: 'snap', r: 'doc', id: 'x', rev: 1, value: enc({ n: 1 }) })
    await again.close()
  })

  it('refuses a second sqliteStorage on the file in the same process until the first is closed', () => {
    const file = dataFile()
    const first = sqliteStorage({ file })
    expect(() => sqliteStorage({ file })).toThrow(
      expect.objectContaining({ name: 'ServerError', code: 'STORAGE_LOCKED' }),
    )
    first.close()
    sqliteStorage({ file }).close()
  })

  it('refuses a second lensync-server process (exit 1, the message names the file), and a server starts on the file after the holder was killed with SIGKILL', async () => {
    const file = dataFile()
    const holder = await startChildServer(['--port', '0', '--data', file], child => children.push(child))
    const client = await rawClient(holder.url)
    client.send({ t: 'put', op: 1, r: 'doc', id: 'x', value: enc({ before: 'kill' }) })
    expect(await client.next()).toEqual({ t: 'ack', op: 1, rev: 1 })

    const second = startChildServer(['--port', '0', '--data', file], child => children.push(child))
    await expect(second).rejects.toThrow(/exited \(1\) before listening/)
    await expect(second).rejects.toThrow(`The SQLite file ${file} is in use by another lensync server`)
    expect((await refusal(file)) as ServerError).toMatchObject({ code: 'STORAGE_LOCKED' })

    holder.child.kill('SIGKILL')
    expect(await holder.exited).toBe('SIGKILL')
    await client.closed
    const next = await start(file)
    const again = await rawClient(next.url)
    again.send({ t: 'sub', r: 'doc', id: 'x' })
    expect(await again.next()).toEqual({
      t: 'snap',
      r: 'doc',
      id: 'x',
      rev: 1,
      value: enc({ before: 'kill' }),
    })
    await again.close()
  }, 30_000)
})
