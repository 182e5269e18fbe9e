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

/** Whether `shown` and `view` differ at `path` (one has it and the other not, or not deep-equal). */
function differsAt(shown: unknown, view: unknown, path: FieldPath): boolean {
  const now = valueAt(view, path)
  const was = valueAt(shown, path)
  if (now === ABSENT || was === ABSENT) return now !== was
  return !deepEqual(was, now)
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
      if (path.length === 0) return deepEqual(shown, view) ? shown : view
      if (!differsAt(shown, view, path)) continue
      if (shared) return view
      patch = patched(patch, view, path)
    }
  if (unset !== undefined)
    for (const path of unset) {
      if (path.length === 0) return deepEqual(shown, view) ? shown : view
      if (!differsAt(shown, view, path)) continue
      if (shared) return view
      patch = patched(patch, view, path)
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
