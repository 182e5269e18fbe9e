// Thin promise helpers over IndexedDB and the cache's database layout. Every
// request of one operation is issued inside one transaction, synchronously or
// from that transaction's own request callbacks, so it stays atomic across tabs.
// Only plain keys are used (no IDBKeyRange), so an injected IDBFactory is all
// the cache needs of an IndexedDB implementation.

/** The database schema version. @internal */
export const DB_VERSION = 1

/** Object stores: confirmed values, collection records, the outbox, liveness records. @internal */
export const ENTITIES = 'entities'
/** @internal */
export const COLLECTIONS = 'collections'
/** @internal */
export const OUTBOX = 'outbox'
/** @internal */
export const CLIENTS = 'clients'
/** The outbox index by entity (`[resource, id]`). @internal */
export const BY_ENTITY = 'entity'
/** The outbox index by client id. @internal */
export const BY_CLIENT = 'client'
/** The entities index by resource name. @internal */
export const BY_RESOURCE = 'resource'

/**
 * Creates the object stores of a new database (version 0 → 1).
 * @internal
 */
export function createSchema(db: IDBDatabase): void {
  db.createObjectStore(ENTITIES, { keyPath: ['resource', 'id'] }).createIndex(BY_RESOURCE, 'resource')
  db.createObjectStore(COLLECTIONS, { keyPath: 'resource' })
  const outbox = db.createObjectStore(OUTBOX, { keyPath: ['client', 'op'] })
  outbox.createIndex(BY_ENTITY, ['resource', 'id'])
  outbox.createIndex(BY_CLIENT, 'client')
  db.createObjectStore(CLIENTS, { keyPath: 'client' })
}

/** Whether an opened database has every store of the layout (a foreign database of the same name may not). @internal */
export function hasSchema(db: IDBDatabase): boolean {
  return [ENTITIES, COLLECTIONS, OUTBOX, CLIENTS].every(name => db.objectStoreNames.contains(name))
}

/** The outcome of one transaction. @internal */
export type TxResult<T> = { ok: true; value: T } | { ok: false; error: unknown }

/**
 * Runs `body` in one transaction. `body` issues its requests synchronously
 * (further ones from their callbacks) and returns a function read once the
 * transaction committed, giving the result. Never rejects: a synchronous
 * throw, a request error or an abort resolves `{ ok: false, error }`.
 *
 * @internal
 */
export function transact<T>(
  db: IDBDatabase,
  stores: readonly string[],
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction) => () => T,
): Promise<TxResult<T>> {
  return new Promise(resolve => {
    let tx: IDBTransaction | undefined
    let read: () => T
    try {
      tx = db.transaction(stores as string[], mode)
      read = body(tx)
    } catch (error) {
      try {
        tx?.abort()
      } catch {
        // Already finished or aborted: nothing more to undo.
      }
      resolve({ ok: false, error })
      return
    }
    const done = tx
    done.oncomplete = () => {
      try {
        resolve({ ok: true, value: read() })
      } catch (error) {
        resolve({ ok: false, error })
      }
    }
    done.onabort = event => {
      const aborted = (event?.target as IDBTransaction | null) ?? done
      const error = callbackErrors.get(aborted) ?? done.error ?? new DOMException('Aborted', 'AbortError')
      resolve({ ok: false, error })
    }
  })
}

/** What a request callback threw, per transaction it aborted: reported instead of a bare AbortError. */
const callbackErrors = new WeakMap<IDBTransaction, unknown>()

/**
 * Calls `then` with a request's result once it succeeds (inside the
 * transaction, so `then` may issue more requests). A request error, or a
 * throw from `then` (a `put` refused over quota), aborts the transaction,
 * which {@link transact} reports with that error.
 *
 * @internal
 */
export function onResult<T>(request: IDBRequest<T>, then: (result: T) => void): void {
  request.onsuccess = () => {
    try {
      then(request.result)
    } catch (error) {
      const tx = request.transaction
      if (tx === null) throw error
      if (!callbackErrors.has(tx)) callbackErrors.set(tx, error)
      tx.abort()
    }
  }
}
