// Converters between the shapes `event.data` takes: a string for text frames;
// for binary frames an ArrayBuffer or Blob (browsers, per binaryType) or, with
// `ws`, a Buffer ('nodebuffer'), an array of Buffers ('fragments'), an
// ArrayBuffer or a Blob. Only what both browsers and Node have is used.

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function isBlob(data: unknown): data is Blob {
  return typeof Blob !== 'undefined' && data instanceof Blob
}

// Tag checks rather than `instanceof`: the data may come from another realm (an iframe, a vm context).
function isArrayBuffer(data: unknown): data is ArrayBuffer {
  return Object.prototype.toString.call(data) === '[object ArrayBuffer]'
}

function isFragments(data: unknown): data is readonly ArrayBufferView[] {
  return Array.isArray(data) && data.every(part => ArrayBuffer.isView(part))
}

/** The bytes of a view, as a new ArrayBuffer of exactly that length (a Buffer may sit in a shared pool). */
function copyBytes(view: ArrayBufferView): ArrayBuffer {
  const bytes = new Uint8Array(view.byteLength)
  bytes.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
  return bytes.buffer
}

function joinFragments(parts: readonly ArrayBufferView[]): ArrayBuffer {
  const bytes = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0))
  let offset = 0
  for (const part of parts) {
    bytes.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), offset)
    offset += part.byteLength
  }
  return bytes.buffer
}

function unsupported(data: unknown): TypeError {
  const kind = data === null ? 'null' : typeof data === 'object' ? data.constructor?.name : typeof data
  return new TypeError(`Cannot convert message data of type ${kind}`)
}

/**
 * `data` as an ArrayBuffer: text is UTF-8 encoded, views are copied, Blobs read.
 * @internal
 */
export function toArrayBuffer(data: unknown): ArrayBuffer | Promise<ArrayBuffer> {
  if (typeof data === 'string') return copyBytes(encoder.encode(data))
  if (isArrayBuffer(data)) return data
  if (ArrayBuffer.isView(data)) return copyBytes(data)
  if (isFragments(data)) return joinFragments(data)
  if (isBlob(data)) return data.arrayBuffer()
  throw unsupported(data)
}

/**
 * `data` as text: binary data is decoded as UTF-8.
 * @internal
 */
export function toText(data: unknown): string | Promise<string> {
  if (typeof data === 'string') return data
  if (isBlob(data)) return data.text()
  const buffer = toArrayBuffer(data) as ArrayBuffer
  return decoder.decode(buffer)
}

/**
 * `data` as a Blob (text becomes a UTF-8 Blob).
 * @internal
 */
export function toBlob(data: unknown): Blob {
  if (isBlob(data)) return data
  if (typeof Blob === 'undefined') throw new TypeError('Blob is not available in this environment')
  if (typeof data === 'string') return new Blob([data])
  return new Blob([toArrayBuffer(data) as ArrayBuffer])
}

/**
 * Whether `session.send()` can send `data`.
 * @internal
 */
export function isSendable(data: unknown): boolean {
  return typeof data === 'string' || isArrayBuffer(data) || ArrayBuffer.isView(data) || isBlob(data)
}
