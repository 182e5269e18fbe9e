import {
  type AckMessage,
  applyFieldChanges,
  createFrameDecoder,
  type FieldChange,
  ProtocolError,
  type RejectMessage,
} from '@lensync/protocol'
import { WebSocket } from 'ws'
import type { SentWrite } from './protocolClient.ts'

/** The final state of one entity as the acknowledged writes say it must be. */
export interface Expected {
  readonly rev: number
  /** JSON value; `null` after a delete. */
  readonly value: unknown
}

/**
 * Replays every applied write of `resource` in revision order (the order the
 * server committed them). The result is what the server must hold: every
 * acknowledged write is in it unless a write with a higher revision replaced
 * the same field. A delete of an absent entity (acknowledged with its
 * tombstone's revision) changes nothing.
 *
 * @param writes - Writes of every connection, with their answers.
 * @returns Entity id → expected state.
 * @throws Error when two applied writes share a revision (revisions must be unique per resource).
 */
export function replayAcknowledged(writes: Iterable<SentWrite>, resource: string): Map<string, Expected> {
  const applied: { write: SentWrite; rev: number }[] = []
  for (const write of writes) {
    const answer = write.answer
    if (write.msg.r !== resource || answer?.t !== 'ack' || answer.applied === false) continue
    applied.push({ write, rev: answer.rev })
  }
  applied.sort((a, b) => a.rev - b.rev)
  const state = new Map<string, Expected>()
  for (let i = 0; i < applied.length; i++) {
    const { write, rev } = applied[i] as (typeof applied)[number]
    const { msg } = write
    // Deleting an absent entity is acknowledged with the revision of its
    // tombstone (0 if it never existed) and changes nothing.
    if (
      msg.t === 'del' &&
      (rev === 0 || (state.get(msg.id)?.rev === rev && state.get(msg.id)?.value === null))
    )
      continue
    if (i > 0 && applied[i - 1]?.rev === rev)
      throw new Error(`two writes were acknowledged with rev ${rev}: ${JSON.stringify(write.msg)}`)
    const before = state.get(msg.id)?.value ?? null
    let value: unknown
    if (msg.t === 'put') value = msg.value.json
    else if (msg.t === 'del') value = null
    else {
      if (before === null)
        throw new Error(`a patch of an absent entity was acknowledged: ${JSON.stringify(msg)}`)
      const set: FieldChange[] = msg.set.map(([path, v]) => [path, v.json])
      value = applyFieldChanges(before, set, msg.unset ?? [])
    }
    state.set(msg.id, { rev, value })
  }
  return state
}

/**
 * A `ws` WebSocket class that records every write a real client
 * (`syncWith`/`syncList`) sends and the answer it gets, so its writes can be
 * replayed with the raw clients' ones.
 *
 * @param log - Receives one record per write, answered in place.
 * @param name - Prefix of the connection names (one per WebSocket instance).
 */
export function recordingWebSocket(log: SentWrite[], name: string): typeof WebSocket {
  let instances = 0
  return class RecordingWebSocket extends WebSocket {
    private readonly _connection = `${name}#${++instances}`
    private readonly _open = new Map<unknown, SentWrite>()
    // Frames of either protocol version, read as version 1 (a version 2
    // write names its entity by a handle and may leave its op out).
    private readonly _decoder = createFrameDecoder()

    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args)
      this.on('message', (data, isBinary) => {
        if (isBinary) return
        const parsed = this._decoder.server(data.toString())
        if (parsed instanceof ProtocolError) return
        for (const read of parsed) {
          if (!read.ok) continue
          const m = read.message
          if ((m.t !== 'ack' && m.t !== 'reject') || m.op === undefined) continue
          const write = this._open.get(m.op)
          if (!write) continue
          this._open.delete(m.op)
          write.answer = m as AckMessage | RejectMessage
        }
      })
    }

    override send(data: unknown, ...rest: unknown[]): void {
      const parsed = typeof data === 'string' ? this._decoder.client(data) : []
      if (!(parsed instanceof ProtocolError)) {
        for (const m of parsed) {
          if (m instanceof ProtocolError || (m.t !== 'put' && m.t !== 'patch' && m.t !== 'del')) continue
          const write: SentWrite = { connection: this._connection, msg: m as SentWrite['msg'] }
          log.push(write)
          this._open.set(m.op, write)
        }
      }
      // biome-ignore lint/suspicious/noExplicitAny: forwarding ws's overloads
      ;(super.send as any)(data, ...rest)
    }
  } as unknown as typeof WebSocket
}
