import { computed, createStream, handledBy, signal, storeOf } from '@lensync/store'
import { describe, expect, it, vi } from 'vitest'
import { deferred, errorSpy } from './fixtures.ts'

describe('createStream', () => {
  it('delivers events to subscribers until they unsubscribe', () => {
    const { stream, emit } = createStream<number>()
    const seen: number[] = []
    const off = stream.subscribe(n => seen.push(n))
    emit(1)
    emit(2)
    off()
    off()
    emit(3)
    expect(seen).toEqual([1, 2])
  })

  it('loses events emitted before anyone subscribes', () => {
    const { stream, emit } = createStream<number>()
    emit(1)
    const seen: number[] = []
    stream.subscribe(n => seen.push(n))
    emit(2)
    expect(seen).toEqual([2])
  })

  it('maps and filters lazily', () => {
    const { stream, emit } = createStream<number>()
    const seen: string[] = []
    const isEven = (n: number) => n % 2 === 0
    stream
      .filter(isEven)
      .map(n => `#${n}`)
      .subscribe(s => seen.push(s))
    for (const n of [1, 2, 3, 4]) emit(n)
    expect(seen).toEqual(['#2', '#4'])
  })

  it('keeps delivering to others when a subscriber throws, and reports the error', () => {
    const onError = errorSpy()
    const { stream, emit } = createStream<number>({ onError })
    const seen: number[] = []
    stream.subscribe(() => {
      throw new Error('bad subscriber')
    })
    stream.subscribe(n => seen.push(n))
    emit(1)
    expect(seen).toEqual([1])
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'bad subscriber' }))
  })

  it('end() calls onEnd, drops subscribers and is idempotent; later subscribers end at once', () => {
    const { stream, emit, end } = createStream<number>()
    const seen: number[] = []
    const ended = vi.fn()
    stream.subscribe(n => seen.push(n), ended)
    end()
    end()
    emit(1)
    expect(seen).toEqual([])
    expect(ended).toHaveBeenCalledTimes(1)
    const late = vi.fn()
    stream.subscribe(() => {}, late)
    expect(late).toHaveBeenCalledTimes(1)
  })

  it('iterates with for await, buffering events the loop has not taken yet, until end()', async () => {
    const { stream, emit, end } = createStream<number>()
    const received: number[] = []
    const iterator = stream.map(n => n * 10)[Symbol.asyncIterator]()
    const loop = (async () => {
      for await (const n of { [Symbol.asyncIterator]: () => iterator }) received.push(n)
    })()
    emit(1)
    emit(2)
    emit(3)
    end()
    await loop
    expect(received).toEqual([10, 20, 30])
  })

  it('stops iterating on break and unsubscribes', async () => {
    const { stream, emit } = createStream<number>()
    const listening = vi.fn()
    const first = (async () => {
      for await (const n of stream) {
        listening(n)
        break
      }
    })()
    emit(1)
    await first
    emit(2)
    expect(listening).toHaveBeenCalledTimes(1)
  })

  it('bounds the iteration buffer: past bufferSize the oldest events are dropped', async () => {
    const { stream, emit, end } = createStream<number>({ bufferSize: 3 })
    const iterator = stream[Symbol.asyncIterator]()
    for (let n = 1; n <= 5; n++) emit(n)
    end()
    const received: number[] = []
    for await (const n of { [Symbol.asyncIterator]: () => iterator }) received.push(n)
    expect(received).toEqual([3, 4, 5])
  })

  it('validates its options', () => {
    expect(() => createStream({ bufferSize: 0 })).toThrow(/bufferSize must be a positive integer/)
    expect(() => createStream({ onError: 1 as never })).toThrow(/onError must be a function/)
  })
})

describe('handledBy', () => {
  it('connects a stream to a handler and returns a disposer', () => {
    const counter = storeOf(0)
    const { stream, emit } = createStream<number>()
    const off = handledBy(
      stream,
      counter.handle((n, by: number) => n + by),
    )
    emit(2)
    emit(3)
    off()
    emit(100)
    expect(counter.current).toBe(5)
  })

  it('connects a signal: its changes, not its current value', () => {
    const source = signal('a')
    const seen: string[] = []
    const off = handledBy(
      computed(() => source.value.toUpperCase()),
      s => seen.push(s),
    )
    source.value = 'b'
    source.value = 'c'
    off()
    source.value = 'd'
    expect(seen).toEqual(['B', 'C'])
  })

  it('connects an async iterable until disposed', async () => {
    const list = storeOf<number[]>([])
    const gate = deferred<void>()
    let finished = false
    async function* numbers() {
      try {
        yield 1
        yield 2
        await gate.promise
        yield 3
      } finally {
        finished = true
      }
    }
    const off = handledBy(
      numbers(),
      list.handle((items, n: number) => [...items, n]),
    )
    await vi.waitFor(() => expect(list.current).toEqual([1, 2]))
    off()
    gate.resolve()
    await vi.waitFor(() => expect(finished).toBe(true))
    expect(list.current).toEqual([1, 2])
  })

  it('reports a throwing handler and stays connected', () => {
    const onError = errorSpy()
    const counter = storeOf(0, { onError })
    const { stream, emit } = createStream<number>()
    handledBy(
      stream,
      counter.handle((n, by: number) => {
        if (by < 0) throw new Error('negative')
        return n + by
      }),
    )
    emit(-1)
    emit(2)
    expect(counter.current).toBe(2)
    expect(onError).toHaveBeenCalledTimes(1)

    const plainErrors = errorSpy()
    const seen: number[] = []
    handledBy(
      stream,
      n => {
        if (n === 1) throw new Error('plain')
        seen.push(n)
      },
      { onError: plainErrors },
    )
    emit(1)
    emit(5)
    expect(seen).toEqual([5])
    expect(plainErrors).toHaveBeenCalledWith(expect.objectContaining({ message: 'plain' }))
  })

  it('reports an async iterable that throws', async () => {
    const onError = errorSpy()
    async function* failing() {
      yield 1
      throw new Error('source failed')
    }
    const seen: number[] = []
    handledBy(failing(), n => seen.push(n), { onError })
    await vi.waitFor(() =>
      expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'source failed' })),
    )
    expect(seen).toEqual([1])
  })

  describe("reports a source's errors to the handler's store onError and stays connected", () => {
    it('a Stream whose (store-attached) handler throws', () => {
      const onError = errorSpy()
      const counter = storeOf(0, { onError })
      const { stream, emit } = createStream<number>({ onError: () => expect.fail('not the stream') })
      // A handler written by hand, e.g. a wrapper that checks before it updates.
      const checked = Object.assign(
        (n: number) => {
          if (n < 0) throw new Error('negative')
          counter.update(n)
        },
        { store: counter },
      )
      handledBy(stream, checked)
      emit(-1)
      emit(2)
      expect(counter.current).toBe(2)
      expect(onError).toHaveBeenCalledTimes(1)
      expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'negative' }), counter)
    })

    it('a signal source that throws', () => {
      const onError = errorSpy()
      const counter = storeOf(0, { onError })
      const input = signal('1')
      const parsed = computed(() => {
        const n = Number(input.value)
        if (Number.isNaN(n)) throw new Error(`not a number: ${input.value}`)
        return n
      })
      const off = handledBy(parsed, counter.update)
      // The writer of the source is not the one who hears about it.
      expect(() => {
        input.value = 'x'
      }).not.toThrow()
      expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'not a number: x' }), counter)
      input.value = '7'
      expect(counter.current).toBe(7)
      off()
      input.value = '8'
      expect(counter.current).toBe(7)
      expect(onError).toHaveBeenCalledTimes(1)
    })

    it('an async iterable that rejects, without an onError option', async () => {
      const log = vi.spyOn(console, 'error').mockImplementation(() => {})
      try {
        const onError = errorSpy()
        const list = storeOf<number[]>([], { onError })
        async function* failing() {
          yield 1
          throw new Error('source failed')
        }
        handledBy(
          failing(),
          list.handle((items, n: number) => [...items, n]),
        )
        await vi.waitFor(() =>
          expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'source failed' }), list),
        )
        expect(list.current).toEqual([1])
        expect(log).not.toHaveBeenCalled()
      } finally {
        log.mockRestore()
      }
    })

    it('the onError option still wins over the store', async () => {
      const storeErrors = errorSpy()
      const optionErrors = errorSpy()
      const counter = storeOf(0, { onError: storeErrors })
      async function* failing() {
        yield 1
        throw new Error('source failed')
      }
      handledBy(failing(), counter.update, { onError: optionErrors })
      await vi.waitFor(() => expect(optionErrors).toHaveBeenCalledTimes(1))
      expect(storeErrors).not.toHaveBeenCalled()
    })
  })

  it('refuses what it cannot connect', () => {
    expect(() => handledBy(42 as never, () => {})).toThrow(/must be a Stream, a signal or an AsyncIterable/)
    expect(() => handledBy(createStream().stream, 'x' as never)).toThrow(/handler must be a function/)
  })
})
