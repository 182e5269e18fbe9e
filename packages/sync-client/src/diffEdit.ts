import { deepEqual, type FieldDiff, isPlainObject } from '@lensync/protocol'

/**
 * The field-level changes that turn `prev` into `next`, as `diffFields` of
 * `@lensync/protocol` finds them (plain objects descended into, anything
 * else compared structurally and replaced whole, a root replacement as the
 * empty path), for the send path of a store edit: objects that kept their
 * identity are skipped at once and the path of a field is copied only when
 * it changed, so an edit made through a lens costs the objects along its
 * path (the ones the lens copied), not the whole value.
 *
 * @internal
 */
export function diffEdit(prev: unknown, next: unknown): FieldDiff {
  const diff: FieldDiff = { set: [], unset: [] }
  if (prev !== next) collect(prev, next, [], diff)
  return diff
}

// `path` is one stack, pushed and popped on the way down: copied only for a change found.
function collect(prev: unknown, next: unknown, path: string[], diff: FieldDiff): void {
  if (isPlainObject(prev) && isPlainObject(next)) {
    for (const key in next) {
      const value = next[key]
      if (!Object.hasOwn(prev, key)) diff.set.push([[...path, key], value])
      else {
        const before = prev[key]
        if (before === value) continue
        path.push(key)
        collect(before, value, path, diff)
        path.pop()
      }
    }
    for (const key in prev) if (!Object.hasOwn(next, key)) diff.unset.push([...path, key])
    return
  }
  if (!deepEqual(prev, next)) diff.set.push([path.slice(), next])
}
