import { effect, history, lenses, storeOf } from '@lensync/store'
import { describe, expect, it } from 'vitest'

describe('history', () => {
  it('keeps the last `capacity` values: capacity 4 over A..G keeps D, E, F, G', () => {
    const store = storeOf('A')
    const h = history(store, { capacity: 4 })
    for (const value of ['B', 'C', 'D', 'E', 'F', 'G']) store.update(value)
    expect(h.entries.value).toEqual(['D', 'E', 'F', 'G'])
    h.dispose()
  })

  it('starts with the current value and does not push an equal consecutive value', () => {
    const store = storeOf({ n: 1 })
    const h = history(store, { equals: (a, b) => a.n === b.n })
    expect(h.entries.value).toEqual([{ n: 1 }])
    expect(h.available.value).toBe(false)
    store.update({ n: 1 })
    store.update({ n: 2 })
    expect(h.entries.value).toEqual([{ n: 1 }, { n: 2 }])
    expect(h.available.value).toBe(true)
  })

  it('back() removes the newest entry and returns the new newest without touching the store (undo)', () => {
    const store = storeOf('A')
    const h = history(store)
    store.update('B')
    store.update('C')
    const undone = h.back()
    expect(undone).toBe('B')
    expect(store.current).toBe('C')
    store.update(undone)
    expect(h.entries.value).toEqual(['A', 'B'])
    store.update(h.back())
    expect(store.current).toBe('A')
    expect(h.available.value).toBe(false)
    expect(h.back()).toBe('A')
    expect(h.entries.value).toEqual(['A'])
  })

  it('clear() keeps only the newest; available follows', () => {
    const store = storeOf(1)
    const h = history(store)
    const seen: boolean[] = []
    const stop = effect(() => {
      seen.push(h.available.value)
    })
    store.update(2)
    store.update(3)
    h.clear()
    expect(h.entries.value).toEqual([3])
    expect(seen).toEqual([false, true, false])
    stop()
  })

  it('records a sub-store, and stops on dispose()', () => {
    const store = storeOf({ a: 1, b: 1 })
    const a = store.map(lenses<{ a: number; b: number }>().a)
    const h = history(a)
    store.update({ ...store.current, b: 2 })
    a.update(2)
    expect(h.entries.value).toEqual([1, 2])
    h.dispose()
    a.update(3)
    expect(h.entries.value).toEqual([1, 2])
  })

  it('validates capacity', () => {
    expect(() => history(storeOf(1), { capacity: 0 })).toThrow(/capacity must be a positive integer/)
  })
})
