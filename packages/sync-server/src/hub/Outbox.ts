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
 * What the hub queued for one connection in the current tick. Flushed as one
 * frame: the single envelope as is (a shared one stays shared), or a JSON
 * array of all of them.
 */
export class _Outbox {
  private _items: (string | SharedFrame)[] = []

  /** Whether anything is queued. */
  get isEmpty(): boolean {
    return this._items.length === 0
  }

  /** Queues an envelope's JSON text, or a shared envelope. */
  push(item: string | SharedFrame): void {
    this._items.push(item)
  }

  /**
   * Takes everything queued.
   *
   * @returns The one shared envelope (send it as is), the frame text, or `undefined` when empty.
   */
  take(): SharedFrame | string | undefined {
    const items = this._items
    if (items.length === 0) return undefined
    this._items = []
    if (items.length === 1) return items[0]
    let text = '['
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as string | SharedFrame
      if (i > 0) text += ','
      text += typeof item === 'string' ? item : item.text
    }
    return `${text}]`
  }

  /** Drops everything queued (the connection is gone). */
  clear(): void {
    this._items = []
  }
}
