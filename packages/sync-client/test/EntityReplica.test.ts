import { describe, expect, it } from 'vitest'
// The replica is internal (not part of the package's API): these unit tests
// drive its state machine directly, importing it from the source, so the
// public exports stay clean. The behaviour users see is tested through
// syncWith/syncList in the other files.
import { EntityReplica } from '../src/EntityReplica.ts'

type Person = { _id: string; name: string; age: number }
const person = (name = 'Ada', age = 36): Person => ({ _id: 'p1', name, age })

function ops() {
  let next = 0
  return () => ++next
}

/** What a write would carry, without its bookkeeping. */
function content(replica: EntityReplica, newOp: () => number) {
  const write = replica.nextWrite(newOp)
  if (!write) return undefined
  const { onWire: _onWire, ...rest } = write
  return rest
}

describe('EntityReplica', () => {
  it('offers its starting value: nothing is sent until the server is known, a create-only put if absent', () => {
    const op = ops()
    const replica = new EntityReplica('p1', person())
    expect(replica.server).toEqual({ kind: 'unknown' })
    expect(replica.view()).toEqual(person())
    expect(replica.pendingCount).toBe(0)
    expect(replica.nextWrite(op)).toBeUndefined()

    replica.applySnapshot(undefined, 0, false)
    expect(replica.pendingCount).toBe(1)
    expect(content(replica, op)).toEqual({ kind: 'put', op: 1, base: person(), edits: [], create: true })
    expect(replica.nextWrite(op)).toBeUndefined()

    expect(replica.applyAck(1, 5, true)).toBe(true)
    expect(replica.server).toEqual({ kind: 'present', rev: 5, value: person() })
    expect(replica.pendingCount).toBe(0)
  })

  it("drops the offer when the server has the entity; edits made before go as a patch on the server's value", () => {
    const op = ops()
    const replica = new EntityReplica('p1', person('local', 0))
    replica.localEdit(person('local', 0), person('local', 1))
    expect(replica.pendingCount).toBe(1)

    replica.applySnapshot(person(), 3, true)
    expect(replica.intent).toEqual({ kind: 'none' })
    expect(replica.view()).toEqual(person('Ada', 1))
    expect(content(replica, op)).toEqual({
      kind: 'patch',
      op: 1,
      edits: [{ path: ['age'], value: 1, unset: false }],
    })
  })

  it('sends edits made while a patch is in flight as a new write; an ack confirms only its own fields', () => {
    const op = ops()
    const replica = new EntityReplica('p1', person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), person('B'))
    expect(replica.nextWrite(op)?.op).toBe(1)
    replica.localEdit(person('B'), person('C', 40))
    expect(replica.pendingCount).toBe(2) // name (in flight and again in the draft) and age
    expect(content(replica, op)).toEqual({
      kind: 'patch',
      op: 2,
      edits: [
        { path: ['name'], value: 'C', unset: false },
        { path: ['age'], value: 40, unset: false },
      ],
    })

    replica.applyAck(1, 2, true)
    expect(replica.confirmed).toEqual(person('B'))
    expect(replica.view()).toEqual(person('C', 40))
    replica.applyAck(2, 3, true)
    expect(replica.confirmed).toEqual(person('C', 40))
    expect(replica.pendingCount).toBe(0)
  })

  it('replaces the whole value with a put when the root is replaced', () => {
    const op = ops()
    const replica = new EntityReplica('p1', person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), [1, 2])
    expect(replica.intent).toEqual({ kind: 'put', value: [1, 2] })
    expect(content(replica, op)).toEqual({ kind: 'put', op: 1, base: [1, 2], edits: [], create: false })
  })

  it('reverts a rejected patch to the confirmed value, keeping later edits', () => {
    const op = ops()
    const replica = new EntityReplica('p1', person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), person('Ada', 999))
    const rejected = replica.nextWrite(op)?.op as number
    replica.localEdit(person('Ada', 999), person('Grace', 999))
    expect(replica.applyReject(rejected)).toBe(true)
    expect(replica.view()).toEqual(person('Grace', 36))
    expect(replica.applyReject(rejected)).toBe(false)
  })

  it('puts a rate-limited write back beneath newer edits, so the newer value of a field wins', () => {
    const op = ops()
    const replica = new EntityReplica('p1', person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), person('B', 1))
    const limited = replica.nextWrite(op)?.op as number
    replica.localEdit(person('B', 1), person('C', 1))
    expect(replica.unsend(limited)).toBe(true)
    expect(replica.view()).toEqual(person('C', 1))
    const again = content(replica, op)
    expect(again?.kind).toBe('patch')
    expect(again && 'edits' in again && again.edits).toEqual([
      { path: ['age'], value: 1, unset: false },
      { path: ['name'], value: 'C', unset: false },
    ])
  })

  it('turns a patch the server did not find into a create-only put of the last known value with the edits', () => {
    const op = ops()
    const replica = new EntityReplica('p1', person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), person('B'))
    const patch = replica.nextWrite(op)?.op as number
    expect(replica.markMissing(patch)).toBe(true)
    expect(replica.server).toEqual({ kind: 'absent', rev: 1 })
    expect(content(replica, op)).toEqual({
      kind: 'put',
      op: 2,
      base: person(),
      edits: [{ path: ['name'], value: 'B', unset: false }],
      create: true,
    })
  })

  it('keeps showing its value after a remote delete and sends nothing until the next edit creates it again', () => {
    const op = ops()
    const replica = new EntityReplica('p1', person())
    replica.applySnapshot(person(), 1, true)
    expect(replica.applyGone(2)).toBe(true)
    expect(replica.intent).toEqual({ kind: 'keep', value: person() })
    expect(replica.view()).toEqual(person())
    expect(replica.nextWrite(op)).toBeUndefined()
    expect(replica.pendingCount).toBe(0)

    replica.localEdit(person(), person('again'))
    expect(content(replica, op)).toEqual({
      kind: 'put',
      op: 1,
      base: person(),
      edits: [{ path: ['name'], value: 'again', unset: false }],
      create: true,
    })
  })

  it('sends the edits a create-only put carried again as a patch when the offer found the entity', () => {
    const op = ops()
    const replica = new EntityReplica('p1', person('offer', 0))
    replica.localEdit(person('offer', 0), person('offer', 5))
    replica.applySnapshot(undefined, 0, false)
    const create = replica.nextWrite(op)?.op as number
    // The server's answer: the entity's snap, then ack applied: false.
    replica.applySnapshot(person(), 4, true)
    expect(replica.applyAck(create, 4, false)).toBe(true)
    expect(replica.confirmed).toEqual(person())
    expect(replica.view()).toEqual(person('Ada', 5))
    expect(content(replica, op)).toEqual({
      kind: 'patch',
      op: 2,
      edits: [{ path: ['age'], value: 5, unset: false }],
    })
  })

  it('ignores remote changes and deletes that are not newer than what it has', () => {
    const replica = new EntityReplica('p1', person())
    replica.applySnapshot(person(), 5, true)
    expect(replica.applyChange(5, { value: person('old') })).toBe(false)
    expect(replica.applyGone(4)).toBe(false)
    expect(replica.applyChange(6, { set: [[['name'], 'new']] })).toBe(true)
    expect(replica.confirmed).toEqual(person('new'))
  })

  it('deletes: the delete is sent and, once acknowledged, the server has no such entity', () => {
    const op = ops()
    const replica = new EntityReplica('p1', person())
    replica.applySnapshot(person(), 1, true)
    replica.localDelete()
    expect(replica.deleting).toBe(true)
    expect(replica.pendingCount).toBe(1)
    expect(content(replica, op)).toEqual({ kind: 'del', op: 1 })
    replica.applyAck(1, 2, true)
    expect(replica.deleting).toBe(false)
    expect(replica.server).toEqual({ kind: 'absent', rev: 2 })
  })

  it('sends writes in flight when the connection dropped again, in order, before newer ones', () => {
    const op = ops()
    const replica = new EntityReplica('p1', person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), person('B'))
    replica.nextWrite(op)
    replica.localEdit(person('B'), person('B', 1))
    replica.nextWrite(op)
    replica.localEdit(person('B', 1), person('B', 2))
    expect(replica.hasUnsent).toBe(true)

    replica.resetInFlight()
    const kinds = []
    for (let write = replica.nextWrite(op); write; write = replica.nextWrite(op))
      kinds.push(
        'edits' in write ? write.edits.map(e => `${e.path.join('.')}=${String(e.value)}`) : write.kind,
      )
    expect(kinds).toEqual([['name=B'], ['age=1'], ['age=2']])
    expect(replica.view()).toEqual(person('B', 2))
  })
})
