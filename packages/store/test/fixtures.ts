import { vi } from 'vitest'

export type Address = { street: string; zip: number }
export type Person = { _id: string; name: string; age: number; address: Address; tags: string[] }

export const alice: Person = {
  _id: 'p1',
  name: 'Alice',
  age: 30,
  address: { street: 'Elm St 1', zip: 12345 },
  tags: ['admin'],
}

/** A promise with its resolve/reject outside, to drive async handlers step by step. */
export function deferred<T>(): {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (error: unknown) => void
} {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** An `onError` spy, so that tests assert on reported errors instead of printing them. */
export function errorSpy() {
  return vi.fn<(error: unknown) => void>()
}
