import type { CachedEntity, OutboxEntry } from '@lensync/sync-client'

let names = 0
/** A cache name no other test uses (BroadcastChannels of one process share names). */
export const uniqueName = (prefix = 'test'): string => `${prefix}-${process.pid}-${++names}`

/** A confirmed entity record with a plain-JSON value. */
export function entity(
  id: string,
  rev: number,
  json: unknown,
  { resource = 'person', version = 1 }: { resource?: string; version?: number } = {},
): CachedEntity {
  return { resource, id, rev, version, value: json === null ? null : { json } }
}

/** An outbox patch setting `name`. */
export function patch(
  client: string,
  op: number,
  id: string,
  name: string,
  { resource = 'person', version = 1 }: { resource?: string; version?: number } = {},
): OutboxEntry {
  return { client, op, resource, id, kind: 'patch', set: [[['name'], { json: name }]], version }
}

/** A seeded pseudo-random source (mulberry32): the same seed gives the same schedule. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Waits one macrotask turn (IndexedDB in Node, fake-indexeddb, runs its work on setImmediate). */
export const nextTurn = (): Promise<void> => new Promise(resolve => setImmediate(resolve))

/**
 * A delay of 0–`max` macrotask turns, drawn from `random`: injected where
 * concurrent work should interleave differently per seed.
 */
export function randomTurns(random: () => number, max = 4): () => Promise<void> {
  return async () => {
    const turns = Math.floor(random() * (max + 1))
    for (let i = 0; i < turns; i++) await nextTurn()
  }
}

/** Proxies an object, binding its methods to the real target and replacing some properties. */
function wrap<T extends object>(target: T, overrides: Partial<Record<string | symbol, unknown>>): T {
  return new Proxy(target, {
    get(t, key) {
      if (key in overrides) return overrides[key]
      const value = Reflect.get(t, key, t)
      return typeof value === 'function' ? value.bind(t) : value
    },
    set(t, key, value) {
      return Reflect.set(t, key, value, t)
    },
  })
}

/** An IndexedDB factory that records object-store puts and can be told to fail them as over quota. */
export interface InstrumentedFactory {
  factory: IDBFactory
  /** While true, every put throws a QuotaExceededError, as a browser over its storage quota. */
  full: boolean
  /** Object stores of every put so far, in call order. */
  puts: string[]
}

/**
 * Wraps a factory: every `put` on an object store is recorded and, while
 * `full`, refused with a QuotaExceededError.
 */
export function instrumented(real: IDBFactory): InstrumentedFactory {
  const state: InstrumentedFactory = { factory: real, full: false, puts: [] }
  const store = (s: IDBObjectStore) =>
    wrap(s, {
      put: (...args: Parameters<IDBObjectStore['put']>) => {
        state.puts.push(s.name)
        if (state.full) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
        return s.put(...args)
      },
    })
  const tx = (t: IDBTransaction) => wrap(t, { objectStore: (name: string) => store(t.objectStore(name)) })
  const db = (d: IDBDatabase) =>
    wrap(d, { transaction: (...args: Parameters<IDBDatabase['transaction']>) => tx(d.transaction(...args)) })
  state.factory = wrap(real, {
    open: (...args: Parameters<IDBFactory['open']>) => {
      const request = real.open(...args)
      let wrapped: IDBDatabase | undefined
      return wrap(request, {
        get result() {
          wrapped ??= db(request.result)
          return wrapped
        },
      })
    },
  })
  return state
}

/** An IndexedDB factory whose `open` fails the way `how` says. */
export function failingFactory(how: 'throw' | 'error' | 'blocked'): IDBFactory {
  return {
    open() {
      if (how === 'throw') throw new DOMException('The operation is insecure.', 'SecurityError')
      const request = {
        error: new DOMException(
          'A mutation operation was attempted on a database that did not allow mutations.',
          'InvalidStateError',
        ),
      } as unknown as IDBOpenDBRequest
      setImmediate(() => {
        const event = new Event(how)
        if (how === 'error') request.onerror?.(event)
        else request.onblocked?.(event as IDBVersionChangeEvent)
      })
      return request
    },
  } as unknown as IDBFactory
}

/** Timers and a clock that move only when told: `advance()` fires what falls due, in time order. */
export class ManualClock {
  private time = 0
  private nextHandle = 1
  private readonly due = new Map<number, { at: number; callback: () => void }>()

  readonly now = (): number => this.time

  readonly setTimeout = (callback: () => void, ms: number): unknown => {
    const handle = this.nextHandle++
    this.due.set(handle, { at: this.time + ms, callback })
    return handle
  }

  readonly clearTimeout = (handle: unknown): void => {
    this.due.delete(handle as number)
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.due.size
  }

  /** Moves the clock `ms` on, firing each timer when its time comes. */
  advance(ms: number): void {
    const end = this.time + ms
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined
      for (const entry of this.due)
        if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry
      if (next === undefined) break
      this.due.delete(next[0])
      this.time = next[1].at
      next[1].callback()
    }
    this.time = end
  }
}

/**
 * Lets the work started by fired timers run to its end: `turns` macrotask
 * turns (each IndexedDB request of fake-indexeddb takes one or two). Not a
 * wait for time: the clock is manual.
 */
export async function settle(turns = 40): Promise<void> {
  for (let i = 0; i < turns; i++) await nextTurn()
}
