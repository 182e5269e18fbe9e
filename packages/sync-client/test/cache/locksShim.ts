import type { LockManagerLike } from '../../src/cache/types.ts'

type Callback = (lock: { readonly name: string } | null) => unknown

interface Request {
  name: string
  callback: Callback
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/** Options of {@link locksShim}. */
export interface LocksShimOptions {
  /**
   * Awaited before each request is decided (granted, queued or refused):
   * a seeded random delay here interleaves concurrent requests differently per seed.
   */
  schedule?: () => Promise<void>
}

/** The in-memory lock manager of {@link locksShim}, with a view of what is held. */
export interface LocksShim extends LockManagerLike {
  /** Names of the locks held now. */
  held(): string[]
  /**
   * Ends a holder without its callback finishing, as a browser does when a tab
   * crashes or closes: the lock is released and the request settles.
   */
  crash(name: string): void
}

/**
 * Web Locks (`navigator.locks`) in memory for Node tests: exclusive locks
 * granted in request order, `ifAvailable` (the callback gets `null` when the
 * lock is held or requested), and `steal` (the holder's request rejects with
 * an AbortError and the stealer gets the lock at once). One shim is one browser.
 */
export function locksShim(options: LocksShimOptions = {}): LocksShim {
  const schedule = options.schedule ?? (() => Promise.resolve())
  const holders = new Map<string, Request>()
  const queues = new Map<string, Request[]>()

  const grant = (request: Request) => {
    holders.set(request.name, request)
    const finish = () => {
      if (holders.get(request.name) !== request) return
      holders.delete(request.name)
      const next = queues.get(request.name)?.shift()
      if (next !== undefined) grant(next)
    }
    Promise.resolve()
      .then(() => request.callback({ name: request.name }))
      .then(
        value => {
          finish()
          request.resolve(value)
        },
        error => {
          finish()
          request.reject(error)
        },
      )
  }

  const request = (
    name: string,
    a: { ifAvailable?: boolean; steal?: boolean } | Callback,
    b?: Callback,
  ): Promise<unknown> => {
    const opts = typeof a === 'function' ? {} : a
    const callback = (typeof a === 'function' ? a : b) as Callback
    return new Promise((resolve, reject) => {
      const req: Request = { name, callback, resolve, reject }
      void schedule().then(() => {
        const holder = holders.get(name)
        const queue = queues.get(name) ?? []
        queues.set(name, queue)
        if (opts.steal) {
          if (holder !== undefined) {
            holders.delete(name)
            holder.reject(new DOMException('The lock was stolen', 'AbortError'))
          }
          grant(req)
        } else if (holder === undefined && queue.length === 0) {
          grant(req)
        } else if (opts.ifAvailable) {
          Promise.resolve()
            .then(() => callback(null))
            .then(resolve, reject)
        } else {
          queue.push(req)
        }
      })
    })
  }

  return {
    request: request as LockManagerLike['request'],
    held: () => [...holders.keys()],
    crash(name) {
      const holder = holders.get(name)
      if (holder === undefined) return
      holders.delete(name)
      holder.resolve(undefined)
      const next = queues.get(name)?.shift()
      if (next !== undefined) grant(next)
    },
  }
}
