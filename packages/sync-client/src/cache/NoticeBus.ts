import { rethrowLater } from './rethrowLater.ts'
import type { BroadcastChannelConstructor, BroadcastChannelLike, CacheNotice } from './types.ts'

const NOTICE_KINDS: ReadonlySet<string> = new Set([
  'confirmed',
  'enqueued',
  'acked',
  'cleared',
  'client-gone',
])

/** The envelope of a notice on the BroadcastChannel, versioned so a newer page's notices are ignored by an older one. */
interface NoticeMessage {
  v: 1
  notice: CacheNotice
}

function isNoticeMessage(data: unknown): data is NoticeMessage {
  if (typeof data !== 'object' || data === null) return false
  const { v, notice } = data as { v?: unknown; notice?: unknown }
  if (v !== 1 || typeof notice !== 'object' || notice === null) return false
  const kind = (notice as { kind?: unknown }).kind
  return typeof kind === 'string' && NOTICE_KINDS.has(kind)
}

/**
 * Delivers cache notices to this cache object's listeners and, through a
 * BroadcastChannel named `lensync:<name>`, to every other cache object on
 * that name (other tabs, or other caches in one process). A BroadcastChannel
 * does not deliver to its own sender, so local listeners are called directly,
 * in a microtask, in the order notices are published.
 *
 * @internal
 */
export class NoticeBus {
  private readonly listeners = new Set<(notice: CacheNotice) => void>()
  private channel: BroadcastChannelLike | undefined

  /**
   * @param name - The cache name.
   * @param BroadcastChannel - The constructor, or `undefined`: notices then stay in this cache object.
   */
  constructor(name: string, BroadcastChannel: BroadcastChannelConstructor | undefined) {
    if (BroadcastChannel !== undefined) {
      this.channel = new BroadcastChannel(`lensync:${name}`)
      this.channel.onmessage = event => {
        if (isNoticeMessage(event.data)) this.deliver(event.data.notice)
      }
    }
  }

  /** Adds a listener. @returns a disposer. */
  subscribe(listener: (notice: CacheNotice) => void): () => void {
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const entry = (notice: CacheNotice) => listener(notice)
    this.listeners.add(entry)
    return () => {
      this.listeners.delete(entry)
    }
  }

  /** Sends a notice to local listeners and to the other cache objects on the name. */
  publish(notice: CacheNotice): void {
    queueMicrotask(() => this.deliver(notice))
    if (this.channel === undefined) return
    try {
      this.channel.postMessage({ v: 1, notice } satisfies NoticeMessage)
    } catch {
      // A closed channel (the page is going away): other tabs learn from the cache itself.
    }
  }

  /** Closes the channel and forgets the listeners. Idempotent. */
  close(): void {
    this.listeners.clear()
    if (this.channel === undefined) return
    this.channel.onmessage = null
    this.channel.close()
    this.channel = undefined
  }

  private deliver(notice: CacheNotice): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(notice)
      } catch (error) {
        // A throwing listener must not keep the notice from the others.
        rethrowLater(error)
      }
    }
  }
}
