/**
 * Codes of a {@link DevtoolsError}:
 * - `BAD_TARGET`: `mountInspector` was not given an element to mount into;
 * - `BAD_OPTION`: an option is missing or of the wrong type (the message says which).
 */
export type DevtoolsErrorCode = 'BAD_TARGET' | 'BAD_OPTION'

/** The one error class of `@lensync/devtools`, thrown at once for bad arguments. */
export class DevtoolsError extends Error {
  override readonly name: string = 'DevtoolsError'
  /** What went wrong, as a stable string. */
  readonly code: DevtoolsErrorCode

  /**
   * @param code - The error code.
   * @param message - What happened and what to do.
   */
  constructor(code: DevtoolsErrorCode, message: string) {
    super(message)
    this.code = code
  }
}
