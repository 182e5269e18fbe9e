import {
  type Encoded,
  findForbiddenKeyInEncoded,
  isPlainObject,
  MAX_NAME_LENGTH,
  type PresenceJoinMessage,
  type PresenceLeaveMessage,
  type PresenceSetMessage,
} from '@lensync/protocol'

/** A client → server presence message. */
export type PresenceMessage = PresenceJoinMessage | PresenceSetMessage | PresenceLeaveMessage

/**
 * Checks a `pjoin`/`pset`/`pleave` envelope (as `parseFrame` returned it)
 * and rebuilds it from its known fields. A stopgap until
 * `parseClientMessage` of `@lensync/protocol` knows these messages (it lists
 * them as known types but does not rebuild them yet).
 *
 * @param raw - One envelope.
 * @returns The message, `undefined` when `raw` is not a presence envelope
 *   (another `t`), or a string saying what is wrong (answer `error BAD_FRAME`;
 *   `BAD_FIELD` when it names a refused key).
 */
export function parsePresenceMessage(
  raw: unknown,
): PresenceMessage | { readonly code: 'BAD_FRAME' | 'BAD_FIELD'; readonly message: string } | undefined {
  if (!isPlainObject(raw)) return undefined
  const t = raw.t
  if (t !== 'pjoin' && t !== 'pset' && t !== 'pleave') return undefined
  const room = raw.room
  if (typeof room !== 'string' || room === '' || room.length > MAX_NAME_LENGTH)
    return bad(`${t}.room must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`)
  if (t === 'pleave') return { t, room }
  const state = raw.state
  if (!isPlainObject(state) || !Object.hasOwn(state, 'json'))
    return bad(`${t}.state must be a value envelope { json, meta? }`)
  const meta = state.meta
  if (meta !== undefined && meta !== null && !isPlainObject(meta))
    return bad(`${t}.state.meta must be an object when present`)
  const encoded: Encoded =
    meta === undefined || meta === null ? { json: state.json } : { json: state.json, meta }
  const forbidden = findForbiddenKeyInEncoded(encoded)
  if (forbidden !== undefined)
    return { code: 'BAD_FIELD', message: `${t}.state contains the forbidden key "${forbidden}"` }
  return { t, room, state: encoded }
}

function bad(message: string): { readonly code: 'BAD_FRAME'; readonly message: string } {
  return { code: 'BAD_FRAME', message }
}
