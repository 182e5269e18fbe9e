import { memoryCache } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
// Internal encoders of outbox entries (not part of the package's API),
// imported from the source as EntityReplica.test.ts does: what an entry
// keeps of a write's conflict detection, and what goes on the wire for it.
import { entryOf, wireOf } from '../../src/cache/outboxEntries.ts'

const target = { resource: 'person', id: 'p1', version: 1 }
const encode = (value: unknown) => ({ json: value })
const name = { path: ['name'], value: 'Ada', unset: false }

describe('outbox entries keep the base of their write', () => {
  it('a patch or put keeps base and keep-theirs, and sends them', () => {
    const stamp = { client: 'c1', op: 3, detection: { base: 7, onConflict: 'keep-theirs' as const } }
    const patch = entryOf({ kind: 'patch', edits: [name] }, stamp, target, encode)
    expect(patch).toMatchObject({ kind: 'patch', base: 7, onConflict: 'keep-theirs' })
    expect(wireOf(patch)).toEqual({
      t: 'patch',
      op: 3,
      r: 'person',
      id: 'p1',
      set: [[['name'], { json: 'Ada' }]],
      base: 7,
      onConflict: 'keep-theirs',
    })
    const put = entryOf(
      { kind: 'put', base: { name: 'x' }, edits: [name], create: false },
      stamp,
      target,
      encode,
    )
    expect(wireOf(put)).toEqual({
      t: 'put',
      op: 3,
      r: 'person',
      id: 'p1',
      value: { json: { name: 'Ada' } },
      base: 7,
      onConflict: 'keep-theirs',
    })
  })

  it("'overwrite' is the server's default: only base is kept", () => {
    const stamp = { client: 'c1', op: 3, detection: { base: 0, onConflict: 'overwrite' as const } }
    const entry = entryOf({ kind: 'patch', edits: [name] }, stamp, target, encode)
    expect(entry).toMatchObject({ base: 0 })
    expect(entry).not.toHaveProperty('onConflict')
    expect(wireOf(entry)).toMatchObject({ base: 0 })
  })

  it('creates and deletes carry no base', () => {
    const stamp = { client: 'c1', op: 3, detection: { base: 7, onConflict: 'keep-theirs' as const } }
    const create = entryOf({ kind: 'put', base: {}, edits: [name], create: true }, stamp, target, encode)
    const del = entryOf({ kind: 'del' }, stamp, target, encode)
    for (const entry of [create, del]) {
      expect(entry).not.toHaveProperty('base')
      expect(wireOf(entry)).not.toHaveProperty('base')
    }
  })

  it('an entry without base (queued by an older version) is sent without it', () => {
    const old = { client: 'c0', op: 1, ...target, kind: 'patch' as const, set: [], version: 1 }
    expect(wireOf(old)).toEqual({ t: 'patch', op: 1, r: 'person', id: 'p1', set: [] })
  })

  it('the cache refuses a malformed base or onConflict', () => {
    const cache = memoryCache()
    const entry = { client: 'c1', op: 1, ...target, kind: 'patch' as const, set: [] }
    expect(() => cache.enqueue({ ...entry, base: -1 })).toThrowError(
      expect.objectContaining({ code: 'BAD_ARGUMENT' }),
    )
    expect(() => cache.enqueue({ ...entry, onConflict: 'mine' as never })).toThrowError(
      expect.objectContaining({ code: 'BAD_ARGUMENT' }),
    )
  })
})
