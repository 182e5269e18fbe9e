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
  if (fields === undefined || !fields.includes('\u0000')) return fields
  const parts = fields.split('\u0000')
  // Odd parts are the batch indices between the NULs.
  for (let i = 1; i < parts.length; i += 2) parts[i] = String(revisionOf(Number(parts[i])) ?? 0)
  return parts.join('')
}
