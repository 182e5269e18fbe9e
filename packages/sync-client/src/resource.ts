import {
  defaultSerializer,
  isStandardSchema,
  type Serializer,
  type StandardSchemaV1,
} from '@lensync/protocol'
import type { OnConflict } from './Conflict.ts'
import { SyncError } from './SyncError.ts'

/** Options of {@link resource}. */
export interface ResourceOptions<T> {
  /** The resource name on the server (`r` on the wire): a non-empty string of at most 256 characters. */
  name: string
  /** The id of an entity: must be a non-empty string and stay stable for the entity. */
  id: (value: T) => string
  /** How values travel; defaults to superjson's format with a plain-JSON fast path. */
  serializer?: Serializer
  /** A Standard Schema (zod, valibot, arktype …) every incoming value is checked against. */
  schema?: StandardSchemaV1<unknown, T>
  /**
   * The version of the values' shape, a positive integer. A cache
   * (`websocket(url, { cache })`) drops values cached under another version
   * and fetches them again; edits made under it and not yet sent are still
   * sent (the server's schema decides). Raise it when the shape changes.
   * @default 1
   */
  version?: number
  /**
   * What to do when an edit of a field (typically made offline) meets
   * another client's newer value of it: `'overwrite'`, `'keep-theirs'` or a
   * merge function (see {@link OnConflict}). Each such conflict is reported
   * on the sync's `conflicts` whatever the policy.
   * @default 'overwrite'
   */
  onConflict?: OnConflict
}

/** A kind of synced entity: its name on the server, how to find an entity's id, and how to encode values. */
export interface Resource<T> {
  readonly name: string
  readonly id: (value: T) => string
  readonly serializer: Serializer
  readonly schema: StandardSchemaV1<unknown, T> | undefined
  /** The version of the values' shape (see {@link ResourceOptions.version}). */
  readonly version: number
  /** The conflict policy (see {@link ResourceOptions.onConflict}). */
  readonly onConflict: OnConflict
}

/**
 * Describes a kind of entity to sync with `syncWith` and `syncList`.
 *
 * @param options - Name, id function, optional serializer and schema.
 * @returns The resource.
 * @throws SyncError `BAD_ARGUMENT` when an option is missing or of the wrong kind.
 * @example
 * const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
 */
export function resource<T>(options: ResourceOptions<T>): Resource<T> {
  const {
    name,
    id,
    serializer = defaultSerializer,
    schema,
    version = 1,
    onConflict = 'overwrite',
  } = options ?? ({} as ResourceOptions<T>)
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
    throw new SyncError(
      'BAD_ARGUMENT',
      'resource(): `name` must be a non-empty string of at most 256 characters',
    )
  }
  if (typeof id !== 'function') {
    throw new SyncError(
      'BAD_ARGUMENT',
      'resource(): `id` must be a function returning the entity id, e.g. `id: p => p._id`',
    )
  }
  if (typeof serializer?.serialize !== 'function' || typeof serializer.deserialize !== 'function') {
    throw new SyncError('BAD_ARGUMENT', 'resource(): `serializer` must have serialize() and deserialize()')
  }
  if (schema !== undefined && !isStandardSchema(schema)) {
    throw new SyncError(
      'BAD_ARGUMENT',
      'resource(): `schema` must implement Standard Schema v1 (zod, valibot, arktype …)',
    )
  }
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new SyncError(
      'BAD_ARGUMENT',
      `resource(): \`version\` must be a positive integer, got ${String(version)}`,
    )
  }
  if (onConflict !== 'overwrite' && onConflict !== 'keep-theirs' && typeof onConflict !== 'function') {
    throw new SyncError(
      'BAD_ARGUMENT',
      "resource(): `onConflict` must be 'overwrite', 'keep-theirs' or a function (conflict) => value",
    )
  }
  return Object.freeze({ name, id, serializer, schema, version, onConflict })
}
