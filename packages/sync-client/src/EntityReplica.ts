import type { FieldPath, OpId } from '@lensync/protocol'
import {
  applyFieldChanges,
  diffFields,
  type FieldChange,
  isPlainObject,
  setIn,
  unsetIn,
} from '@lensync/protocol'

/** One pending local field edit. `op` is the in-flight write carrying it, or `undefined` when not sent yet. */
interface PendingEdit {
  path: FieldPath
  value: unknown
  unset: boolean
  op: OpId | undefined
}

/** What a replica wants to send next (values still decoded; the caller encodes them). */
export type OutgoingWrite =
  | { kind: 'put'; value: unknown; create: boolean }
  | { kind: 'patch'; set: FieldChange[]; unset: FieldPath[] }
  | { kind: 'del' }

const pathKey = (path: FieldPath): string => path.join('\u0000')

function isPrefix(prefix: FieldPath, path: FieldPath): boolean {
  if (prefix.length > path.length) return false
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false
  return true
}

/**
 * The client's model of one entity (docs/protocol.md, "The client's model"):
 * the last value known to be on the server (`confirmed`, `rev`) and the local
 * field edits not yet acknowledged (`pending`), coalesced per field.
 * What the store shows is `confirmed ⊕ pending`.
 *
 * Pure bookkeeping: no I/O, no signals. The sync channels drive it.
 *
 * @internal
 */
export class EntityReplica {
  /** The last value known to be on the server; `undefined` while unknown or absent. */
  confirmed: unknown = undefined
  /** The server revision of `confirmed` (0: never seen). */
  rev = 0
  /** `true` exists on the server, `false` known absent (or deleted), `undefined` not known yet. */
  exists: boolean | undefined = undefined
  /** Base used while the server has no such entity: the local value (the offer). */
  private offer: unknown
  /** A whole-value write is needed (entity absent on the server, or the root was replaced). */
  private needsPut = false
  /** Create-only put: an offer, applied only if the server has no such entity. */
  private createOnly = true
  private putOp: OpId | undefined = undefined
  /** A local delete waiting to be sent or acknowledged. */
  deleted = false
  private delOp: OpId | undefined = undefined
  private readonly pending = new Map<string, PendingEdit>()

  /**
   * @param id - The entity id.
   * @param initial - The local value when the sync started: an offer, not an edit.
   * @param origin - `offer`: a local value (created on the server only if absent);
   *   `added`: a local value added while the server's state is unknown — an offer
   *   too, but counted as pending, since the user made it;
   *   `remote`: first heard of from the server (nothing to send).
   */
  constructor(
    readonly id: string,
    initial: unknown,
    readonly origin: 'offer' | 'added' | 'remote' = 'offer',
  ) {
    this.offer = initial
    if (origin === 'remote') this.exists = false
    if (origin === 'added') this.needsPut = true
  }

  /** Number of local changes not yet acknowledged. */
  get pendingCount(): number {
    return this.pending.size + (this.needsPut && this.pending.size === 0 ? 1 : 0) + (this.deleted ? 1 : 0)
  }

  /** True when something is waiting to be sent (not merely waiting for an ack). */
  get hasUnsent(): boolean {
    if (this.exists === undefined) return false
    if (this.deleted) return this.delOp === undefined
    if (this.needsPut) return this.putOp === undefined
    for (const edit of this.pending.values()) if (edit.op === undefined) return true
    return false
  }

  // While the server has no such entity, or a whole-value replacement is on
  // its way, the local value is the base; otherwise the server's value is.
  private get base(): unknown {
    return this.exists !== true || (this.needsPut && !this.createOnly) ? this.offer : this.confirmed
  }

  /** What the store should show: confirmed (or the offer) with pending edits on top. */
  view(): unknown {
    let base = this.base
    for (const edit of this.pending.values()) {
      base = edit.unset ? unsetIn(base, edit.path) : setIn(base, edit.path, edit.value)
    }
    return base
  }

  /**
   * Records a local change from `before` (what the store showed) to `after`.
   * @returns true when anything changed.
   */
  localEdit(before: unknown, after: unknown): boolean {
    const diff = diffFields(before, after)
    if (diff.set.length === 0 && diff.unset.length === 0) return false
    for (const [path, value] of diff.set) {
      if (path.length === 0 || !isPlainObject(after)) {
        // The root itself was replaced: send the whole value.
        this.pending.clear()
        this.offer = after
        this.needsPut = true
        this.createOnly = false
        this.putOp = undefined
        return true
      }
      this.addEdit(path, value, false)
    }
    for (const path of diff.unset) this.addEdit(path, undefined, true)
    if (this.exists === false && !this.needsPut) {
      this.needsPut = true
      this.putOp = undefined
    }
    return true
  }

  private addEdit(path: FieldPath, value: unknown, unset: boolean): void {
    // A pending ancestor absorbs the edit, so one field is never both a whole
    // value and a separate patch (the order of the two would matter).
    for (const edit of this.pending.values()) {
      if (edit.path.length < path.length && isPrefix(edit.path, path) && !edit.unset) {
        const rest = path.slice(edit.path.length)
        edit.value = unset ? unsetIn(edit.value, rest) : setIn(edit.value, rest, value)
        edit.op = undefined
        return
      }
    }
    for (const [key, edit] of this.pending) {
      if (edit.path.length > path.length && isPrefix(path, edit.path)) this.pending.delete(key)
    }
    const key = pathKey(path)
    this.pending.delete(key) // re-insert: pending keeps edit order
    this.pending.set(key, { path, value, unset, op: undefined })
  }

  /** Marks the entity deleted locally. */
  localDelete(): void {
    this.deleted = true
    this.delOp = undefined
  }

  /**
   * Takes what must be sent now and tags it with `op`.
   * @returns The write, or `undefined` when nothing is unsent.
   */
  takeOutgoing(op: OpId): OutgoingWrite | undefined {
    if (!this.hasUnsent) return undefined
    if (this.deleted) {
      this.delOp = op
      return { kind: 'del' }
    }
    if (this.needsPut || this.exists === false) {
      this.needsPut = true
      this.putOp = op
      for (const edit of this.pending.values()) edit.op = op
      return { kind: 'put', value: this.view(), create: this.createOnly }
    }
    const set: FieldChange[] = []
    const unset: FieldPath[] = []
    for (const edit of this.pending.values()) {
      if (edit.op !== undefined) continue
      edit.op = op
      if (edit.unset) unset.push(edit.path)
      else set.push([edit.path, edit.value])
    }
    return { kind: 'patch', set, unset }
  }

  /** Whether `op` is a write of this replica still waiting for its answer. */
  owns(op: OpId): boolean {
    if (this.putOp === op || this.delOp === op) return true
    for (const edit of this.pending.values()) if (edit.op === op) return true
    return false
  }

  /** Forgets in-flight ops (the connection dropped): everything pending is unsent again. */
  resetInFlight(): void {
    this.putOp = undefined
    this.delOp = undefined
    for (const edit of this.pending.values()) edit.op = undefined
  }

  /** The server's current value (`null`: absent). */
  applySnapshot(value: unknown, rev: number, present: boolean): void {
    if (!present) {
      if (this.exists === true) this.offer = this.base
      this.exists = false
      this.rev = rev
      this.confirmed = undefined
      if (!this.deleted) {
        this.needsPut = true
        this.putOp = undefined
      } else {
        // Deleting something that is already gone: done.
        this.deleted = false
        this.delOp = undefined
      }
      return
    }
    // An older snapshot (e.g. answering a create that raced a change this
    // client already has) must not take the confirmed value back in time.
    if (this.exists !== true || rev >= this.rev) {
      this.confirmed = value
      this.rev = rev
    }
    this.exists = true
    if (this.needsPut && this.createOnly) {
      // The offer lost: the server's value wins, later edits stay pending.
      this.needsPut = false
      this.putOp = undefined
    }
    // A whole-value replacement still to go keeps its value: the offer is what it sends.
    if (!this.needsPut) this.offer = undefined
  }

  /**
   * A remote change. Values are decoded.
   * @returns false when it was stale (rev not newer) and ignored.
   */
  applyChange(rev: number, change: { value?: unknown; set?: FieldChange[]; unset?: FieldPath[] }): boolean {
    if (rev <= this.rev) return false
    this.rev = rev
    if ('value' in change && change.set === undefined) {
      this.confirmed = change.value
    } else {
      this.confirmed = applyFieldChanges(this.confirmed, change.set ?? [], change.unset ?? [])
    }
    if (this.exists !== true) {
      this.exists = true
      if (this.needsPut && this.createOnly) {
        this.needsPut = false
        this.putOp = undefined
      }
      if (!this.needsPut) this.offer = undefined
    }
    return true
  }

  /** A remote delete. @returns false when stale. */
  applyGone(rev: number): boolean {
    if (rev <= this.rev) return false
    this.offer = this.view()
    this.pending.clear()
    this.rev = rev
    this.exists = false
    this.confirmed = undefined
    this.needsPut = false
    this.createOnly = true
    this.putOp = undefined
    if (this.deleted) {
      this.deleted = false
      this.delOp = undefined
    }
    return true
  }

  /**
   * An acknowledgement of `op`. @returns true when the op was this replica's.
   */
  applyAck(op: OpId, rev: number, applied: boolean): boolean {
    if (this.deleted && this.delOp === op) {
      this.deleted = false
      this.delOp = undefined
      this.exists = false
      this.confirmed = undefined
      this.pending.clear()
      this.rev = Math.max(this.rev, rev)
      return true
    }
    if (this.needsPut && this.putOp === op) {
      this.needsPut = false
      this.putOp = undefined
      if (applied) {
        this.confirmed = this.acknowledgedView(op)
        this.exists = true
        this.offer = undefined
        this.rev = Math.max(this.rev, rev)
        for (const [key, edit] of this.pending) if (edit.op === op) this.pending.delete(key)
      } else {
        // A create found the entity: the snap before this ack holds the
        // server's value (a sync no longer subscribed to the id gets none);
        // edits carried by the put must go again as a patch.
        this.exists = true
        this.offer = undefined
        for (const edit of this.pending.values()) if (edit.op === op) edit.op = undefined
      }
      this.createOnly = false
      return true
    }
    let mine = false
    let confirmed = this.confirmed
    for (const [key, edit] of this.pending) {
      if (edit.op !== op) continue
      mine = true
      confirmed = edit.unset ? unsetIn(confirmed, edit.path) : setIn(confirmed, edit.path, edit.value)
      this.pending.delete(key)
    }
    if (mine) {
      this.confirmed = confirmed
      this.rev = Math.max(this.rev, rev)
    }
    return mine
  }

  // The value the server stored for a whole-value put `op`: the base and the
  // edits carried by that op (edits made after it are still pending).
  private acknowledgedView(op: OpId): unknown {
    let base = this.offer
    for (const edit of this.pending.values()) {
      if (edit.op !== op) continue
      base = edit.unset ? unsetIn(base, edit.path) : setIn(base, edit.path, edit.value)
    }
    return base
  }

  /** A rejected write: its fields revert to the confirmed value. @returns true when the op was this replica's. */
  applyReject(op: OpId): boolean {
    if (this.deleted && this.delOp === op) {
      this.deleted = false
      this.delOp = undefined
      return true
    }
    if (this.needsPut && this.putOp === op) {
      this.needsPut = false
      this.putOp = undefined
      for (const [key, edit] of this.pending) if (edit.op === op) this.pending.delete(key)
      if (this.exists !== true) this.offer = this.confirmed ?? this.offer
      return true
    }
    let mine = false
    for (const [key, edit] of this.pending) {
      if (edit.op !== op) continue
      mine = true
      this.pending.delete(key)
    }
    return mine
  }

  /**
   * A write refused for a passing reason (`RATE_LIMITED`): its changes become
   * unsent again, nothing reverts, so the next push carries them.
   * @returns true when the op was this replica's.
   */
  unsend(op: OpId): boolean {
    let mine = false
    if (this.deleted && this.delOp === op) {
      this.delOp = undefined
      mine = true
    }
    if (this.needsPut && this.putOp === op) {
      this.putOp = undefined
      mine = true
    }
    for (const edit of this.pending.values()) {
      if (edit.op !== op) continue
      edit.op = undefined
      mine = true
    }
    return mine
  }

  /** The server says the entity does not exist (a patch was refused): send the whole value instead. */
  markMissing(op: OpId): boolean {
    let mine = false
    for (const edit of this.pending.values()) {
      if (edit.op === op) {
        edit.op = undefined
        mine = true
      }
    }
    if (!mine) return false
    this.offer = this.base
    this.exists = false
    this.confirmed = undefined
    this.needsPut = true
    this.createOnly = true
    this.putOp = undefined
    return true
  }
}
