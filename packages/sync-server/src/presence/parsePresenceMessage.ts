import {
  isPlainObject,
  type PresenceJoinMessage,
  type PresenceLeaveMessage,
  type PresenceSetMessage,
  ProtocolError,
  parseClientMessage,
} from '@lensync/protocol'

/** A client → server presence message. */
export type PresenceMessage = PresenceJoinMessage | PresenceSetMessage | PresenceLeaveMessage

/**
 * @internal
 * Checks a `pjoin`/`pset`/`pleave` envelope (as `parseFrame` returned it)
 * with `parseClientMessage` of `@lensync/protocol`, which the hub uses for
 * every envelope; for using the rooms without the hub.
 *
 * @param raw - One envelope.
 * @returns The message, `undefined` when `raw` is not a presence envelope
 *   (another `t`), or what is wrong (answer `error BAD_FRAME`; `BAD_FIELD`
 *   when it names a refused key).
 */
export function parsePresenceMessage(
  raw: unknown,
): PresenceMessage | { readonly code: 'BAD_FRAME' | 'BAD_FIELD'; readonly message: string } | undefined {
  if (!isPlainObject(raw)) return undefined
  const t = raw.t
  if (t !== 'pjoin' && t !== 'pset' && t !== 'pleave') return undefined
  const parsed = parseClientMessage(raw)
  if (parsed instanceof ProtocolError)
    return { code: parsed.code === 'BAD_FIELD' ? 'BAD_FIELD' : 'BAD_FRAME', message: parsed.message }
  return parsed as PresenceMessage
}
