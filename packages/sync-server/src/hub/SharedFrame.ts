/**
 * An envelope — or a JSON array of envelopes sent together in one tick —
 * serialized once and sent unchanged to several connections (a broadcast,
 * or a tick's changes to every subscriber). A transport may encode `text`
 * once and keep the result in `cache` for the next connection (`syncRoute`
 * keeps a prepared WebSocket message there), so N receivers cost one
 * `JSON.stringify` and one UTF-8 encoding.
 */
export class SharedFrame {
  /** The envelope's JSON text. */
  readonly text: string
  /** Free for the transport: e.g. the encoded message, made by the first connection that sends it. */
  cache: unknown
  /**
   * @internal
   * The last batch that began with this frame, joined into one frame: the
   * outbox of the next connection with the same sequence reuses it.
   */
  _joined: _JoinedFrames | undefined

  /** @param text - The envelope's JSON text. */
  constructor(text: string) {
    this.text = text
    this.cache = undefined
    this._joined = undefined
  }
}

/**
 * @internal
 * Shared frames sent together as one JSON array, and that array as a shared
 * frame of its own.
 */
export interface _JoinedFrames {
  /** The frames, in order (the first one holds this record). */
  readonly parts: readonly SharedFrame[]
  /** Their texts joined: `[a,b,…]`. */
  readonly frame: SharedFrame
}
