/**
 * @internal
 * True for a promise or any thenable.
 *
 * @param value - What a function that may answer later returned.
 * @returns Whether it is a thenable (answer later) rather than the value itself.
 */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

/**
 * @internal
 * Continues with a value that may be a promise: `then` runs at once for a
 * value (so synchronous storage, schemas and `authorize` decide without
 * leaving the call — the hub's fast path), or once a promise settles. Written
 * once here instead of a sync and a `.then` branch in every step.
 *
 * A throw from `then` on the synchronous path reaches the caller; on the
 * asynchronous path it rejects the returned promise.
 *
 * @param value - A value, or a promise of it (`undefined` counts as a value).
 * @param then - What to do with the value.
 * @param failed - What to do when the promise rejects; without it the rejection passes on.
 * @returns What `then` returned, or a promise of it.
 */
export function whenDone<T, R>(
  value: T | PromiseLike<T>,
  then: (value: T) => R,
  failed?: (error: unknown) => R,
): R | Promise<Awaited<R>> {
  if (!isThenable(value)) return then(value)
  return Promise.resolve(value).then(then, failed) as Promise<Awaited<R>>
}
