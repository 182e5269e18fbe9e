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
