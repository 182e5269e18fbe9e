import type { FieldPath } from '@lensync/protocol'
import { type LensLike, lensOf } from '@lensync/store'
import { SyncError } from './SyncError.ts'

/**
 * What `fieldStatus` accepts to name a field: a store path (`'.address.street'`,
 * as `subStore.path`; `''` for the whole entity) or a lens / `lenses<T>()` path
 * (`L.address.street`, whose id is `'address.street'`).
 */
// biome-ignore lint/suspicious/noExplicitAny: a lens of any entity type names a field
export type FieldRef = string | LensLike<any, any>

/**
 * The field path a {@link FieldRef} names.
 *
 * @param ref - A store path or a lens.
 * @returns The property names from the entity root down to the field.
 * @throws SyncError `BAD_ARGUMENT` for a lens that names no field path (e.g. a format lens) or a string not starting with `.`.
 * @internal
 */
export function fieldPathOf(ref: FieldRef): FieldPath {
  if (typeof ref === 'string') {
    if (ref === '') return []
    if (!ref.startsWith('.'))
      throw new SyncError('BAD_ARGUMENT', `fieldStatus(): a store path starts with '.', got '${ref}'`)
    return ref.slice(1).split('.')
  }
  const lens = lensOf(ref)
  if (typeof lens?.id !== 'string')
    throw new SyncError('BAD_ARGUMENT', 'fieldStatus(): expected a store path or a lens')
  return lens.id === '' ? [] : lens.id.split('.')
}
