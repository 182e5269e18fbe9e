/**
 * Reports an error thrown by a callback (a listener, `onTakeover`) as an
 * uncaught error, without letting it stop the loop that called it.
 *
 * @param error - What the callback threw.
 * @internal
 */
export function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error
  })
}
