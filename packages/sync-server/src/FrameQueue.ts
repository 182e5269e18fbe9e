/** @internal Bounds and hooks of a {@link FrameQueue}. */
export interface _FrameQueueOptions<T> {
  /** Size of an item, for the byte bound. */
  sizeOf(item: T): number
  /** Pause the source once this many bytes are queued… */
  highWaterBytes: number
  /** …or this many items. */
  highWaterCount: number
  /** Stop reading from the network. */
  pause(): void
  /** Read from the network again. */
  resume(): void
  /** The error `receive()` rejects with once the queue is closed and empty. */
  closedError(): Error
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
  private readonly _items: T[] = []
  private _head = 0
  private _bytes = 0
  private _paused = false
  private _closed = false
  private readonly _waiters: Waiter<T>[] = []
  private readonly _options: _FrameQueueOptions<T>

  constructor(options: _FrameQueueOptions<T>) {
    this._options = options
  }

  /** Whether the socket is paused because the queue is full. */
  get paused(): boolean {
    return this._paused
  }

  /** Adds an item, or hands it straight to a waiting `receive()`. */
  push(item: T): void {
    if (this._closed) return
    const waiter = this._waiters.shift()
    if (waiter) {
      waiter.resolve(item)
      return
    }
    this._items.push(item)
    this._bytes += this._options.sizeOf(item)
    const count = this._items.length - this._head
    if (
      !this._paused &&
      (count >= this._options.highWaterCount || this._bytes >= this._options.highWaterBytes)
    ) {
      this._paused = true
      this._options.pause()
    }
  }

  /** No more items will come; pending and later `receive()` calls reject once the queue is empty. */
  close(): void {
    if (this._closed) return
    this._closed = true
    for (const waiter of this._waiters.splice(0)) waiter.reject(this._options.closedError())
  }

  /** The next item; waits for one; rejects once closed and empty. */
  receive(): Promise<T> {
    if (this._head < this._items.length) return Promise.resolve(this._take())
    if (this._closed) return Promise.reject(this._options.closedError())
    return new Promise((resolve, reject) => this._waiters.push({ resolve, reject }))
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

  private _take(): T {
    const item = this._items[this._head] as T
    this._items[this._head] = undefined as T
    this._head++
    this._bytes -= this._options.sizeOf(item)
    if (this._head === this._items.length) {
      this._items.length = 0
      this._head = 0
    } else if (this._head > 1024 && this._head * 2 > this._items.length) {
      this._items.splice(0, this._head)
      this._head = 0
    }
    const count = this._items.length - this._head
    if (
      this._paused &&
      count <= this._options.highWaterCount / 2 &&
      this._bytes <= this._options.highWaterBytes / 2
    ) {
      this._paused = false
      this._options.resume()
    }
    return item
  }
}
