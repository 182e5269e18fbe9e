import { applyFieldChanges, deepEqual, diffFields, type FieldPath } from '@lensync/protocol'
import { describe, expect, it } from 'vitest'
// Internal helpers of the receive and send paths (not part of the package's
// API), imported from the source like EntityReplica.test.ts does: each must
// agree with the whole-value computation it replaces, on seeded random data.
import { diffEdit } from '../src/diffEdit.ts'
import { applyEdits, type FieldEdit } from '../src/FieldOutbox.ts'
import { shownAfter } from '../src/shownAfter.ts'

/** mulberry32: a small seeded generator, so a failure names its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const KEYS = ['a', 'b', 'c', 'd']

function value(rand: () => number, depth: number): unknown {
  const r = rand()
  if (depth > 2 || r < 0.35) return Math.floor(rand() * 3)
  if (r < 0.45) return [Math.floor(rand() * 2)]
  if (r < 0.5) return null
  const out: Record<string, unknown> = {}
  for (const key of KEYS) if (rand() < 0.6) out[key] = value(rand, depth + 1)
  return out
}

function path(rand: () => number): FieldPath {
  const length = 1 + Math.floor(rand() * 3)
  return Array.from({ length }, () => KEYS[Math.floor(rand() * KEYS.length)] as string)
}

function edits(rand: () => number, count: number): FieldEdit[] {
  return Array.from({ length: count }, () =>
    rand() < 0.25
      ? { path: path(rand), value: undefined, unset: true }
      : { path: path(rand), value: value(rand, 2), unset: false },
  )
}

describe('diffEdit', () => {
  it('finds what diffFields finds', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const rand = random(seed)
      const before = value(rand, 0)
      const after =
        rand() < 0.8 ? applyEdits(before, edits(rand, 1 + Math.floor(rand() * 3))) : value(rand, 0)
      expect(diffEdit(before, after), `seed ${seed}`).toEqual(diffFields(before, after))
    }
  })
})

describe('shownAfter', () => {
  it('makes the store equal the new view, with pending edits on top, touching only changed paths', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const rand = random(seed)
      const confirmed = { ...(value(rand, 1) as object), id: 'x' }
      const pending = rand() < 0.5 ? [] : edits(rand, 1 + Math.floor(rand() * 2))
      // The store shows the view: a copy, or the very object when nothing is on top.
      const shared = pending.length === 0 && rand() < 0.5
      const oldView = applyEdits(confirmed, pending)
      const shown = shared ? oldView : structuredClone(oldView)
      const set = Array.from({ length: Math.floor(rand() * 3) }, () => [path(rand), value(rand, 2)] as const)
      const unset = Array.from({ length: Math.floor(rand() * 2) }, () => path(rand))
      const next = applyFieldChanges(confirmed, set, unset)
      const view = applyEdits(next, pending)
      const encoded = set.map(([p]) => [p, { json: null }] as const)
      const result = shownAfter(shown, view, encoded, unset, shared)
      expect(result, `seed ${seed}`).toEqual(view)
      if (deepEqual(shown, view)) expect(result, `seed ${seed}: nothing changed`).toBe(shown)
    }
  })
})
