import type { AckMessage, RejectMessage } from '@lensync/protocol'
import type { AuthorizeRequest, SyncServer } from '@lensync/sync-server'
import { afterEach, describe, expect, it } from 'vitest'
import { enc, type RawClient, rawClient, startServer } from './hubHelpers.ts'

// Field-level write permissions: `authorize` gets the field paths a write
// changes, and a write touching a field the principal may not change is
// refused whole (the stored value stays as it was).

interface User {
  readonly name: string
  readonly admin: boolean
}

let server: SyncServer | undefined
const clients: RawClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close()
  await server?.close()
  server = undefined
})

/** A server where only admins may change `.role`; every request `authorize` saw is recorded. */
async function start(): Promise<{ server: SyncServer; asked: AuthorizeRequest[] }> {
  const asked: AuthorizeRequest[] = []
  server = await startServer({
    authenticate: (_request, hello) => ({ name: hello.token, admin: hello.token === 'admin' }) as User,
    authorize: (principal, request) => {
      asked.push(request)
      if (request.op !== 'write' || (principal as User).admin) return true
      return !request.paths?.includes('.role')
    },
  })
  return { server, asked }
}

async function connect(url: string, token: string): Promise<RawClient> {
  const client = await rawClient(url)
  clients.push(client)
  client.send({ t: 'hello', v: 1, client: `c-${token}`, token })
  await client.next({ t: 'welcome' })
  return client
}

describe('field-level authorization', () => {
  it('refuses a patch of a field the principal may not change, and lets the others through', async () => {
    const { server } = await start()
    const admin = await connect(server.url, 'admin')
    const user = await connect(server.url, 'ann')
    admin.send({ t: 'put', op: 1, r: 'person', id: 'p', value: enc({ name: 'Ann', role: 'user' }) })
    await admin.next({ t: 'ack', op: 1 })

    user.send({ t: 'patch', op: 1, r: 'person', id: 'p', set: [[['role'], enc('admin')]] })
    const refused = await user.next<RejectMessage>({ op: 1 })
    expect(refused).toMatchObject({ t: 'reject', code: 'FORBIDDEN' })
    user.send({ t: 'patch', op: 2, r: 'person', id: 'p', set: [[['name'], enc('Anna')]] })
    expect(await user.next<AckMessage>({ op: 2 })).toMatchObject({ t: 'ack' })

    user.send({ t: 'sub', r: 'person', id: 'p' })
    const snap = await user.next({ t: 'snap' })
    expect(snap).toMatchObject({ value: { json: { name: 'Anna', role: 'user' } } })
  })

  it('lists patch paths with a leading dot, nested and unset ones included', async () => {
    const { server, asked } = await start()
    const admin = await connect(server.url, 'admin')
    admin.send({ t: 'put', op: 1, r: 'person', id: 'p', value: enc({ address: { street: 'A' }, x: 1 }) })
    await admin.next({ op: 1 })
    admin.send({
      t: 'patch',
      op: 2,
      r: 'person',
      id: 'p',
      set: [[['address', 'street'], enc('B')]],
      unset: [['x']],
    })
    await admin.next({ op: 2 })
    expect(asked.at(-1)).toEqual({
      op: 'write',
      resource: 'person',
      id: 'p',
      paths: ['.address.street', '.x'],
    })
  })

  it('lists a put’s top-level fields and those of the stored value it removes', async () => {
    const { server, asked } = await start()
    const admin = await connect(server.url, 'admin')
    const user = await connect(server.url, 'ann')
    user.send({ t: 'put', op: 1, r: 'person', id: 'p', value: enc({ name: 'Ann' }) })
    await user.next({ op: 1 })
    expect(asked.at(-1)?.paths).toEqual(['.name'])
    admin.send({ t: 'patch', op: 1, r: 'person', id: 'p', set: [[['role'], enc('user')]] })
    await admin.next({ op: 1 })

    // Replacing the value without `role` would remove it: that changes `.role`.
    user.send({ t: 'put', op: 2, r: 'person', id: 'p', value: enc({ name: 'Eve' }) })
    expect(await user.next({ op: 2 })).toMatchObject({ t: 'reject', code: 'FORBIDDEN' })
    expect(asked.at(-1)?.paths).toEqual(['.name', '.role'])
    // A put lists every field it carries, changed or not (send a patch to change one field).
    user.send({ t: 'put', op: 3, r: 'person', id: 'p', value: enc({ name: 'Eve', role: 'user' }) })
    expect(await user.next({ op: 3 })).toMatchObject({ t: 'reject', code: 'FORBIDDEN' })
    expect(asked.at(-1)?.paths).toEqual(['.name', '.role'])

    // A value that is not a plain object is the whole value.
    admin.send({ t: 'put', op: 2, r: 'tags', id: 't', value: enc(['a', 'b']) })
    await admin.next({ op: 2 })
    expect(asked.at(-1)?.paths).toEqual([''])
  })

  it('asks a delete with no paths and a read with none at all', async () => {
    const { server, asked } = await start()
    const user = await connect(server.url, 'ann')
    user.send({ t: 'put', op: 1, r: 'person', id: 'p', value: enc({ name: 'Ann' }) })
    await user.next({ op: 1 })
    user.send({ t: 'del', op: 2, r: 'person', id: 'p' })
    await user.next({ op: 2 })
    expect(asked.at(-1)).toEqual({ op: 'delete', resource: 'person', id: 'p', paths: [] })
    user.send({ t: 'sub', r: 'person' })
    await user.next({ t: 'snap' })
    expect(asked.at(-1)).toEqual({ op: 'read', resource: 'person', id: undefined })
  })
})
