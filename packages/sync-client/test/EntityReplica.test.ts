import { describe, expect, it } from 'vitest'
// The replica is internal (not part of the package's API): these unit tests
// drive its state machine directly, importing it from the source, so the
// public exports stay clean. The behaviour users see is tested through
// syncWith/syncList in the other files.
import { EntityReplica } from '../src/EntityReplica.ts'

type Person = { _id: string; name: string; age: number }
const person = (name = 'Ada', age = 36): Person => ({ _id: 'p1', name, age })

/** A replica whose writes are made under client `c1`, op ids 1, 2, 3 … */
function make(initial: unknown, origin: 'offer' | 'added' | 'remote' = 'offer') {
  let op = 0
  return new EntityReplica('p1', initial, origin, () => ({ client: 'c1', op: ++op }))
}

/** What the next write carries, without its bookkeeping. */
function content(replica: EntityReplica) {
  const write = replica.nextWrite()
  if (!write) return undefined
  const {
    onWire: _onWire,
    resent: _resent,
    wire: _wire,
    cached: _cached,
    baseRev: _baseRev,
    client: _client,
    ...rest
  } = write
  return rest
}

describe('EntityReplica', () => {
  it('offers its starting value: nothing is sent until the server is known, a create-only put if absent', () => {
    const replica = make(person())
    expect(replica.server).toEqual({ kind: 'unknown' })
    expect(replica.view()).toEqual(person())
    expect(replica.pendingCount).toBe(0)
    expect(replica.nextWrite()).toBeUndefined()

    replica.applySnapshot(undefined, 0, false)
    expect(replica.pendingCount).toBe(1)
    expect(content(replica)).toEqual({ kind: 'put', op: 1, base: person(), edits: [], create: true })
    expect(replica.nextWrite()).toBeUndefined()

    expect(replica.applyAck(1, 5, true)).toBe(true)
    expect(replica.server).toEqual({ kind: 'present', rev: 5, value: person() })
    expect(replica.pendingCount).toBe(0)
  })

  it("drops the offer when the server has the entity; edits made before go as a patch on the server's value", () => {
    const replica = make(person('local', 0))
    replica.localEdit(person('local', 0), person('local', 1))
    expect(replica.pendingCount).toBe(1)

    replica.applySnapshot(person(), 3, true)
    expect(replica.intent).toEqual({ kind: 'none' })
    expect(replica.view()).toEqual(person('Ada', 1))
    expect(content(replica)).toEqual({
      kind: 'patch',
      op: 1,
      edits: [{ path: ['age'], value: 1, unset: false }],
    })
  })

  it('sends edits made while a patch is in flight as a new write; an ack confirms only its own fields', () => {
    const replica = make(person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), person('B'))
    expect(replica.nextWrite()?.op).toBe(1)
    replica.localEdit(person('B'), person('C', 40))
    expect(replica.pendingCount).toBe(2) // name (in flight and again in the draft) and age
    expect(content(replica)).toEqual({
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
    const replica = make(person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), [1, 2])
    expect(replica.intent).toEqual({ kind: 'put', value: [1, 2] })
    expect(content(replica)).toEqual({ kind: 'put', op: 1, base: [1, 2], edits: [], create: false })
  })

  it('reverts a rejected patch to the confirmed value, keeping later edits', () => {
    const replica = make(person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), person('Ada', 999))
    const rejected = replica.nextWrite()?.op as number
    replica.localEdit(person('Ada', 999), person('Grace', 999))
    expect(replica.applyReject(rejected)).toBe(true)
    expect(replica.view()).toEqual(person('Grace', 36))
    expect(replica.applyReject(rejected)).toBe(false)
  })

  it('puts a rate-limited write back beneath newer edits, so the newer value of a field wins', () => {
    const replica = make(person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), person('B', 1))
    const limited = replica.nextWrite()?.op as number
    replica.localEdit(person('B', 1), person('C', 1))
    expect(replica.unsend(limited)).toBe(true)
    expect(replica.view()).toEqual(person('C', 1))
    const again = content(replica)
    expect(again?.kind).toBe('patch')
    expect(again && 'edits' in again && again.edits).toEqual([
      { path: ['age'], value: 1, unset: false },
      { path: ['name'], value: 'C', unset: false },
    ])
  })

  it('turns a patch the server did not find into a create-only put of the last known value with the edits', () => {
    const replica = make(person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), person('B'))
    const patch = replica.nextWrite()?.op as number
    expect(replica.markMissing(patch)).toBe(true)
    expect(replica.server).toEqual({ kind: 'absent', rev: 1 })
    expect(content(replica)).toEqual({
      kind: 'put',
      op: 2,
      base: person(),
      edits: [{ path: ['name'], value: 'B', unset: false }],
      create: true,
    })
  })

  it('keeps showing its value after a remote delete and sends nothing until the next edit creates it again', () => {
    const replica = make(person())
    replica.applySnapshot(person(), 1, true)
    expect(replica.applyGone(2)).toBe(true)
    expect(replica.intent).toEqual({ kind: 'keep', value: person() })
    expect(replica.view()).toEqual(person())
    expect(replica.nextWrite()).toBeUndefined()
    expect(replica.pendingCount).toBe(0)

    replica.localEdit(person(), person('again'))
    expect(content(replica)).toEqual({
      kind: 'put',
      op: 1,
      base: person(),
      edits: [{ path: ['name'], value: 'again', unset: false }],
      create: true,
    })
  })

  it('sends the edits a create-only put carried again as a patch when the offer found the entity', () => {
    const replica = make(person('offer', 0))
    replica.localEdit(person('offer', 0), person('offer', 5))
    replica.applySnapshot(undefined, 0, false)
    const create = replica.nextWrite()?.op as number
    // The server's answer: the entity's snap, then ack applied: false.
    replica.applySnapshot(person(), 4, true)
    expect(replica.applyAck(create, 4, false)).toBe(true)
    expect(replica.confirmed).toEqual(person())
    expect(replica.view()).toEqual(person('Ada', 5))
    expect(content(replica)).toEqual({
      kind: 'patch',
      op: 2,
      edits: [{ path: ['age'], value: 5, unset: false }],
    })
  })

  it('ignores remote changes and deletes that are not newer than what it has', () => {
    const replica = make(person())
    replica.applySnapshot(person(), 5, true)
    expect(replica.applyChange(5, { value: person('old') })).toBe(false)
    expect(replica.applyGone(4)).toBe(false)
    expect(replica.applyChange(6, { set: [[['name'], 'new']] })).toBe(true)
    expect(replica.confirmed).toEqual(person('new'))
  })

  it('deletes: the delete is sent and, once acknowledged, the server has no such entity', () => {
    const replica = make(person())
    replica.applySnapshot(person(), 1, true)
    replica.localDelete()
    expect(replica.deleting).toBe(true)
    expect(replica.pendingCount).toBe(1)
    expect(content(replica)).toEqual({ kind: 'del', op: 1 })
    replica.applyAck(1, 2, true)
    expect(replica.deleting).toBe(false)
    expect(replica.server).toEqual({ kind: 'absent', rev: 2 })
  })

  it('sends writes in flight when the connection dropped again, in order; newer ones once those were answered', () => {
    const replica = make(person())
    replica.applySnapshot(person(), 1, true)
    replica.localEdit(person(), person('B'))
    replica.nextWrite()
    replica.localEdit(person('B'), person('B', 1))
    replica.nextWrite()
    replica.localEdit(person('B', 1), person('B', 2))
    expect(replica.hasUnsent).toBe(true)

    replica.resetInFlight()
    const sent = () => {
      const out = []
      for (let write = replica.nextWrite(); write; write = replica.nextWrite())
        out.push(
          'edits' in write ? write.edits.map(e => `${e.path.join('.')}=${String(e.value)}`) : write.kind,
        )
      return out
    }
    expect(sent()).toEqual([['name=B'], ['age=1']])
    expect(replica.view()).toEqual(person('B', 2))
    replica.applyAck(replica.inFlight[0]?.op as number, 2, true)
    expect(sent()).toEqual([])
    replica.applyAck(replica.inFlight[0]?.op as number, 3, true)
    expect(sent()).toEqual([['age=2']])
  })

  describe('op ids (a write lands once)', () => {
    it('sends a write in flight again after a reconnect with the same op and content', () => {
      const replica = make(person())
      replica.applySnapshot(person(), 1, true)
      replica.localEdit(person(), person('B'))
      const first = replica.nextWrite()
      replica.resetInFlight()
      const again = replica.nextWrite()
      expect(again).toBe(first)
      expect(again).toMatchObject({ client: 'c1', op: first?.op, kind: 'patch' })
      expect(replica.nextWrite()).toBeUndefined()
    })

    it('coalesces unsent edits under one reserved op; edits after a send take a new op', () => {
      const replica = make(person())
      replica.applySnapshot(person(), 1, true)
      replica.localEdit(person(), person('B'))
      const reserved = replica.draftStamp
      replica.localEdit(person('B'), person('C'))
      expect(replica.draftStamp).toBe(reserved)
      const sent = replica.nextWrite()
      expect(sent?.op).toBe(reserved?.op)
      expect(replica.draftStamp).toBeUndefined()
      replica.localEdit(person('C'), person('D'))
      expect(replica.draftStamp?.op).toBeGreaterThan(sent?.op as number)
      replica.resetInFlight()
      // The resend keeps its op and its content ('C'); 'D' is a newer write,
      // sent once the resend was answered.
      const resent = replica.nextWrite()
      expect(resent && 'edits' in resent && resent.edits[0]?.value).toBe('C')
      expect(replica.nextWrite()).toBeUndefined()
      replica.applyAck(resent?.op as number, 3, true)
      const newer = replica.nextWrite()
      expect(newer && 'edits' in newer && newer.edits[0]?.value).toBe('D')
    })

    it('drops a write acknowledged with applied: false without putting its values in the confirmed value', () => {
      const replica = make(person())
      replica.applySnapshot(person(), 1, true)
      replica.localEdit(person(), person('mine'))
      const resent = replica.nextWrite()?.op as number
      replica.resetInFlight()
      // After the reconnect the snapshot shows a later write of someone else.
      replica.applySnapshot(person('theirs'), 3, true)
      replica.nextWrite()
      expect(replica.applyAck(resent, 2, false)).toBe(true)
      expect(replica.confirmed).toEqual(person('theirs'))
      expect(replica.view()).toEqual(person('theirs'))
      expect(replica.pendingCount).toBe(0)
      expect(replica.nextWrite()).toBeUndefined()
    })

    it('never takes the confirmed value back to an ack that is not newer than it', () => {
      const replica = make(person())
      replica.applySnapshot(person(), 1, true)
      replica.localEdit(person(), person('mine'))
      const op = replica.nextWrite()?.op as number
      replica.applySnapshot(person('newer'), 5, true)
      replica.applyAck(op, 4, true)
      expect(replica.server).toEqual({ kind: 'present', rev: 5, value: person('newer') })
      expect(replica.view()).toEqual(person('newer'))
    })

    it('drops a resent create acknowledged as applied before, when a later write overwrote it', () => {
      const replica = make(person('offer', 0))
      replica.localEdit(person('offer', 0), person('offer', 5))
      replica.applySnapshot(undefined, 0, false)
      const create = replica.nextWrite()?.op as number
      replica.resetInFlight()
      replica.applySnapshot(person('theirs', 9), 7, true)
      replica.nextWrite()
      // Applied at rev 3 on the first connection, overwritten since (rev 7).
      replica.applyAck(create, 3, false)
      expect(replica.view()).toEqual(person('theirs', 9))
      expect(replica.nextWrite()).toBeUndefined()
    })
  })
})
