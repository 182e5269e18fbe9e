import { storeOf } from '@lensync/store'
import { resource, SyncError, syncWith, websocket } from '@lensync/sync-client'
import { createSyncServer, type SyncServerOptions } from '@lensync/sync-server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { fastReconnect, quietLogger, until } from './helpers.ts'
import { trackedWebSocket } from './presence/presenceHelpers.ts'

// Sessions that expire, seen from the client: `authenticate` returns
// `{ principal, expiresAt }` (a short expiry here), the server sends
// `reauth` before it, the client reads its token() again and answers `auth`
// on the same connection. A refused answer closes with 4401.

type Person = { _id: string; name: string }
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })

const VALID_MS = 600
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Tokens starting with `good` are accepted for VALID_MS; every checked token is recorded. */
async function start(options: SyncServerOptions = {}) {
  const checked: string[] = []
  const server = await createSyncServer({
    port: 0,
    host: '127.0.0.1',
    memory: true,
    pingPeriod: 0,
    logger: quietLogger,
    tombstoneTtl: false,
    authenticate: (_request, hello) => {
      const token = hello.token ?? ''
      checked.push(token)
      if (!token.startsWith('good')) return null
      return { principal: { id: 'ada' }, expiresAt: new Date(Date.now() + VALID_MS) }
    },
    ...options,
  })
  cleanups.push(() => server.close())
  return { url: server.url, checked }
}

function client(url: string, token: () => string | Promise<string>) {
  const tracked = trackedWebSocket()
  const socket = websocket(url, { WebSocket: tracked.WebSocket as never, reconnect: fastReconnect, token })
  const store = storeOf<Person>({ _id: 'p1', name: 'Ada' })
  const sync = syncWith(store, socket, PersonResource)
  cleanups.push(() => sync.stop())
  const errors: SyncError[] = []
  sync.errors.subscribe(error => void errors.push(error))
  return { tracked, store, sync, errors }
}

describe('sessions that expire', () => {
  it('answers reauth with a fresh token(); the session goes on without a reconnect', async () => {
    const { url, checked } = await start()
    let calls = 0
    const ada = client(url, () => `good-${++calls}`)
    await ada.sync.flush()

    // Two renewals: each fresh token was read again and accepted by authenticate.
    await vi.waitFor(() => expect(checked).toEqual(['good-1', 'good-2', 'good-3']), { timeout: 5000 })
    ada.store.update({ _id: 'p1', name: 'Grace' })
    await ada.sync.flush()
    expect(ada.sync.status.value).toBe('synced')
    expect(ada.errors).toEqual([])
    expect(ada.tracked.constructed).toBe(1)
  })

  it('awaits an async token() for the answer', async () => {
    const { url, checked } = await start()
    let calls = 0
    const ada = client(url, async () => {
      await Promise.resolve()
      return `good-${++calls}`
    })
    await ada.sync.flush()
    await vi.waitFor(() => expect(checked).toContain('good-2'), { timeout: 5000 })
    expect(ada.sync.status.value).toBe('synced')
    expect(ada.tracked.constructed).toBe(1)
  })

  it('a refused token ends in 4401: UNAUTHENTICATED is reported, the value and pending edits are kept', async () => {
    // Once held, writes wait in authorize until the test lets them go: the
    // edit is in flight when the session ends.
    let hold = false
    let letWritesGo: (allowed: boolean) => void = () => {}
    const writesGo = new Promise<boolean>(resolve => {
      letWritesGo = resolve
    })
    const { url, checked } = await start({
      authorize: (_principal, { op }) => (op === 'write' && hold ? writesGo : true),
    })
    cleanups.push(() => letWritesGo(false))
    let calls = 0
    const ada = client(url, () => (++calls === 1 ? 'good' : 'expired'))
    await ada.sync.flush()
    hold = true
    ada.store.update({ _id: 'p1', name: 'Grace' })
    await until(ada.sync.pending, pending => pending === 1, 'the edit to be pending')

    await until(ada.sync.status, status => status === 'offline', 'the session to end')
    await vi.waitFor(() => expect(ada.errors.map(e => e.code)).toEqual(['UNAUTHENTICATED']))
    // The fresh token was read; the server handles the auth after the held
    // write, so the expiry closes the session first.
    expect(calls).toBe(2)
    expect(checked[0]).toBe('good')
    expect(ada.store.current).toEqual({ _id: 'p1', name: 'Grace' })
    expect(ada.sync.pending.value).toBe(1)
    await expect(ada.sync.flush()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' })
    // No reconnect after 4401.
    expect(ada.tracked.constructed).toBe(1)
    // An edit after the refusal is kept too.
    ada.store.update({ _id: 'p1', name: 'Grace Hopper' })
    expect(ada.store.current.name).toBe('Grace Hopper')
    expect(ada.sync.pending.value).toBeGreaterThanOrEqual(1)
  })

  it('the refused token is the one token() returned on reauth', async () => {
    const { url, checked } = await start()
    let calls = 0
    const ada = client(url, () => (++calls === 1 ? 'good' : 'expired'))
    await ada.sync.flush()
    await until(ada.sync.status, status => status === 'offline', 'the session to end')
    expect(checked).toEqual(['good', 'expired'])
    expect(ada.errors.map(e => e.code)).toEqual(['UNAUTHENTICATED'])
    expect(ada.store.current).toEqual({ _id: 'p1', name: 'Ada' })
  })

  it('a token() that throws is reported, and the session ends at its expiry with 4401', async () => {
    const { url } = await start()
    let calls = 0
    const ada = client(url, () => {
      if (++calls > 1) throw new Error('refresh failed')
      return 'good'
    })
    await ada.sync.flush()
    await until(ada.sync.status, status => status === 'offline', 'the session to end')
    await vi.waitFor(() =>
      expect(ada.errors.map(e => e.code)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']),
    )
    expect(ada.errors[0]).toBeInstanceOf(SyncError)
    expect(ada.errors[0]?.cause).toEqual(new Error('refresh failed'))
    expect(ada.tracked.constructed).toBe(1)
  })
})
