/** @internal The bounds of a {@link FrameQueue} (one object shared by every queue of a kind). */
export interface _FrameQueueLimits<T> {
  /** Size of an item, for the byte bound. */
  sizeOf(item: T): number
  /** Pause the source once this many bytes are queued… */
  readonly highWaterBytes: number
  /** …or this many items. */
  readonly highWaterCount: number
}

/** @internal What a {@link FrameQueue} calls on its owner (a session: methods, no closures per queue). */
export interface _FrameQueueOwner {
  /** Stop reading from the network. */
  _pauseReads(): void
  /** Read from the network again. */
  _resumeReads(): void
  /** The error `receive()` rejects with once the queue is closed and empty. */
  _receiveClosedError(): Error
}

/**
 * @internal
 * Takes a queue's items as they come, instead of `receive()` calls (the sync
 * route: no promise or async iterator per connection).
 */
export interface _FrameConsumer<T> {
  /**
   * Handles one item.
   *
   * @returns A promise to wait for before the next item (the queue keeps the
   *   items meanwhile, pausing the source past its bounds), or `undefined`.
   */
  take(item: T): Promise<void> | undefined
  /** The queue is closed and every item was taken. Called once. */
  end(): void
}

interface Waiter<T> {
  resolve(item: T): void
  reject(error: Error): void
}

/**
 * @internal
 * The incoming channel of a session: frames the handler has not taken yet, in
 * order. It never grows without bound: past the high-water mark it pauses the
 * socket (TCP then pushes back on the peer) and resumes once the handler took
 * half of it, as Ktor's bounded `incoming` channel suspends its reader.
 */
export class FrameQueue<T> implements AsyncIterable<T> {
  private _items: T[] = NONE as T[]
  private _head = 0
  private _bytes = 0
  private _paused = false
  private _closed = false
  /** Receivers waiting for an item; made at the first wait. */
  private _waiters: Waiter<T>[] | undefined = undefined
  /** Takes the items instead of `receive()`, when set. */
  private _consumer: _FrameConsumer<T> | undefined = undefined
  /** The consumer is busy with an item (or being fed): later items queue. */
  private _feeding = false

  /**
   * @param _limits - When to pause the source.
   * @param _owner - Pauses and resumes the source, makes the closed error.
   */
  constructor(
    private readonly _limits: _FrameQueueLimits<T>,
    private readonly _owner: _FrameQueueOwner,
  ) {}

  /** Whether the socket is paused because the queue is full. */
  get paused(): boolean {
    return this._paused
  }

  /** Adds an item, or hands it straight to a waiting `receive()`. */
  push(item: T): void {
    if (this._closed) return
    const consumer = this._consumer
    if (consumer !== undefined && !this._feeding && this._head === this._items.length) {
      const busy = consumer.take(item)
      if (busy !== undefined) this._wait(busy)
      return
    }
    const waiter = this._waiters?.shift()
    if (waiter) {
      waiter.resolve(item)
      return
    }
    if (this._items === NONE) this._items = []
    this._items.push(item)
    const limits = this._limits
    this._bytes += limits.sizeOf(item)
    const count = this._items.length - this._head
    if (!this._paused && (count >= limits.highWaterCount || this._bytes >= limits.highWaterBytes)) {
      this._paused = true
      this._owner._pauseReads()
    }
  }

  /**
   * Hands every item, queued ones first, to `consumer` from now on, instead
   * of `receive()`; then `consumer.end()` once the queue is closed and empty.
   *
   * @param busy - The consumer is busy with an item taken before this queue
   *   was made: items queue until it settles.
   */
  consume(consumer: _FrameConsumer<T>, busy?: Promise<void>): void {
    this._consumer = consumer
    if (busy === undefined) this._feed()
    else this._wait(busy)
  }

  /** No more items will come; pending and later `receive()` calls reject once the queue is empty. */
  close(): void {
    if (this._closed) return
    this._closed = true
    if (this._consumer !== undefined && !this._feeding) this._feed()
    const waiters = this._waiters
    this._waiters = undefined
    if (waiters) for (const waiter of waiters) waiter.reject(this._owner._receiveClosedError())
  }

  /** The next item; waits for one; rejects once closed and empty. */
  receive(): Promise<T> {
    if (this._head < this._items.length) return Promise.resolve(this._take())
    if (this._closed) return Promise.reject(this._owner._receiveClosedError())
    return new Promise((resolve, reject) => {
      this._waiters ??= []
      this._waiters.push({ resolve, reject })
    })
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: async () => {
        if (this._head < this._items.length) return { value: this._take(), done: false }
        if (this._closed) return { value: undefined, done: true }
        try {
          return { value: await this.receive(), done: false }
        } catch (error) {
          if (this._closed) return { value: undefined, done: true }
          throw error
        }
      },
      // Breaking out of `for await` only stops that loop; the session stays open, as in Ktor.
      return: async () => ({ value: undefined, done: true }),
    }
  }

  /** Feeds the consumer what is queued, until it is busy; ends it once closed and empty. */
  private _feed(): void {
    const consumer = this._consumer as _FrameConsumer<T>
    this._feeding = true
    while (this._head < this._items.length) {
      const busy = consumer.take(this._take())
      if (busy !== undefined) {
        this._wait(busy)
        return
      }
    }
    this._feeding = false
    if (this._closed) {
      this._consumer = undefined
      consumer.end()
    }
  }

  /** The consumer is busy until `busy` settles; items queue meanwhile. */
  private _wait(busy: Promise<void>): void {
    this._feeding = true
    const next = () => this._feed()
    busy.then(next, next)
  }

  private _take(): T {
    const item = this._items[this._head] as T
    this._items[this._head] = undefined as T
    this._head++
    const limits = this._limits
    this._bytes -= limits.sizeOf(item)
    if (this._head === this._items.length) {
      this._items = NONE as T[]
      this._head = 0
    } else if (this._head > 1024 && this._head * 2 > this._items.length) {
      this._items.splice(0, this._head)
      this._head = 0
    }
    const count = this._items.length - this._head
    if (this._paused && count <= limits.highWaterCount / 2 && this._bytes <= limits.highWaterBytes / 2) {
      this._paused = false
      this._owner._resumeReads()
    }
    return item
  }
}

/** The empty item list of every queue that holds nothing (never written to). */
const NONE: readonly unknown[] = Object.freeze([])
