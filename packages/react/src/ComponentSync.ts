import { computed, createStream, type ReadonlySignal, type Stream, signal } from '@lensync/store'
import { inspectSync, type Sync, SyncError, type SyncInspection, type SyncStatus } from '@lensync/sync-client'
import type { SyncLease } from './syncRegistry.ts'

/** Where a component's sync stands: not started yet (first render, server), running, or stopped. */
type Phase =
  | { readonly kind: 'idle' }
  | { readonly kind: 'running'; readonly lease: SyncLease; readonly stopErrors: () => void }
  | { readonly kind: 'stopped'; readonly last: Sync | undefined }

/**
 * The `Sync` a sync hook returns: it exists from the first render (and on the
 * server), before the effect that starts the real sync has run, and follows
 * whichever sync the component holds — across StrictMode's simulated
 * remount and across changed arguments.
 *
 * @internal
 */
export class ComponentSync implements Sync {
  readonly status: ReadonlySignal<SyncStatus>
  readonly pending: ReadonlySignal<number>
  readonly errors: Stream<SyncError>

  private readonly phase = signal<Phase>({ kind: 'idle' })
  private readonly emitError: (error: SyncError) => void
  private waiting: Array<{ resolve: () => void; reject: (error: unknown) => void }> = []

  constructor() {
    const { stream, emit } = createStream<SyncError>()
    this.errors = stream
    this.emitError = emit
    this.status = computed(() => {
      const phase = this.phase.value
      if (phase.kind === 'running') return phase.lease.sync.status.value
      return phase.kind === 'idle' ? 'connecting' : 'offline'
    })
    this.pending = computed(() => {
      const phase = this.phase.value
      if (phase.kind === 'running') return phase.lease.sync.pending.value
      return phase.kind === 'stopped' ? (phase.last?.pending.value ?? 0) : 0
    })
  }

  /** Follows `lease` (the effect started or re-claimed it). */
  attach(lease: SyncLease): void {
    this.detach()
    const stopErrors = lease.sync.errors.subscribe(this.emitError)
    this.phase.value = { kind: 'running', lease, stopErrors }
    for (const { resolve, reject } of this.waiting.splice(0)) lease.sync.flush().then(resolve, reject)
  }

  /** Releases the sync held (the effect's cleanup, or `stop()`). */
  detach(): void {
    const phase = this.phase.peek()
    if (phase.kind !== 'running') return
    phase.stopErrors()
    phase.lease.release()
    this.phase.value = { kind: 'stopped', last: phase.lease.sync }
  }

  flush(): Promise<void> {
    const phase = this.phase.peek()
    if (phase.kind === 'running') return phase.lease.sync.flush()
    if (phase.kind === 'stopped')
      return Promise.reject(new SyncError('STOPPED', 'flush() after the component unmounted or stop()'))
    // Before the component's effect ran: wait for the sync it starts.
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  /**
   * What `inspectSync` (and `@lensync/devtools`) shows: the sync this component holds.
   * @internal
   */
  _inspect(): SyncInspection | undefined {
    const phase = this.phase.peek()
    const sync =
      phase.kind === 'running' ? phase.lease.sync : phase.kind === 'stopped' ? phase.last : undefined
    return sync && inspectSync(sync)
  }

  stop(): void {
    this.detach()
    const error = new SyncError('STOPPED', 'The sync was stopped before it started')
    for (const { reject } of this.waiting.splice(0)) reject(error)
  }
}
