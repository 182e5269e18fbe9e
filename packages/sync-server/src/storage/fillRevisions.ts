/**
 * @internal
 * A write's field revisions as storage keeps them: each placeholder of
 * `StorageWrite.fields` (`\u0000<k>\u0000`: NUL, a batch index, NUL)
 * replaced by the revision write `k` of the batch got. JSON text never holds
 * a raw NUL (JSON.stringify escapes it), so nothing else can look like one.
 *
 * @param fields - The write's `fields`.
 * @param revisionOf - The revision of batch write `k` (applied before this
 *   one); an unknown one is written as `0`, which readers take for unknown.
 * @returns The text to store; `undefined` when there is none.
 */
export function _fillRevisions(
  fields: string | undefined,
  revisionOf: (index: number) => number | undefined,
): string | undefined {
  if (fields === undefined) return fields
  let start = fields.indexOf('\u0000')
  if (start === -1) return fields
  // Each placeholder's text between its NULs is a batch index (without a closing NUL: the rest).
  let text = ''
  let from = 0
  while (start !== -1) {
    const end = fields.indexOf('\u0000', start + 1)
    const index = Number(end === -1 ? fields.slice(start + 1) : fields.slice(start + 1, end))
    text += `${fields.slice(from, start)}${revisionOf(index) ?? 0}`
    if (end === -1) return text
    from = end + 1
    start = fields.indexOf('\u0000', from)
  }
  return text + fields.slice(from)
}
