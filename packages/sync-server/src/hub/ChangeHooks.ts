import type { Encoded, FieldPath, Serializer } from '@lensync/protocol'
import type { _StagedWrite } from './GroupCommit.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'
import type { ChangeEvent, EntityChange, OnChange } from './syncTypes.ts'
import { _dottedPath } from './writePaths.ts'

/** One committed write waiting for its resource's `onChange`. */
interface HookJob {
  readonly hook: OnChange
  readonly resource: string
  readonly id: string
  readonly rev: number
  readonly value: string | null
  readonly previous: string | null
  readonly kind: 'put' | 'patch' | 'del'
  /** A patch's broadcast envelope (its `set`/`unset`), with the revision filled in. */
  readonly changeText: string | undefined
  readonly principal: unknown
}

/**
 * @internal
 * Calls `resources.<name>.onChange` after each commit of a write made
 * through this node, once per write: the hub calls {@link _ChangeHooks.committed}
 * where the write is answered (group commit for local storage, the feed for
 * shared storage — this node's writes only, so each write is reported by
 * the one node that committed it).
 *
 * Calls of one entity run one after the other in revision order; different
 * entities do not wait for each other, and nothing of the hub waits for a
 * hook (a hook never runs inside the commit: it starts on a later
 * microtask). A hook's throw or rejection is logged with the resource, the
 * entity id and the revision; the write stays. Values are decoded afresh
 * for each call, so a hook may keep or change what it gets.
 */
export class _ChangeHooks {
  private readonly _hooks = new Map<string, OnChange>()
  private readonly _queues = new Map<string, HookJob[]>()
  private _idle: (() => void)[] = []

  constructor(private readonly _options: _ResolvedSyncOptions) {
    for (const [name, config] of _options.resources)
      if (config.onChange) this._hooks.set(name, config.onChange)
  }

  /** Whether any resource has a hook. */
  get active(): boolean {
    return this._hooks.size > 0
  }

  /** How many hook calls are queued or running. */
  get pending(): number {
    let count = 0
    for (const queue of this._queues.values()) count += queue.length
    return count
  }

  /**
   * A write of this node is committed at `rev`: queues its entity's hook.
   *
   * @param write - The staged write (its task, entity, new state and base).
   * @param rev - The revision storage gave it.
   */
  committed(write: _StagedWrite, rev: number): void {
    const { entry, task } = write
    const hook = this._hooks.get(entry.resource)
    if (!hook) return
    const kind = task.msg.t
    const job: HookJob = {
      hook,
      resource: entry.resource,
      id: entry.id,
      rev,
      value: write.state.text,
      previous: write.base?.text ?? null,
      kind,
      changeText: kind === 'patch' ? `${write.change[0]}${rev}${write.change[1]}` : undefined,
      principal: task.client.principal,
    }
    const key = `${entry.resource.length}:${entry.resource}${entry.id}`
    const queue = this._queues.get(key)
    if (queue) {
      queue.push(job)
      return
    }
    this._queues.set(key, [job])
    void this._run(key)
  }

  /**
   * Resolves when every queued hook call has finished, or after `timeoutMs`
   * (then the calls not finished are logged; those not started are dropped).
   */
  drained(timeoutMs: number): Promise<void> {
    if (this._queues.size === 0) return Promise.resolve()
    return new Promise(resolve => {
      const { timers, logger } = this._options
      const done = () => {
        timers.clearTimeout(timer)
        const i = this._idle.indexOf(done)
        if (i >= 0) this._idle.splice(i, 1)
        resolve()
      }
      const timer = timers.setTimeout(() => {
        const left = this.pending
        if (left > 0) {
          logger.warn?.(
            `lensync hub: ${left} onChange call(s) had not finished ${timeoutMs} ms after close(); those not started are dropped`,
          )
          // Whatever runs on finishes; nothing new starts.
          for (const queue of this._queues.values()) queue.length = Math.min(queue.length, 1)
        }
        done()
      }, timeoutMs)
      this._idle.push(done)
    })
  }

  private async _run(key: string): Promise<void> {
    const queue = this._queues.get(key) as HookJob[]
    // Never inside the commit that queued it: the hub answers first.
    await Promise.resolve()
    while (queue.length > 0) {
      await this._call(queue[0] as HookJob)
      queue.shift()
    }
    this._queues.delete(key)
    if (this._queues.size === 0) for (const done of [...this._idle]) done()
  }

  private async _call(job: HookJob): Promise<void> {
    try {
      const serializer = this._options.serializer
      await job.hook({
        resource: job.resource,
        id: job.id,
        rev: job.rev,
        value: decodeText(job.value, serializer),
        previous: decodeText(job.previous, serializer),
        change: changeOf(job, serializer),
        principal: job.principal,
      } satisfies ChangeEvent)
    } catch (error) {
      this._options.logger.error(
        `lensync hub: onChange of ${job.resource} ${job.id} at revision ${job.rev} failed`,
        error,
      )
    }
  }
}

/** The decoded value of an entity's stored text; `undefined` when absent or deleted. */
function decodeText(text: string | null, serializer: Serializer): unknown {
  return text === null ? undefined : decode(JSON.parse(text) as Encoded, serializer)
}

function decode(encoded: Encoded, serializer: Serializer): unknown {
  return encoded.meta === undefined || encoded.meta === null ? encoded.json : serializer.deserialize(encoded)
}

/** What a write did, as `onChange` gets it. */
function changeOf(job: HookJob, serializer: Serializer): EntityChange {
  if (job.kind === 'del') return DELETE
  if (job.kind === 'put') return { kind: 'put', value: decodeText(job.value, serializer) }
  const envelope = JSON.parse(job.changeText as string) as {
    set?: [FieldPath, Encoded][]
    unset?: FieldPath[]
  }
  return {
    kind: 'patch',
    set: (envelope.set ?? []).map(([path, value]) => ({
      path: _dottedPath(path),
      value: decode(value, serializer),
    })),
    unset: (envelope.unset ?? []).map(_dottedPath),
  }
}

const DELETE: EntityChange = Object.freeze({ kind: 'delete' })
