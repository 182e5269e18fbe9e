import type { FieldPath, OpId } from '@lensync/protocol'
import { applyFieldChanges, type FieldChange, isPlainObject, setIn, unsetIn } from '@lensync/protocol'
import { diffEdit } from './diffEdit.ts'
import { applyEdits, type FieldEdit, FieldOutbox, overlaps } from './FieldOutbox.ts'
import type { LocalIntent, OutboxWrite, ServerState, WriteContent, WriteStamp } from './replicaState.ts'

const pathKey = (path: FieldPath): string => path.join('\u0000')
const foreignKey = (client: string, op: OpId): string => `${client}\u0000${op}`

/**
 * A write of another client shown by a replica: its client and op, and its content.
 *
 * @internal
 */
export interface ForeignWrite extends WriteStamp {
  readonly content: WriteContent
  /** Acknowledged at this revision: shown until this replica's value is that new. */
  landed?: number
}
const NONE: LocalIntent = { kind: 'none' }

/**
 * Counts the changes made to the replicas of one sync that may change what
 * they show (their view): a sync compares readings to know whether its
 * store still shows every replica's view, so a remote change can be shown
 * by setting its own paths instead of diffing the whole view.
 *
 * @internal
 */
export interface ReplicaClock {
  changes: number
}

/**
 * A field of a write the server did not apply (a `'keep-theirs'` conflict):
 * its path and the value it keeps (the other client's; absent: removed).
 *
 * @internal
 */
export interface KeptField {
  readonly path: FieldPath
  readonly theirs: { readonly value: unknown } | undefined
}

function keepTheirs(value: unknown, kept: readonly KeptField[]): unknown {
  let result = value
  for (const { path, theirs } of kept)
    result = theirs
      ? path.length === 0
        ? theirs.value
        : setIn(result, path, theirs.value)
      : unsetIn(result, path)
  return result
}

/**
 * The client's model of one entity (docs/protocol.md, "The client's model"),
 * as a state machine of three parts:
 * - {@link server}: what is known of the server side (unknown / absent / present with the confirmed value);
 * - {@link intent}: what the local side still means to do with the whole entity
 *   (none / keep / create an offer / put / delete);
 * - the outbox: field edits not sent yet ({@link draft}, coalesced per field),
 *   and the writes sent and not answered yet ({@link inFlight}, oldest first,
 *   each with its op and fixed content).
 *
 * What the store shows is the server's value with the writes in flight, the
 * intent and the draft on top. Pure bookkeeping: no I/O, no signals; the
 * sync channels drive it.
 *
 * @internal
 */
export class EntityReplica {
  /** What is known of the entity on the server. */
  server: ServerState
  /** What the local side still means to do with the whole entity. */
  intent: LocalIntent
  /** Field edits not sent yet. */
  readonly draft = new FieldOutbox()
  /** Writes sent and not answered yet, oldest first. */
  readonly inFlight: OutboxWrite[] = []
  /**
   * Writes of other clients (other tabs, an earlier page) not acknowledged
   * yet, keyed by client and op: shown beneath this replica's own, never
   * sent by it.
   */
  readonly foreign = new Map<string, ForeignWrite>()
  /**
   * Fields whose last write the server refused, by path key: `rejected` in
   * {@link fieldState} until the next local edit of the field.
   */
  readonly rejected = new Map<string, FieldPath>()
  /** The revision this replica had confirmed when the first edit of the next write was made. */
  private draftBase: number | undefined = undefined
  /** The client and op id of the next write (the draft's), once something is to be sent. */
  private nextStamp: WriteStamp | undefined = undefined
  /** The server state came from a cache: the first snapshot replaces it, whatever its revision. */
  private fromCache = false

  /**
   * @param id - The entity id.
   * @param initial - The local value when the sync started.
   * @param origin - `offer`: the value a sync started with (created on the
   *   server only if absent); `added`: a value the user added while the
   *   server's state is unknown (an offer too, but pending, since the user made
   *   it); `remote`: first heard of from the server (nothing to send).
   * @param newStamp - Makes the client and op id of a new write.
   * @param clock - Counts this replica's changes of what it shows (shared by the replicas of a sync).
   */
  constructor(
    readonly id: string,
    initial: unknown,
    origin: 'offer' | 'added' | 'remote',
    private readonly newStamp: () => WriteStamp,
    private readonly clock: ReplicaClock = { changes: 0 },
  ) {
    if (origin === 'remote') {
      this.server = { kind: 'absent', rev: 0 }
      this.intent = NONE
    } else {
      this.server = { kind: 'unknown' }
      this.intent = { kind: 'create', offer: initial, userMade: origin === 'added' }
    }
  }

  /** The server revision known (0: none). */
  get rev(): number {
    return this.server.kind === 'unknown' ? 0 : this.server.rev
  }

  /** The last value known to be on the server; `undefined` while unknown or absent. */
  get confirmed(): unknown {
    return this.server.kind === 'present' ? this.server.value : undefined
  }

  /** A local delete is waiting to be sent or answered. */
  get deleting(): boolean {
    if (this.intent.kind === 'delete') return true
    for (const write of this.inFlight) if (write.kind === 'del') return true
    return false
  }

  /**
   * Whether nothing is shown on top of the confirmed value (no write of this
   * or another client, no intent, no draft): the view is the confirmed value.
   */
  get bare(): boolean {
    return (
      this.intent.kind === 'none' &&
      this.inFlight.length === 0 &&
      this.draft.size === 0 &&
      this.foreign.size === 0
    )
  }

  /**
   * Whether a remote field change would change the view only at its own
   * paths (and below, and the objects above them): the entity is present and
   * no write of another client is shown, whose showing could end with the
   * new revision. Field edits on top change the view at their paths alone,
   * and a whole value on top hides the confirmed value whatever it is.
   */
  get followsFieldChanges(): boolean {
    return this.server.kind === 'present' && this.foreign.size === 0
  }

  // Something that may change the view changed.
  private touched(): void {
    this.clock.changes++
  }

  /**
   * The client and op id the next write of this entity will carry: taken
   * when a local change makes one (so a cache can queue the edit under it at
   * once), kept while further edits are coalesced into it, fixed once sent.
   */
  get draftStamp(): WriteStamp | undefined {
    return this.nextStamp
  }

  /**
   * The stamp of the next write, taken now if not yet: a cache queues the
   * open write under it (e.g. the starting offer, before it is known to be needed).
   */
  reserve(): WriteStamp {
    this.nextStamp ??= this.newStamp()
    return this.nextStamp
  }

  /** Whether a write of this entity was sent and not yet answered (the server may hold it already). */
  get awaitingAnswer(): boolean {
    return this.inFlight.length > 0
  }

  /** Whether the user added this entity before anything was known or sent of it. */
  get addedUnseen(): boolean {
    return (
      this.server.kind === 'unknown' &&
      this.inFlight.length === 0 &&
      this.intent.kind === 'create' &&
      this.intent.userMade
    )
  }

  /**
   * Number of local changes not yet acknowledged: fields, plus whole values
   * and deletions without fields, plus one per write of another client shown.
   */
  get pendingCount(): number {
    if (this.foreign.size === 0) return this.ownPendingCount
    let foreign = 0
    for (const write of this.foreign.values()) if (write.landed === undefined) foreign++
    return this.ownPendingCount + foreign
  }

  /** Whether a write of another client shown here deletes the entity. */
  get foreignDeleting(): boolean {
    if (this.foreign.size === 0) return false
    for (const write of this.shownForeign()) if (write.content.kind === 'del') return true
    return false
  }

  /** Whether writes of other clients are shown (pending, or landed and not yet in this replica's value). */
  get showsForeign(): boolean {
    if (this.foreign.size === 0) return false
    for (const _ of this.shownForeign()) return true
    return false
  }

  // Another client (tab, earlier page) has a whole value of this entity on its way: it makes it, not this replica.
  private get othersCreate(): boolean {
    for (const write of this.shownForeign()) if (write.content.kind === 'put') return true
    return false
  }

  // Writes of other clients still shown: a landed one until this replica's value is as new.
  private *shownForeign(): Iterable<ForeignWrite> {
    for (const write of this.foreign.values())
      if (write.landed === undefined || write.landed > this.rev) yield write
  }

  private get ownPendingCount(): number {
    if (this.inFlight.length === 0 && this.intent.kind === 'none') return this.draft.size
    const fields = new Set<string>()
    let whole = false
    let deletion = false
    for (const write of this.inFlight) {
      if (write.kind === 'del') deletion = true
      else {
        if (write.kind === 'put') whole = true
        for (const edit of write.edits) fields.add(pathKey(edit.path))
      }
    }
    const intent = this.intent
    if (
      intent.kind === 'put' ||
      (intent.kind === 'create' && (intent.userMade || this.server.kind === 'absent'))
    )
      whole = true
    if (intent.kind === 'delete') deletion = true
    for (const edit of this.draft.values()) fields.add(pathKey(edit.path))
    return fields.size + (whole && fields.size === 0 ? 1 : 0) + (deletion ? 1 : 0)
  }

  /** True when something is waiting to be sent (not merely waiting for an answer). */
  get hasUnsent(): boolean {
    if (this.server.kind === 'unknown') return false
    let resent = false
    for (const write of this.inFlight) {
      if (!write.onWire) return true
      if (write.resent) resent = true
    }
    // Newer writes wait until the writes sent again after a reconnect were
    // answered: they must land after them, whatever the server's lookup of
    // writes it already applied costs.
    if (resent) return false
    const intent = this.intent.kind
    if (intent === 'delete' || intent === 'put') return true
    // A create goes once the earlier writes were answered: they may still tell that the entity exists.
    if (intent === 'create') return this.server.kind === 'absent' && this.inFlight.length === 0
    return intent === 'none' && this.server.kind === 'present' && this.draft.size > 0
  }

  /** What the store should show: the server's value with the writes in flight, the intent and the draft on top. */
  view(): unknown {
    if (this.bare) return this.confirmed
    return applyEdits(this.baseView(), this.draft.values())
  }

  // What the store shows beneath the draft: the base the draft's edits apply to.
  private baseView(): unknown {
    const present = this.server.kind === 'present'
    let value = this.confirmed
    let replaced = false
    for (const { content } of this.shownForeign()) {
      if (content.kind === 'patch') value = applyEdits(value, content.edits)
      else if (content.kind === 'put') {
        value = applyEdits(content.create && present ? value : content.base, content.edits)
        replaced = true
      }
    }
    for (const write of this.inFlight) {
      if (write.kind === 'patch') value = applyEdits(value, write.edits)
      else if (write.kind === 'put')
        value = applyEdits(write.create && present ? value : write.base, write.edits)
    }
    const intent = this.intent
    if (intent.kind === 'keep' || intent.kind === 'put') return intent.value
    // Another client's value of an entity the server does not have yet
    // supersedes the value this sync merely started with.
    if (intent.kind === 'create' && !present && (intent.userMade || !replaced)) return intent.offer
    return value
  }

  /**
   * Shows a write of another client (another tab, an earlier page) until it
   * is acknowledged ({@link hideForeign}). The value this sync merely started
   * with is then no offer: that client's write decides.
   */
  showForeign(write: ForeignWrite): void {
    this.foreign.set(foreignKey(write.client, write.op), write)
    if (this.intent.kind === 'create' && !this.intent.userMade && write.content.kind === 'put')
      this.intent = NONE
    this.touched()
  }

  /**
   * A write of another client was acknowledged: without `rev` it is no
   * longer shown; with it, it is shown until this replica's value is at
   * least that new (so the view does not step back while the server's
   * change is on its way). It no longer counts as pending.
   * @returns true when it was shown.
   */
  hideForeign(client: string, op: number, rev?: number): boolean {
    const key = foreignKey(client, op)
    const write = this.foreign.get(key)
    if (!write) return false
    this.touched()
    if (rev === undefined || rev <= this.rev) this.foreign.delete(key)
    else write.landed = rev
    for (const [other, shown] of this.foreign)
      if (shown.landed !== undefined && shown.landed <= this.rev) this.foreign.delete(other)
    return true
  }

  /**
   * Takes the server state a cache kept, unless the server's is known
   * already. An entity the cache knows is not an offer: the value the sync
   * started with is dropped (field edits made since stay). The next snapshot
   * replaces it, whatever its revision.
   * @param value - The cached value, or `undefined` when the cache knows the entity is absent.
   * @returns true when taken.
   */
  loadCached(value: unknown, rev: number, present: boolean): boolean {
    if (this.server.kind !== 'unknown') return false
    this.touched()
    this.fromCache = true
    if (present) {
      this.server = { kind: 'present', rev, value }
      this.foundOnServer()
    } else {
      this.server = { kind: 'absent', rev }
    }
    return true
  }

  /**
   * The content the next new write would carry now (the intent and the
   * draft), without taking it: what a cache keeps under {@link draftStamp}
   * while edits are coalesced into it. `undefined` when nothing waits.
   */
  openContent(): WriteContent | undefined {
    const intent = this.intent
    const edits = [...this.draft.values()]
    switch (intent.kind) {
      case 'keep':
        return undefined
      case 'delete':
        return { kind: 'del' }
      case 'put':
        return { kind: 'put', base: intent.value, edits, create: false }
      case 'create':
        if (!intent.userMade && edits.length === 0 && this.server.kind !== 'absent') return undefined
        return { kind: 'put', base: intent.offer, edits, create: true }
      case 'none':
        return edits.length === 0 ? undefined : { kind: 'patch', edits }
    }
  }

  /**
   * Drops every local change and every write of another client shown (a
   * cache was cleared, e.g. on logout): nothing more is sent, answers to
   * writes in flight are ignored. The server state stays.
   */
  forget(): void {
    this.touched()
    this.draftBase = undefined
    this.draft.clear()
    this.intent = NONE
    this.inFlight.length = 0
    this.foreign.clear()
    this.nextStamp = undefined
  }

  /**
   * Records a local change from `before` (what the store showed) to `after`.
   * @returns true when anything changed.
   */
  localEdit(before: unknown, after: unknown): boolean {
    const diff = diffEdit(before, after)
    if (diff.set.length === 0 && diff.unset.length === 0) return false
    this.touched()
    this.draftBase ??= this.rev
    for (const [path] of diff.set) this.clearRejected(path)
    for (const path of diff.unset) this.clearRejected(path)
    if (!isPlainObject(after) || diff.set.some(([path]) => path.length === 0)) {
      // The root itself was replaced: send the whole value.
      this.rejected.clear()
      this.draft.clear()
      this.intent = { kind: 'put', value: after }
      this.reserve()
      return true
    }
    if (this.intent.kind === 'keep') {
      this.intent = { kind: 'create', offer: this.intent.value, userMade: true }
    } else if (this.intent.kind === 'none' && this.server.kind === 'absent') {
      this.intent = { kind: 'create', offer: this.baseView(), userMade: true }
    }
    for (const [path, value] of diff.set) this.draft.add({ path, value, unset: false })
    for (const path of diff.unset) this.draft.add({ path, value: undefined, unset: true })
    this.reserve()
    return true
  }

  /** Marks the entity deleted locally: unsent field edits are dropped. */
  localDelete(): void {
    this.touched()
    this.draft.clear()
    this.intent = { kind: 'delete' }
    this.reserve()
  }

  /**
   * The next write to send: one sent before the connection dropped (again,
   * with its op and content, in order), else a new one made from the intent
   * and the draft, under the draft's stamp.
   * @returns The write, now on the wire, or `undefined` when nothing is unsent.
   */
  nextWrite(): OutboxWrite | undefined {
    if (!this.hasUnsent) return undefined
    for (const write of this.inFlight) {
      if (write.onWire) continue
      write.onWire = true
      write.resent = true
      return write
    }
    const content = this.takeContent()
    if (!content) return undefined
    const { client, op } = this.reserve()
    const baseRev = this.draftBase ?? this.rev
    // Built field by field, every kind in one order of fields: on Node 20 an
    // object literal that spreads another one and adds properties costs
    // about a microsecond.
    const write: OutboxWrite =
      content.kind === 'patch'
        ? {
            kind: 'patch',
            edits: content.edits,
            client,
            op,
            onWire: true,
            resent: false,
            baseRev,
            wire: undefined,
            cached: undefined,
          }
        : content.kind === 'put'
          ? {
              kind: 'put',
              edits: content.edits,
              client,
              op,
              onWire: true,
              resent: false,
              baseRev: content.create ? undefined : baseRev,
              wire: undefined,
              cached: undefined,
              base: content.base,
              create: content.create,
            }
          : {
              kind: 'del',
              client,
              op,
              onWire: true,
              resent: false,
              baseRev: undefined,
              wire: undefined,
              cached: undefined,
            }
    this.draftBase = undefined
    this.nextStamp = undefined
    this.inFlight.push(write)
    return write
  }

  private takeContent(): WriteContent | undefined {
    const intent = this.intent
    switch (intent.kind) {
      case 'keep':
        return undefined
      case 'delete':
        this.intent = NONE
        this.draft.clear()
        return { kind: 'del' }
      case 'put':
        this.intent = NONE
        return { kind: 'put', base: intent.value, edits: this.draft.take(), create: false }
      case 'create':
        if (this.server.kind !== 'absent') return undefined
        this.intent = NONE
        return { kind: 'put', base: intent.offer, edits: this.draft.take(), create: true }
      case 'none':
        if (this.server.kind !== 'present' || this.draft.size === 0) return undefined
        return { kind: 'patch', edits: this.draft.take() }
    }
  }

  /** The connection dropped: every write in flight is sent again on the next one. */
  resetInFlight(): void {
    for (const write of this.inFlight) {
      write.onWire = false
      write.resent = false
    }
  }

  /** The server's current value, or that it has no such entity (`present: false`). */
  applySnapshot(value: unknown, rev: number, present: boolean): void {
    this.touched()
    const fromCache = this.fromCache
    this.fromCache = false
    if (!present) {
      // What was shown (beneath the draft) is offered back: the server lost
      // the entity, or never had it.
      const offer = this.baseView()
      this.server = { kind: 'absent', rev }
      const intent = this.intent.kind
      if (intent === 'delete') {
        // Deleting something that is already gone: done.
        this.intent = NONE
      } else if (intent === 'keep' || (intent === 'none' && !this.deleting && !this.othersCreate)) {
        this.intent = { kind: 'create', offer, userMade: true }
      }
      return
    }
    // An older snapshot (e.g. answering a create that raced a change this
    // client already has) must not take the confirmed value back in time.
    // A cached value is replaced by the server's, whatever its revision.
    if (this.server.kind !== 'present' || rev >= this.server.rev || fromCache)
      this.server = { kind: 'present', rev, value }
    this.foundOnServer()
  }

  // The entity exists: an offer lost (the server's value wins, the field
  // edits stay and patch it), a kept value is replaced.
  private foundOnServer(): void {
    if (this.intent.kind === 'create' || this.intent.kind === 'keep') this.intent = NONE
  }

  /**
   * A remote change. Values are decoded.
   * @returns false when it was stale (rev not newer) and ignored.
   */
  applyChange(rev: number, change: { value?: unknown; set?: FieldChange[]; unset?: FieldPath[] }): boolean {
    return this.applyValue(
      rev,
      'value' in change && change.set === undefined
        ? change.value
        : applyFieldChanges(this.confirmed, change.set ?? [], change.unset ?? []),
    )
  }

  /**
   * A remote change, as the entity's whole new value (a field change already
   * merged into {@link confirmed}). Values are decoded.
   * @returns false when it was stale (rev not newer) and ignored.
   */
  applyValue(rev: number, value: unknown): boolean {
    if (rev <= this.rev) return false
    this.touched()
    this.server = { kind: 'present', rev, value }
    this.foundOnServer()
    return true
  }

  /** A remote delete: the store keeps showing its value. @returns false when stale. */
  applyGone(rev: number): boolean {
    if (rev <= this.rev) return false
    this.touched()
    const shown = this.view()
    this.server = { kind: 'absent', rev }
    this.draft.clear()
    this.intent = { kind: 'keep', value: shown }
    return true
  }

  /** Removes the write `op` from the writes in flight. */
  private take(op: OpId): { write: OutboxWrite; index: number } | undefined {
    const index = this.inFlight.findIndex(write => write.op === op)
    if (index < 0) return undefined
    const [write] = this.inFlight.splice(index, 1) as [OutboxWrite]
    return { write, index }
  }

  /** Whether a write sent after position `index` replaces the whole value. */
  private replacedAfter(index: number): boolean {
    return this.inFlight.slice(index).some(write => write.kind !== 'patch')
  }

  /** The field edits of the writes sent after position `index`. */
  private editsAfter(index: number): FieldEdit[] {
    return this.inFlight.slice(index).flatMap(write => (write.kind === 'del' ? [] : write.edits))
  }

  /**
   * Puts edits of an answered write back into the draft, beneath newer
   * edits: a field a later write (in flight or in the draft) also sets keeps
   * the later value.
   */
  private requeue(edits: readonly FieldEdit[], index: number, baseRev?: number): void {
    if (this.replacedAfter(index)) return
    this.keepBase(baseRev)
    const later = this.editsAfter(index)
    this.draft.addUnder(edits.filter(edit => !later.some(other => overlaps(other.path, edit.path))))
  }

  // Edits going back to the draft keep the older of their base and the draft's.
  private keepBase(baseRev: number | undefined): void {
    if (baseRev !== undefined) this.draftBase = Math.min(this.draftBase ?? baseRev, baseRev)
  }

  /**
   * The entity revision this replica had confirmed when the first edit of
   * `write` was made (`base` on the wire: the server reports the fields
   * another client wrote after it). `undefined` for a create-only put, a
   * delete, and a write this replica did not make.
   */
  baseRevOf(write: OutboxWrite): number | undefined {
    return write.baseRev
  }

  /**
   * The base revision the open write (the intent and the draft, see
   * {@link openContent}) will be sent with, as a cache keeps it: the
   * revision confirmed when its first edit was made. `undefined` when the
   * open write is a create or a delete, or nothing is open.
   */
  get openBase(): number | undefined {
    const intent = this.intent.kind
    if (intent === 'put' || (intent === 'none' && this.draft.size > 0)) return this.draftBase ?? this.rev
    return undefined
  }

  /**
   * The fields of a shown write of another client that the server did not
   * apply (`'keep-theirs'` conflicts) show the value they keep there
   * (theirs) from now on, as the server stored it.
   */
  keepTheirsOfForeign(client: string, op: OpId, kept: readonly KeptField[]): void {
    const key = foreignKey(client, op)
    const write = this.foreign.get(key)
    if (!write || kept.length === 0) return
    this.touched()
    const content = write.content
    if (content.kind === 'del' || (content.kind === 'put' && content.create)) return
    const next: WriteContent =
      content.kind === 'put'
        ? {
            kind: 'put',
            base: keepTheirs(applyEdits(content.base, content.edits), kept),
            edits: [],
            create: false,
          }
        : {
            kind: 'patch',
            edits: content.edits.map(edit => {
              const field = kept.find(k => pathKey(k.path) === pathKey(edit.path))
              if (!field) return edit
              return field.theirs
                ? { path: edit.path, value: field.theirs.value, unset: false }
                : { path: edit.path, value: undefined, unset: true }
            }),
          }
    this.foreign.set(key, { ...write, content: next })
  }

  /** The write `op` in flight, if it is this replica's. */
  inFlightWrite(op: OpId): OutboxWrite | undefined {
    return this.inFlight.find(write => write.op === op)
  }

  /**
   * Adds the edit a conflict's merge function made, as a new edit of that
   * field seen on top of theirs: the next write's base is the acknowledged
   * revision `rev` (which includes theirs), so the merged value does not
   * conflict with it again.
   */
  mergeEdit(path: FieldPath, value: unknown, rev: number): void {
    this.touched()
    this.draft.add({ path, value, unset: false })
    this.draftBase = Math.max(this.rev, rev)
    this.clearRejected(path)
    this.reserve()
  }

  /**
   * An acknowledgement of `op`.
   * @param applied - `false`: the server changed nothing now: a create-only
   *   put that found the entity, or a write it had already applied (a resend
   *   after a lost ack; the snapshot since shows its effect or a later one).
   * @param kept - The fields of the write the server did not apply (`'keep-theirs'`
   *   conflicts), with the value they keep there: the confirmed value shows theirs.
   * @returns true when the op was this replica's.
   */
  applyAck(op: OpId, rev: number, applied: boolean, kept: readonly KeptField[] = []): boolean {
    const taken = this.take(op)
    if (!taken) return false
    this.touched()
    const { write, index } = taken
    if (!applied) {
      // A write applied before is dropped as it is: its values never go
      // into the confirmed value, which already is as new or newer.
      if (write.kind === 'put' && write.create) {
        // A create that found the entity: the snap just before this ack
        // holds the server's value at `rev` (a sync no longer subscribed to
        // the id gets none), and the edits the put carried go again, as a
        // patch. An ack older than the value this replica has is a resend
        // applied before and overwritten since: nothing goes again.
        const found = rev >= this.rev
        if (this.server.kind !== 'present')
          this.server = { kind: 'present', rev: Math.max(this.rev, rev), value: this.confirmed }
        this.foundOnServer()
        if (found) this.requeue(write.edits, index)
      }
      return true
    }
    // An ack not newer than what this replica has would take it back in time.
    if (rev <= this.rev) return true
    switch (write.kind) {
      case 'del':
        this.server = { kind: 'absent', rev }
        this.draft.clear()
        return true
      case 'put':
        this.server = { kind: 'present', rev, value: keepTheirs(applyEdits(write.base, write.edits), kept) }
        this.foundOnServer()
        return true
      case 'patch':
        this.server = {
          kind: 'present',
          rev,
          value: keepTheirs(applyEdits(this.confirmed, write.edits), kept),
        }
        return true
    }
  }

  /** A rejected write: its fields revert to the confirmed value. @returns true when the op was this replica's. */
  applyReject(op: OpId): boolean {
    const taken = this.take(op)
    if (!taken) return false
    this.touched()
    const refused = taken.write
    if (refused.kind === 'patch')
      for (const edit of refused.edits) this.rejected.set(pathKey(edit.path), edit.path)
    else this.rejected.set(pathKey([]), [])
    if (taken.write.kind === 'put' && this.server.kind !== 'present') {
      // Nothing on the server to revert to: the rejected value stays shown
      // and is not sent again (the edits on top of it go with it).
      this.draft.clear()
      if (this.intent.kind === 'none') this.intent = { kind: 'keep', value: taken.write.base }
    }
    return true
  }

  /**
   * A write refused for a passing reason (`RATE_LIMITED`): nothing reverts,
   * its changes go back to the outbox (beneath newer ones), so the next push
   * carries them again.
   * @returns true when the op was this replica's.
   */
  unsend(op: OpId): boolean {
    const taken = this.take(op)
    if (!taken) return false
    this.touched()
    const { write, index } = taken
    const intent = this.intent.kind
    if (write.kind === 'del') {
      if (intent === 'none') this.intent = { kind: 'delete' }
    } else if (write.kind === 'put') {
      if (intent === 'none' && !this.replacedAfter(index)) {
        this.keepBase(write.baseRev)
        this.intent = write.create
          ? { kind: 'create', offer: write.base, userMade: true }
          : { kind: 'put', value: write.base }
        this.draft.addUnder([...write.edits, ...this.editsAfter(index)])
      }
    } else if (intent === 'none' || intent === 'create') {
      this.requeue(write.edits, index, write.baseRev)
    }
    return true
  }

  /**
   * The server says the entity does not exist (`reject NOT_FOUND` of a
   * patch): the edits go as a create-only put of the last known value instead.
   * After a remote delete the patch is dropped: the delete wins.
   * @returns true when the op was this replica's patch.
   */
  markMissing(op: OpId): boolean {
    if (!this.inFlight.some(write => write.op === op && write.kind === 'patch')) return false
    const { write, index } = this.take(op) as { write: OutboxWrite & { kind: 'patch' }; index: number }
    this.touched()
    const intent = this.intent
    if (intent.kind === 'keep' || intent.kind === 'put' || intent.kind === 'delete') return true
    if (this.replacedAfter(index)) return true
    const base = this.confirmed
    this.server = { kind: 'absent', rev: this.rev }
    this.draft.addUnder([...write.edits, ...this.editsAfter(index)])
    if (intent.kind === 'none') this.intent = { kind: 'create', offer: base, userMade: true }
    return true
  }

  // A new edit of `path` ends the refusal of it and of what it covers.
  private clearRejected(path: FieldPath): void {
    for (const [key, rejected] of this.rejected) if (overlaps(path, rejected)) this.rejected.delete(key)
  }

  /**
   * The sync state of the field at `path` and everything below it:
   * `pending` while a local edit of it (or of a field above or below it) is
   * not acknowledged, `rejected` after the server refused the last write of
   * it (until the next edit), else `synced`.
   */
  fieldState(path: FieldPath): 'synced' | 'pending' | 'rejected' {
    const intent = this.intent.kind
    if (intent === 'put' || intent === 'delete') return 'pending'
    if (intent === 'create' && this.intent.kind === 'create' && this.intent.userMade) return 'pending'
    for (const write of this.inFlight) {
      if (write.kind !== 'patch') return 'pending'
      if (write.edits.some(edit => overlaps(edit.path, path))) return 'pending'
    }
    for (const edit of this.draft.values()) if (overlaps(edit.path, path)) return 'pending'
    for (const rejected of this.rejected.values()) if (overlaps(rejected, path)) return 'rejected'
    return 'synced'
  }
}
