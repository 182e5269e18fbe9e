import {
  CloseCodes,
  type CompactRender,
  compactBroadcast,
  type EncodedConflict,
  encodeReject,
} from '@lensync/protocol'
import type { WriteConflict } from './decideWrite.ts'
import type { _WriteTask } from './EntityTable.ts'
import type { HubClient } from './HubClient.ts'
import { SharedFrame } from './SharedFrame.ts'
import type { _SubscriptionIndex } from './Subscriptions.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'
import type { _WriteAnswers, _WriteOutcome } from './WriteOutcome.ts'

/**
 * @internal
 * Everything that leaves the hub: each connection's outbox, the set of
 * connections with something to send, and the flush that sends it — once
 * per tick (`setImmediate` from the injected timers), so everything for one
 * connection in one tick is one frame (or a few, cut at
 * `maxOutgoingFrameBytes`). Bounds what a connection can make the hub hold
 * (`maxBufferedBytes` → close 1013), and closes connections at the flush
 * after their last answers.
 *
 * Errors in this deferred work concern one connection only: it is closed
 * with 1011 and the others, and the process, go on.
 */
export class _Delivery implements _WriteAnswers {
  /**
   * The connections with something to send, in the order they first had
   * something since the last flush; each once (its `_flushQueued`). A
   * connection forgotten meanwhile stays in the list unflagged and is skipped.
   */
  private readonly _dirty: HubClient[] = []
  /** Connections whose close waits for the next flush. */
  private readonly _closing = new Set<HubClient>()
  private _scheduled = false
  private _waiters: (() => void)[] = []
  private _closedWaiters: (() => void)[] = []

  /**
   * @param _commit - Commits the staged writes: called first in every flush, so
   *   the acks and broadcasts of a synchronous commit join this tick's frames.
   */
  constructor(
    private readonly _options: _ResolvedSyncOptions,
    private readonly _subscriptions: _SubscriptionIndex<HubClient>,
    private readonly _commit: () => void,
  ) {}

  /** Queues one envelope for a connection (dropped once it is closing). */
  send(client: HubClient, text: string): void {
    if (client.closed) return
    client.outbox.push(text)
    this._queue(client)
    this._checkBacklog(client)
    this.schedule()
  }

  /** Sends one envelope to several connections, serialized once (a presence fan-out). */
  sendShared(clients: readonly HubClient[], text: string): void {
    let shared: SharedFrame | undefined
    for (const client of clients) {
      if (client.closed) continue
      shared ??= new SharedFrame(text)
      client.outbox.push(shared)
      this._queue(client)
      this._checkBacklog(client)
    }
    if (shared) this.schedule()
  }

  /**
   * Sends a `change` or `gone` (its version 1 text, or what makes it) to every subscriber of
   * the entity but its writer (if it is connected here). Version 2 and 3
   * connections get its compact form (version 3's short change when it has
   * one), naming the entity by the handle it has on each: one shared frame
   * per distinct handle and form, rendered by `render` when the write path
   * made it, else from the version 1 text.
   */
  broadcast(
    resource: string,
    id: string,
    sender: HubClient | undefined,
    text: string | (() => string),
    render?: CompactRender | undefined,
  ): void {
    // The version 1 text, made at its first use.
    let v1 = typeof text === 'string' ? text : undefined
    const textOf = (): string => {
      v1 ??= (text as () => string)()
      return v1
    }
    let shared: SharedFrame | undefined
    // The compact frames by reference (version 3's by `~` + reference): the
    // first one alone, a map from the second on.
    let firstRef: string | undefined
    let firstShort = false
    let first: SharedFrame | undefined
    let compact: Map<string, SharedFrame> | undefined
    this._subscriptions.forEach(resource, id, client => {
      if (client === sender || client.closed) return
      let frame: SharedFrame
      const { wire } = client
      const version = wire.version
      if (version < 2) frame = shared ??= new SharedFrame(textOf())
      else {
        render ??= compactBroadcast(textOf())
        // Going before an answer still to come, the change may be read before
        // a snap queued after that answer gave the handle: then it names the entity.
        const short = version >= 3
        const ref = wire.entityRef(resource, id, client.outbox.hasOpenSlot(resource, id))
        let known = ref === firstRef && short === firstShort ? first : compact?.get(short ? `~${ref}` : ref)
        if (!known) {
          known = new SharedFrame(render(ref, short))
          if (first === undefined) {
            firstRef = ref
            firstShort = short
            first = known
          } else {
            compact ??= new Map()
            compact.set(short ? `~${ref}` : ref, known)
          }
        }
        frame = known
      }
      client.outbox.pushChange(frame, resource, id)
      this._queue(client)
      this._checkBacklog(client)
    })
    if (shared || first) this.schedule()
  }

  /** Turns a write's outcome into its answer, in the writer's outbox. */
  answer(task: _WriteTask, outcome: _WriteOutcome): void {
    const { msg, client } = task
    switch (outcome.kind) {
      case 'staged':
        // Keeps the place of the answer: answers leave in the order the envelopes came in.
        task.slot ??= client.closed
          ? { texts: [], open: true, entity: outcome.entity, detached: true }
          : client.outbox.reserve(outcome.entity)
        this.schedule()
        return
      case 'ack': {
        const conflicts = outcome.conflicts?.length ? outcome.conflicts.map(encodedConflict) : undefined
        this._answer(task, client.wire.ack(msg.op, outcome.rev, outcome.applied, conflicts), true)
        return
      }
      case 'offered':
        // Not the answer to a `sub`: it gives no handle.
        this._answer(task, client.wire.entitySnap(msg.r, msg.id, outcome.rev, outcome.value, false), false)
        this._answer(task, client.wire.ack(msg.op, outcome.rev, false), true)
        return
      case 'reject':
        this._answer(task, encodeReject({ op: msg.op }, outcome.code, outcome.message, outcome.issues), true)
        return
      case 'close':
        client.close(outcome.code, outcome.reason)
        return
      case 'dropped':
        return
    }
  }

  /** A connection started closing (or its close may go now): close it at the next flush. */
  closing(client: HubClient): void {
    this._closing.delete(client)
    this._closing.add(client)
    this.schedule()
  }

  /** A connection is gone: nothing more is sent to it. */
  forget(client: HubClient): void {
    client._flushQueued = false
    this._closing.delete(client)
    if (this._closedWaiters.length > 0) this.schedule()
  }

  /** Flushes soon (once per tick however often it is asked). */
  schedule(): void {
    if (this._scheduled) return
    this._scheduled = true
    this._options.timers.setImmediate(this._deferredFlush)
  }

  /** Resolves once no connection is closing any more (each was closed after its answers, or gave up waiting). */
  allClosed(): Promise<void> {
    if (this._closing.size === 0) return Promise.resolve()
    this.schedule()
    return new Promise(resolve => this._closedWaiters.push(resolve))
  }

  /** Resolves after the next flush (commit and send). */
  nextFlush(): Promise<void> {
    this.schedule()
    return new Promise(resolve => this._waiters.push(resolve))
  }

  /** Commits what is staged, sends what is ready, closes what is closing. */
  flush(): void {
    this._scheduled = false
    this._commit()
    // By index: a connection queued during the loop is sent in it too.
    const dirty = this._dirty
    for (let i = 0; i < dirty.length; i++) {
      const client = dirty[i] as HubClient
      if (!client._flushQueued) continue
      client._flushQueued = false
      this._sendNow(client)
    }
    dirty.length = 0
    for (const client of this._closing) {
      this._sendNow(client)
      const state = client.state
      if (state.kind === 'closing' && state.waitForAnswers && client.outbox.waiting) continue
      this._closing.delete(client)
      try {
        client.closeTransport()
      } catch (error) {
        this._options.logger.error(`lensync hub: closing connection ${client.connection.id} failed`, error)
      }
    }
    if (this._waiters.length > 0) {
      const waiters = this._waiters
      this._waiters = []
      for (const resolve of waiters) resolve()
    }
    if (this._closing.size === 0 && this._closedWaiters.length > 0) {
      const closed = this._closedWaiters
      this._closedWaiters = []
      for (const resolve of closed) resolve()
    }
  }

  /** The flush run from `setImmediate`: nothing thrown there may end the process. */
  private readonly _deferredFlush = (): void => {
    try {
      this.flush()
    } catch (error) {
      // flush guards each connection; this is a bug in the hub itself.
      this._scheduled = false
      this._options.logger.error('lensync hub: a flush failed', error)
    }
  }

  /** Puts a connection on the list of those the next flush sends to (once). */
  private _queue(client: HubClient): void {
    if (client._flushQueued) return
    client._flushQueued = true
    this._dirty.push(client)
  }

  /** Answers a write: into its slot when it has one (it was staged), else at the end of the outbox. */
  private _answer(task: _WriteTask, text: string, final: boolean): void {
    const { slot, client } = task
    if (!slot?.open) {
      this.send(client, text)
      return
    }
    client.outbox.fill(slot, text, final)
    this._queue(client)
    this._checkBacklog(client)
    this.schedule()
  }

  /**
   * Bounds what one connection can make the server hold: what its outbox
   * queues plus what its socket has not sent yet. Past `maxBufferedBytes`
   * the client is not reading (or asks for more than it reads): its queue is
   * dropped and it is closed with 1013, like any slow consumer, before a
   * single frame or string can grow without limit.
   */
  private _checkBacklog(client: HubClient): void {
    const queued = client.outbox.chars + (client.connection.bufferedAmount?.() ?? 0)
    if (queued <= this._options.maxBufferedBytes || client.state.kind === 'gone') return
    this._options.logger.warn?.(
      `lensync hub: connection ${client.connection.id} has ${queued} bytes unsent (maxBufferedBytes ${this._options.maxBufferedBytes}); closing 1013 as a slow consumer`,
    )
    // Already closing for another reason: the slow consumer's close replaces it, without waiting.
    client.closeNow(CloseCodes.TRY_AGAIN_LATER, 'Slow consumer')
  }

  /**
   * Sends what is ready for one connection. An exception here (a transport
   * that throws, a bug) concerns this connection only: it is logged and the
   * connection is closed with 1011; the others, and the process, go on.
   */
  private _sendNow(client: HubClient): void {
    if (client.state.kind === 'gone') return
    try {
      const { connection, outbox } = client
      // One envelope ready (a fan-out's usual case): sent without a list of frames.
      const only = outbox.takeOnly()
      if (only !== undefined) {
        sendFrame(connection, only)
        return
      }
      for (const frame of outbox.take(this._options.maxOutgoingFrameBytes)) sendFrame(connection, frame)
    } catch (error) {
      this._options.logger.error(`lensync hub: sending to connection ${client.connection.id} failed`, error)
      client.outbox.clear()
      client.close(CloseCodes.INTERNAL_ERROR, 'Internal server error')
    }
  }
}

/** Writes one frame: a shared one through the transport's cache when it has one. */
function sendFrame(connection: HubClient['connection'], frame: SharedFrame | string): void {
  if (typeof frame === 'string') connection.send(frame)
  else if (connection.sendShared) connection.sendShared(frame)
  else connection.send(frame.text)
}

/** A conflict as the ack carries it; the other write's revision is known by the time the ack is sent. */
function encodedConflict(conflict: WriteConflict): EncodedConflict {
  const { path, stamp, theirs, applied } = conflict
  return { path, rev: stamp.rev, by: stamp.by, theirs, applied }
}
