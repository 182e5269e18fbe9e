import type { Methods } from './worker.ts'

/** A call from the orchestrator to a worker. */
export interface Request {
  readonly id: number
  readonly method: string
  readonly args: unknown[]
}

/** A worker's answer to a {@link Request}. */
export type Reply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string }

/**
 * Serves a role's methods over the IPC channel (the child side of
 * `startWorker`): announces `{ ready: true }`, answers each call, and exits
 * when the orchestrator disconnects, so no worker outlives a run.
 *
 * @param methods - The role's methods.
 */
export function serveRole(methods: Methods): void {
  if (!process.send)
    throw new Error('bench/worker.ts runs as a child of `npm run bench`, with an IPC channel')
  const send = process.send.bind(process)
  process.on('message', async (request: Request) => {
    const method = methods[request.method]
    try {
      if (!method) throw new Error(`no method ${request.method}`)
      const value = await (method as (...args: unknown[]) => unknown)(...request.args)
      send({ id: request.id, ok: true, value } satisfies Reply)
    } catch (error) {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error)
      send({ id: request.id, ok: false, error: text } satisfies Reply)
    }
  })
  process.on('disconnect', () => process.exit(0))
  send({ ready: true })
}
