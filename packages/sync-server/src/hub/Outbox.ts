import { SharedFrame } from './SharedFrame.ts'

/**
 * @internal
 * A place in an outbox kept for the answer to a write that is waiting for its
 * commit, so answers leave in the order the envelopes came in.
 */
export interface _Slot {
  readonly texts: string[]
  /** The entity the write is for (an ack must not overtake a change of a lower revision). */
  readonly entity: { readonly resource: string; readonly id: string }
  /** Whether the answer is still to come; an open slot holds back everything queued after it. */
  open: boolean
  /** Set on a slot made for a connection that was already closing: it is in no outbox. */
  readonly detached?: true
}

/**
 * @internal
 * What the hub queued for one connection. Flushed as frames of at most
 * `maxFrameChars` characters each: a single envelope as is (a shared one
 * stays shared), or JSON arrays of envelopes, up to the first slot still
 * waiting for its answer. It counts the characters it holds, so the hub can
 * bound a connection's memory by bytes, not by frames.
 */
export class _Outbox {
  /** What is queued (the shared empty list while nothing is). */
  private _items: (string | SharedFrame | _Slot)[] = NO_ITEMS
  private _chars = 0

  /** Characters of envelope text queued (answers in slots included). */
  get chars(): number {
    return this._chars
  }

  /** Whether an answer is still to come (a slot is open). */
  get waiting(): boolean {
    return this._items.some(item => typeof item !== 'string' && !(item instanceof SharedFrame) && item.open)
  }

  /** Queues an envelope's JSON text, or a shared envelope. */
  push(item: string | SharedFrame): void {
    if (this._items === NO_ITEMS) this._items = []
    this._items.push(item)
    this._chars += textOf(item).length
  }

  /**
   * Queues a committed change of an entity. A write of the same entity whose
   * answer is still open was committed after it (commits are sequential), so
   * the change goes before that write's slot: a connection receives the acks
   * and changes of one entity in revision order.
   */
  pushChange(item: SharedFrame, resource: string, id: string): void {
    this._chars += item.text.length
    const items = this._items
    for (let i = 0; i < items.length; i++) {
      const slot = items[i]
      if (typeof slot === 'string' || slot instanceof SharedFrame || !slot?.open) continue
      if (slot.entity.resource === resource && slot.entity.id === id) {
        items.splice(i, 0, item)
        return
      }
    }
    if (items === NO_ITEMS) this._items = [item]
    else items.push(item)
  }

  /** Whether an answer about the entity is still to come (a change of it would go before that answer). */
  hasOpenSlot(resource: string, id: string): boolean {
    for (const item of this._items)
      if (typeof item !== 'string' && !(item instanceof SharedFrame) && item.open)
        if (item.entity.resource === resource && item.entity.id === id) return true
    return false
  }

  /** Keeps a place for an answer that comes later. */
  reserve(entity: _Slot['entity']): _Slot {
    const slot: _Slot = { texts: [], open: true, entity }
    if (this._items === NO_ITEMS) this._items = []
    this._items.push(slot)
    return slot
  }

  /** Puts (part of) the answer into a slot of this outbox; `final` closes the slot. */
  fill(slot: _Slot, text: string, final: boolean): void {
    slot.texts.push(text)
    if (!slot.detached) this._chars += text.length
    if (final) slot.open = false
  }

  /**
   * Takes what can be sent: everything before the first open slot, cut into
   * frames of at most `maxFrameChars` characters (an envelope longer than
   * that goes alone), so no frame — and no string — grows with the backlog.
   *
   * A frame made only of shared envelopes is itself shared: the next outbox
   * holding the same envelopes in the same order gets the same frame, so a
   * tick's changes are joined and encoded once for all their subscribers.
   *
   * @returns The frames in order: shared (send it as is) or frame text; empty when nothing is ready.
   */
  take(maxFrameChars: number): (SharedFrame | string)[] {
    const only = this.takeOnly()
    if (only !== undefined) return [only]
    const items = this._items
    const parts: (string | SharedFrame)[] = []
    let taken = 0
    for (; taken < items.length; taken++) {
      const item = items[taken] as string | SharedFrame | _Slot
      if (typeof item === 'string' || item instanceof SharedFrame) parts.push(item)
      else if (item.open) break
      else for (const text of item.texts) parts.push(text)
    }
    if (taken === 0) return []
    this._items = taken === items.length ? NO_ITEMS : items.slice(taken)
    const frames: (SharedFrame | string)[] = []
    let batch: string[] = []
    // The batch's shared envelopes while it holds nothing else (a fan-out's
    // changes): the same sequence in every subscriber's outbox, joined once.
    let shared: SharedFrame[] | undefined = []
    let batchChars = 0
    const close = () => {
      // Alone in its frame, a shared envelope stays shared (encoded once for every receiver).
      if (batch.length === 1) frames.push(shared?.[0] ?? (batch[0] as string))
      else if (batch.length > 1) frames.push(shared ? joinedFrame(shared, batch) : `[${batch.join(',')}]`)
      batch = []
      shared = []
      batchChars = 0
    }
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string | SharedFrame
      const text = textOf(part)
      this._chars -= text.length
      if (batchChars > 0 && batchChars + text.length + 1 > maxFrameChars) close()
      if (typeof part === 'string') shared = undefined
      else shared?.push(part)
      batch.push(text)
      batchChars += text.length + 1
    }
    close()
    return frames
  }

  /**
   * The common case of a fan-out, without a list: when the outbox holds one
   * envelope and nothing else (or a slot answered with one envelope), takes
   * it (to be sent as it is, alone in its frame, as {@link _Outbox.take} would).
   *
   * @returns The envelope, or `undefined` (nothing taken) when the outbox holds anything else.
   */
  takeOnly(): SharedFrame | string | undefined {
    const items = this._items
    if (items.length !== 1) return undefined
    let only = items[0] as string | SharedFrame | _Slot
    // A slot answered with one envelope (a write's ack, the writer's usual case) is that envelope.
    if (typeof only !== 'string' && !(only instanceof SharedFrame)) {
      if (only.open || only.texts.length !== 1) return undefined
      only = only.texts[0] as string
    }
    this._items = NO_ITEMS
    this._chars -= textOf(only).length
    return only
  }

  /** Drops everything queued (the connection is gone). */
  clear(): void {
    this._items = NO_ITEMS
    this._chars = 0
  }
}

/**
 * Shared envelopes sent as one JSON array: the frame another outbox made for
 * the same sequence when there is one (every subscriber of an entity gets
 * the same changes in a tick), so the array is joined and encoded once.
 */
function joinedFrame(parts: readonly SharedFrame[], texts: readonly string[]): SharedFrame {
  const first = parts[0] as SharedFrame
  const known = first._joined
  if (known !== undefined && sameFrames(known.parts, parts)) return known.frame
  const frame = new SharedFrame(`[${texts.join(',')}]`)
  first._joined = { parts, frame }
  return frame
}

function sameFrames(a: readonly SharedFrame[], b: readonly SharedFrame[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function textOf(item: string | SharedFrame): string {
  return typeof item === 'string' ? item : item.text
}

/** The items of every empty outbox (never written to). */
const NO_ITEMS: (string | SharedFrame | _Slot)[] = Object.freeze([]) as unknown as (
  | string
  | SharedFrame
  | _Slot
)[]
