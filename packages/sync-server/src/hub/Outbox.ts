/**
 * An envelope serialized once and sent unchanged to several connections (a
 * broadcast). A transport may encode `text` once and keep the result in
 * `cache` for the next connection (`syncRoute` keeps a prepared WebSocket
 * message there), so N receivers cost one `JSON.stringify` and one UTF-8
 * encoding.
 */
export class SharedFrame {
  /** The envelope's JSON text. */
  readonly text: string
  /** Free for the transport: e.g. the encoded message, made by the first connection that sends it. */
  cache: unknown

  /** @param text - The envelope's JSON text. */
  constructor(text: string) {
    this.text = text
    this.cache = undefined
  }
}

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
}

/**
 * @internal
 * What the hub queued for one connection. Flushed as one frame: the single
 * envelope as is (a shared one stays shared), or a JSON array of all of them,
 * up to the first slot still waiting for its answer.
 */
export class _Outbox {
  private _items: (string | SharedFrame | _Slot)[] = []

  /** Whether anything is queued. */
  get isEmpty(): boolean {
    return this._items.length === 0
  }

  /** Whether an answer is still to come (a slot is open). */
  get waiting(): boolean {
    return this._items.some(item => typeof item !== 'string' && !(item instanceof SharedFrame) && item.open)
  }

  /** Queues an envelope's JSON text, or a shared envelope. */
  push(item: string | SharedFrame): void {
    this._items.push(item)
  }

  /**
   * Queues a committed change of an entity. A write of the same entity whose
   * answer is still open was committed after it (commits are sequential), so
   * the change goes before that write's slot: a connection receives the acks
   * and changes of one entity in revision order.
   */
  pushChange(item: SharedFrame, resource: string, id: string): void {
    const items = this._items
    for (let i = 0; i < items.length; i++) {
      const slot = items[i]
      if (typeof slot === 'string' || slot instanceof SharedFrame || !slot?.open) continue
      if (slot.entity.resource === resource && slot.entity.id === id) {
        items.splice(i, 0, item)
        return
      }
    }
    items.push(item)
  }

  /** Keeps a place for an answer that comes later. */
  reserve(entity: _Slot['entity']): _Slot {
    const slot: _Slot = { texts: [], open: true, entity }
    this._items.push(slot)
    return slot
  }

  /**
   * Takes what can be sent: everything before the first open slot.
   *
   * @returns The one shared envelope (send it as is), the frame text, or `undefined` when nothing is ready.
   */
  take(): SharedFrame | string | undefined {
    const items = this._items
    const parts: (string | SharedFrame)[] = []
    let taken = 0
    for (; taken < items.length; taken++) {
      const item = items[taken] as string | SharedFrame | _Slot
      if (typeof item === 'string' || item instanceof SharedFrame) parts.push(item)
      else if (item.open) break
      else parts.push(...item.texts)
    }
    if (taken === 0) return undefined
    this._items = taken === items.length ? [] : items.slice(taken)
    if (parts.length === 0) return undefined
    if (parts.length === 1) return parts[0]
    let text = '['
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string | SharedFrame
      if (i > 0) text += ','
      text += typeof part === 'string' ? part : part.text
    }
    return `${text}]`
  }

  /** Drops everything queued (the connection is gone). */
  clear(): void {
    this._items = []
  }
}
