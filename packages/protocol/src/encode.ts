import { PROTOCOL_VERSION } from './constants.ts'
import type { ErrorCode, FieldPath, Issue, OpId, RejectCode } from './messages.ts'

// Encoders for every server → client message. Values arrive as JSON text
// (the hub keeps entities as the text of their envelope), so encoding a
// message never parses or re-serializes a value: it is spliced in.

/** One item of a collection snapshot, with its value as the JSON text of its envelope. */
export interface EncodedSnapItem {
  readonly id: string
  readonly rev: number
  /** The JSON text of the value's envelope (`{"json":…}`). */
  readonly value: string
}

/** The body of a `change`: the whole new value (after a put) or the field changes (after a patch), as JSON texts. */
export type EncodedChangeBody =
  | { readonly value: string }
  | { readonly set: string; readonly unset?: string | undefined }

const str = JSON.stringify

/**
 * `welcome`: the answer to `hello`.
 *
 * @param client - The client id from `hello`.
 * @param node - The server node's id.
 * @param version - The protocol version agreed on (see `negotiateVersion`). Default 1.
 * @returns The envelope's JSON text.
 */
export function encodeWelcome(client: string, node: string, version: number = PROTOCOL_VERSION): string {
  return `{"t":"welcome","v":${version},"client":${str(client)},"node":${str(node)}}`
}

/**
 * An entity `snap`.
 *
 * @param value - The JSON text of the value's envelope; `null` when the entity is absent.
 * @returns The envelope's JSON text.
 */
export function encodeEntitySnap(r: string, id: string, rev: number, value: string | null): string {
  return `{"t":"snap","r":${str(r)},"id":${str(id)},"rev":${rev},"value":${value ?? 'null'}}`
}

/**
 * One page of a collection `snap`.
 *
 * @param items - The entities of the page (values as JSON text).
 * @param gone - Ids deleted since the client's `since`.
 * @param more - Whether another page follows.
 * @param full - The whole collection although the client asked with a `since` (see `CollectionSnapMessage.full`).
 * @returns The envelope's JSON text.
 */
export function encodeCollectionSnap(
  r: string,
  rev: number,
  items: readonly EncodedSnapItem[],
  gone: readonly string[],
  more: boolean,
  full = false,
): string {
  let text = ''
  for (const item of items)
    text += `${text ? ',' : ''}{"id":${str(item.id)},"rev":${item.rev},"value":${item.value}}`
  return `{"t":"snap","r":${str(r)},"rev":${rev},"items":[${text}],"gone":${str(gone)}${more ? ',"more":true' : ''}${full ? ',"full":true' : ''}}`
}

/** One field conflict of an `ack` (see `FieldConflict`), with the other client's value as JSON text. */
export interface EncodedConflict {
  readonly path: FieldPath
  readonly rev: number
  readonly by?: string | undefined
  /** The JSON text of the value's envelope before the write; `null` when the field was absent. */
  readonly theirs: string | null
  readonly applied: boolean
}

/**
 * `ack` of a write.
 *
 * @param applied - `false` for a create-only put that found the entity (its
 *   `snap` precedes the ack), a write already applied, or a `'keep-theirs'`
 *   write whose every field conflicted.
 * @param conflicts - The write's fields that met a newer write of another client.
 * @returns The envelope's JSON text.
 */
export function encodeAck(
  op: OpId,
  rev: number,
  applied = true,
  conflicts?: readonly EncodedConflict[],
): string {
  const list = conflicts && conflicts.length > 0 ? `,"conflicts":${_conflictsText(conflicts)}` : ''
  return `{"t":"ack","op":${str(op)},"rev":${rev}${applied ? '' : ',"applied":false'}${list}}`
}

/** The JSON text of an ack's conflicts (the same in both protocol versions). @internal */
export function _conflictsText(conflicts: readonly EncodedConflict[]): string {
  let list = ''
  for (const c of conflicts) {
    const by = c.by === undefined ? '' : `,"by":${str(c.by)}`
    list += `${list ? ',' : ''}{"path":${str(c.path)},"rev":${c.rev}${by},"theirs":${c.theirs ?? 'null'},"applied":${c.applied}}`
  }
  return `[${list}]`
}

/**
 * `change` broadcast to the other subscribers of an entity, split around its
 * revision (`head + rev + tail`): the hub encodes it when the write is
 * decided and learns the revision only from the commit.
 *
 * @returns `[head, tail]`.
 */
export function splitChange(r: string, id: string, body: EncodedChangeBody): readonly [string, string] {
  const head = `{"t":"change","r":${str(r)},"id":${str(id)},"rev":`
  if ('value' in body) return [head, `,"value":${body.value}}`]
  return [head, `,"set":${body.set}${body.unset === undefined ? '' : `,"unset":${body.unset}`}}`]
}

/**
 * `change` broadcast to the other subscribers of an entity.
 *
 * @returns The envelope's JSON text.
 */
export function encodeChange(r: string, id: string, rev: number, body: EncodedChangeBody): string {
  const [head, tail] = splitChange(r, id, body)
  return `${head}${rev}${tail}`
}

/** `gone` split around its revision (`head + rev + tail`), as {@link splitChange}. */
export function splitGone(r: string, id: string): readonly [string, string] {
  return [`{"t":"gone","r":${str(r)},"id":${str(id)},"rev":`, '}']
}

/**
 * `gone`: the entity was deleted.
 *
 * @returns The envelope's JSON text.
 */
export function encodeGone(r: string, id: string, rev: number): string {
  const [head, tail] = splitGone(r, id)
  return `${head}${rev}${tail}`
}

/** What a `reject` is about: a write's op, a refused subscription's resource (and id), or a presence room. */
export type RejectTarget =
  | { readonly op: OpId }
  | { readonly r: string; readonly id?: string | undefined }
  | { readonly room: string }

/**
 * `reject` of a write or a subscription.
 *
 * @param issues - The schema's issues, as plain data.
 * @returns The envelope's JSON text.
 */
export function encodeReject(
  target: RejectTarget,
  code: RejectCode,
  message: string,
  issues?: readonly Issue[],
): string {
  const about =
    'op' in target
      ? `"op":${str(target.op)}`
      : 'room' in target
        ? `"room":${str(target.room)}`
        : `"r":${str(target.r)}${target.id === undefined ? '' : `,"id":${str(target.id)}`}`
  return `{"t":"reject",${about},"code":"${code}","message":${str(message)}${issues ? `,"issues":${str(issues)}` : ''}}`
}

/**
 * `error`: a frame the server could not use; the connection stays open.
 *
 * @returns The envelope's JSON text.
 */
export function encodeError(code: ErrorCode, message: string): string {
  return `{"t":"error","code":"${code}","message":${str(message)}}`
}

/** One member of a room for {@link encodePresenceSnap}: its client id and the JSON text of its state's envelope. */
export interface EncodedPresencePeer {
  readonly client: string
  /** The JSON text of the state's envelope (`{"json":…}`). */
  readonly state: string
}

/**
 * `psnap`: the other members of a room, answering `pjoin`.
 *
 * @returns The envelope's JSON text.
 */
export function encodePresenceSnap(room: string, peers: readonly EncodedPresencePeer[]): string {
  let text = ''
  for (const peer of peers) text += `${text ? ',' : ''}{"client":${str(peer.client)},"state":${peer.state}}`
  return `{"t":"psnap","room":${str(room)},"peers":[${text}]}`
}

/**
 * `ppeer`: a member joined or changed its state.
 *
 * @param state - The JSON text of the state's envelope.
 * @returns The envelope's JSON text.
 */
export function encodePresencePeer(room: string, client: string, state: string): string {
  return `{"t":"ppeer","room":${str(room)},"client":${str(client)},"state":${state}}`
}

/**
 * `pgone`: a member left the room.
 *
 * @returns The envelope's JSON text.
 */
export function encodePresenceGone(room: string, client: string): string {
  return `{"t":"pgone","room":${str(room)},"client":${str(client)}}`
}

/**
 * `reauth`: the session's credential expires at `expiresAt`; the client answers with `auth`.
 *
 * @param expiresAt - Milliseconds since the epoch.
 * @returns The envelope's JSON text.
 */
export function encodeReauth(expiresAt: number): string {
  return `{"t":"reauth","expiresAt":${Math.floor(expiresAt)}}`
}
