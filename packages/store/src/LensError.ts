/**
 * Why a lens could not reach its part:
 * - `ELEMENT_NOT_FOUND`: no list element has the id (`lensForElement`, `mapByElement`).
 * - `AMBIGUOUS_ELEMENT`: several list elements have the id.
 * - `INDEX_OUT_OF_RANGE`: the index is not an integer in `0 .. length - 1` (`lensForIndex`, `mapByIndex`).
 * - `KEY_NOT_FOUND`: the record or Map has no such key (`lensForKey`, `mapByKey`).
 */
export type LensErrorCode = 'ELEMENT_NOT_FOUND' | 'AMBIGUOUS_ELEMENT' | 'INDEX_OUT_OF_RANGE' | 'KEY_NOT_FOUND'

/** Options of {@link LensError}. */
export interface LensErrorOptions {
  /** The id of the lens that failed. */
  readonly lensId?: string
  /** The underlying error, if any. */
  readonly cause?: unknown
}

/**
 * The error of `@lensync/store`: a lens that cannot reach its part. Met through a
 * store (e.g. `mapByElement(missing).update(x)`), it is a handler error: reported
 * to the store's `onError`, the value unchanged.
 *
 * @example
 * try { lensForIndex<string>(4).get(['a']) } catch (e) { if (e instanceof LensError) e.code // 'INDEX_OUT_OF_RANGE' }
 */
export class LensError extends Error {
  override readonly name = 'LensError'
  /** Machine-readable reason. */
  readonly code: LensErrorCode
  /** The id of the lens that failed (`''` when it has none). */
  readonly lensId: string

  /**
   * @param code - Why the lens failed.
   * @param message - What happened, for people.
   * @param options - The lens id and the cause.
   */
  constructor(code: LensErrorCode, message: string, options: LensErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.lensId = options.lensId ?? ''
  }
}
