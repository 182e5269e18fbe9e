/** Strings longer than this are quoted by `JSON.stringify` without looking at them first. */
const SCANNED_CHARS = 64

/**
 * @internal
 * `JSON.stringify(text)`, quicker for the short strings the hub quotes on
 * every write (field keys, client ids): one that needs no escape (no `"`,
 * `\`, control character or surrogate) is put between quotes as it is.
 *
 * @param text - Any string.
 * @returns Its JSON text, exactly as `JSON.stringify` writes it.
 */
export function _jsonString(text: string): string {
  if (text.length > SCANNED_CHARS) return JSON.stringify(text)
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    // Surrogates: JSON.stringify escapes a lone one; leaving pairs to it too keeps this simple.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(text)
  }
  return `"${text}"`
}
