import type { Logger } from '@lensync/sync-server'
import { vi } from 'vitest'

/** A logger that records instead of printing, so tests stay quiet and can assert on it. */
export function recordingLogger() {
  return { error: vi.fn(), warn: vi.fn(), info: vi.fn() } satisfies Logger
}

/** A promise with its resolve function outside. */
export function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** A deterministic byte pattern of `size` bytes. */
export function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >>> 8)) & 0xff
  return bytes
}
