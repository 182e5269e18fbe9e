import { describe, expect, it } from 'vitest'
// The field outbox is internal (not part of the package's API): these unit
// tests import it from the source, so the public exports stay clean.
import { applyEdits, FieldOutbox } from '../src/FieldOutbox.ts'

const set = (path: string[], value: unknown) => ({ path, value, unset: false })
const unset = (path: string[]) => ({ path, value: undefined, unset: true })

describe('FieldOutbox', () => {
  it('keeps only the newest edit of a field, in the order fields were last edited', () => {
    const outbox = new FieldOutbox()
    outbox.add(set(['name'], 'A'))
    outbox.add(set(['age'], 1))
    outbox.add(set(['name'], 'B'))
    expect(outbox.size).toBe(2)
    expect([...outbox.values()]).toEqual([set(['age'], 1), set(['name'], 'B')])
  })

  it('folds an edit below a waiting ancestor into it, and drops waiting descendants of a new edit', () => {
    const outbox = new FieldOutbox()
    outbox.add(set(['address'], { city: 'Bonn', zip: '1' }))
    outbox.add(set(['address', 'zip'], '2'))
    expect([...outbox.values()]).toEqual([set(['address'], { city: 'Bonn', zip: '2' })])

    const other = new FieldOutbox()
    other.add(set(['address', 'zip'], '2'))
    other.add(unset(['address', 'city']))
    other.add(set(['address'], { city: 'Köln' }))
    expect([...other.values()]).toEqual([set(['address'], { city: 'Köln' })])
  })

  it('puts older edits beneath the waiting ones: the newer value of a field wins', () => {
    const outbox = new FieldOutbox()
    outbox.add(set(['name'], 'newer'))
    outbox.addUnder([set(['name'], 'older'), set(['age'], 3)])
    expect(applyEdits({ name: '', age: 0 }, outbox.values())).toEqual({ name: 'newer', age: 3 })
  })

  it('hands out its edits once (take)', () => {
    const outbox = new FieldOutbox()
    outbox.add(set(['a', 'b'], 1))
    expect(outbox.take()).toEqual([set(['a', 'b'], 1)])
    expect(outbox.size).toBe(0)
    expect(outbox.take()).toEqual([])
  })
})
