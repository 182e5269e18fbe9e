import {
  applyFieldChanges,
  deepEqual,
  type FieldChange,
  type FieldPath,
  type FieldSet,
  isPlainObject,
} from '@lensync/protocol'

/** What {@link valueAt} returns where a path leads nowhere. */
const ABSENT: unique symbol = Symbol('absent')

/** The value at `path`, through own fields of plain objects only (as `setIn` reads), or {@link ABSENT}. */
function valueAt(value: unknown, path: FieldPath): unknown {
  let current = value
  for (const key of path) {
    if (!isPlainObject(current) || !Object.hasOwn(current, key)) return ABSENT
    current = current[key]
  }
  return current
}

/**
 * Where `shown` and `view` differ on the way to `path`, or `undefined` where
 * they agree: `path` itself when the values there differ (or one has it and
 * the other not), or a shorter prefix where one holds an object to descend
 * into and the other something else (a change below a field that was no
 * object makes it one; a removal can leave it empty).
 */
function differenceOn(shown: unknown, view: unknown, path: FieldPath): FieldPath | undefined {
  let was = shown
  let now = view
  for (let i = 0; i < path.length; i++) {
    if (!isPlainObject(was) || !isPlainObject(now)) return deepEqual(was, now) ? undefined : path.slice(0, i)
    const key = path[i] as string
    const had = Object.hasOwn(was, key)
    const has = Object.hasOwn(now, key)
    if (!had || !has) return had === has ? undefined : path.slice(0, i + 1)
    was = was[key]
    now = now[key]
  }
  return deepEqual(was, now) ? undefined : path
}

/**
 * What a sync's store should hold after a remote field change: `shown` (the
 * store's value, equal to the replica's view before the change) with the
 * new `view` set at the paths the change touched, and only where it differs.
 * The rest of the view did not change (see `EntityReplica.followsFieldChanges`),
 * so nothing else is compared: the work is proportional to the changed
 * fields, not to the entity.
 *
 * @param shown - What the store holds.
 * @param view - The replica's view after the change.
 * @param set - The paths the change set (the message's `set`; only the paths are read).
 * @param unset - The paths the change removed.
 * @param shared - `view` is `shown` with the change applied (the store showed
 *   the confirmed value itself and nothing is on top): `view` is returned as
 *   it is when anything differs.
 * @returns The value to store; `shown` itself when the store already shows the view.
 * @internal
 */
export function shownAfter(
  shown: unknown,
  view: unknown,
  set: readonly FieldSet[] | undefined,
  unset: readonly FieldPath[] | undefined,
  shared: boolean,
): unknown {
  let patch: Patch | undefined
  if (set !== undefined)
    for (const [path] of set) {
      const differs = differenceOn(shown, view, path)
      if (differs === undefined) continue
      if (shared || differs.length === 0) return view
      patch = patched(patch, view, differs)
    }
  if (unset !== undefined)
    for (const path of unset) {
      const differs = differenceOn(shown, view, path)
      if (differs === undefined) continue
      if (shared || differs.length === 0) return view
      patch = patched(patch, view, differs)
    }
  return patch === undefined ? shown : applyFieldChanges(shown, patch.set, patch.unset)
}

/** The changes that make the store show the view at the paths where it differs. */
interface Patch {
  readonly set: FieldChange[]
  readonly unset: FieldPath[]
}

// `patch` (made when first needed) with the view's value at `path` set, or removed where the view has none.
function patched(patch: Patch | undefined, view: unknown, path: FieldPath): Patch {
  const changes = patch ?? { set: [], unset: [] }
  const now = valueAt(view, path)
  if (now === ABSENT) changes.unset.push(path)
  else changes.set.push([path, now])
  return changes
}
