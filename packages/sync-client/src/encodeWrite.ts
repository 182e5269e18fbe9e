import type { ConflictPolicy, Encoded, FieldPath, FieldSet } from '@lensync/protocol'
import { applyEdits } from './FieldOutbox.ts'
import type { OutboxWrite } from './replicaState.ts'
import type { WriteMessage } from './SyncConnection.ts'

/**
 * The wire message of a write of an outbox: encoded once, then sent as it is
 * (a resend after a reconnect is the same message).
 *
 * @param write - The write (its op, client id and content).
 * @param to - The resource `r` and entity `id`, the client id of the
 *   connection (a write made under another one says whose it is: `client`),
 *   the write's base revision (`base`, when it has one) and the conflict
 *   policy sent with it (`'overwrite'` is the server's default and is not sent).
 * @param encode - The resource's serializer.
 * @returns The `put`, `patch` or `del` message.
 * @internal
 */
export function encodeWrite(
  write: OutboxWrite,
  to: {
    readonly r: string
    readonly id: string
    readonly connectionClient: string
    readonly base?: number | undefined
    readonly onConflict?: ConflictPolicy
  },
  encode: (value: unknown) => Encoded,
): WriteMessage {
  let message = encodeContent(write, to.r, to.id, encode)
  if (write.client !== to.connectionClient) message = { ...message, client: write.client }
  if (to.base !== undefined && message.t !== 'del') {
    message = { ...message, base: to.base }
    if (to.onConflict === 'keep-theirs') message = { ...message, onConflict: 'keep-theirs' }
  }
  return message
}

function encodeContent(
  write: OutboxWrite,
  r: string,
  id: string,
  encode: (value: unknown) => Encoded,
): WriteMessage {
  const { op } = write
  switch (write.kind) {
    case 'del':
      return { t: 'del', op, r, id }
    case 'put': {
      const value = encode(applyEdits(write.base, write.edits))
      return write.create ? { t: 'put', op, r, id, value, create: true } : { t: 'put', op, r, id, value }
    }
    case 'patch': {
      const set: FieldSet[] = []
      const unset: FieldPath[] = []
      for (const edit of write.edits) {
        if (edit.unset) unset.push(edit.path)
        else set.push([edit.path, encode(edit.value)])
      }
      return unset.length > 0 ? { t: 'patch', op, r, id, set, unset } : { t: 'patch', op, r, id, set }
    }
  }
}
