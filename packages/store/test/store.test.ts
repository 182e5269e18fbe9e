import { effect, lenses, RootStore, storeOf } from '@lensync/store'
import { describe, expect, it, vi } from 'vitest'
import { alice, deferred, errorSpy, type Person } from './fixtures.ts'

describe('RootStore', () => {
  it('counts 0 → 1 → 42 → 39 with update and handlers (fritz2 counter)', () => {
    const counter = storeOf(0, { id: 'counter' })
    const seen: number[] = []
    const dispose = effect(() => {
      seen.push(counter.data.value)
    })
    const increment = counter.handle(n => n + 1)
    const subtract = counter.handle((n, by: number) => n - by)

    increment()
    expect(counter.current).toBe(1)
    counter.update(42)
    expect(counter.current).toBe(42)
    subtract(3)
    expect(counter.current).toBe(39)
    expect(seen).toEqual([0, 1, 42, 39])
    dispose()
  })

  it('storeOf is new RootStore, with the id given or a generated one', () => {
    expect(storeOf(1, { id: 'x' })).toBeInstanceOf(RootStore)
    expect(new RootStore(1, { id: 'person' }).id).toBe('person')
    const a = storeOf(1)
    const b = storeOf(1)
    expect(a.id).toMatch(/^store-\d+$/)
    expect(a.id).not.toBe(b.id)
    expect(a.path).toBe('')
  })

  it('validates options up front with a message that says what to do', () => {
    expect(() => storeOf(1, { id: 3 as never })).toThrow(/options.id must be a string/)
    expect(() => storeOf(1, { onError: 'log' as never })).toThrow(/onError must be a function/)
    expect(() => storeOf(1).handle('x' as never)).toThrow(/needs a function/)
  })

  it('stores exactly the value given to update (no copy) and does not notify for the same object', () => {
    const person = storeOf<Person>(alice)
    const runs = vi.fn()
    const dispose = effect(() => runs(person.data.value))
    const next = { ...alice, age: 31 }
    person.update(next)
    expect(person.current).toBe(next)
    expect(person.data.value).toBe(next)
    person.update(next)
    expect(runs).toHaveBeenCalledTimes(2)
    dispose()
  })

  it('applies a sync handler at once: current is new and data has notified when the call returns', () => {
    const person = storeOf<Person>(alice)
    let notified: Person | undefined
    const dispose = person.data.subscribe(value => {
      notified = value
    })
    const rename = person.handle((p, name: string) => ({ ...p, name }))
    expect(rename('Bob')).toBeUndefined()
    expect(person.current.name).toBe('Bob')
    expect(notified?.name).toBe('Bob')
    dispose()
  })

  it('attaches the store to its handlers, which are plain functions usable as listeners', () => {
    const counter = storeOf(0)
    const increment = counter.handle(n => n + 1)
    expect(increment.store).toBe(counter)
    expect(counter.update.store).toBe(counter)
    // The handler itself is the listener: it gets the event and ignores it.
    const target = new EventTarget()
    target.addEventListener('click', increment)
    target.dispatchEvent(new Event('click'))
    target.dispatchEvent(new Event('click'))
    expect(counter.current).toBe(2)
    target.removeEventListener('click', increment)
    target.dispatchEvent(new Event('click'))
    expect(counter.current).toBe(2)
  })

  it('keeps the value when a handler throws, reports it to onError and keeps working', () => {
    const onError = errorSpy()
    const counter = storeOf(1, { onError })
    const boom = new Error('boom')
    const fail = counter.handle((): number => {
      throw boom
    })
    const increment = counter.handle(n => n + 1)
    fail()
    expect(counter.current).toBe(1)
    expect(onError).toHaveBeenCalledWith(boom, counter)
    increment()
    expect(counter.current).toBe(2)
  })

  it('reports an effect that throws on a change, and the value is still stored', () => {
    const onError = errorSpy()
    const counter = storeOf(0, { onError })
    const dispose = effect(() => {
      if (counter.data.value === 2) throw new Error('effect failed')
    })
    counter.update(2)
    expect(counter.current).toBe(2)
    expect(onError).toHaveBeenCalledTimes(1)
    counter.update(3)
    expect(counter.current).toBe(3)
    dispose()
  })

  it('defaults onError to console.error', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const counter = storeOf(0)
      counter.handle((): number => {
        throw new Error('logged')
      })()
      expect(log).toHaveBeenCalledWith(expect.objectContaining({ message: 'logged' }))
    } finally {
      log.mockRestore()
    }
  })

  it('survives an onError that throws', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const counter = storeOf(0, {
        onError: () => {
          throw new Error('handler of errors failed')
        },
      })
      counter.handle((): number => {
        throw new Error('first')
      })()
      counter.update(5)
      expect(counter.current).toBe(5)
      expect(log).toHaveBeenCalled()
    } finally {
      log.mockRestore()
    }
  })
})

describe('the handler queue', () => {
  it('runs handlers called during an async one in call order: slow(a); fast(b); slow(c) → [a, b, c]', async () => {
    const list = storeOf<string[]>([])
    const gates: ReturnType<typeof deferred<void>>[] = []
    const slow = list.handle(async (items, item: string) => {
      const gate = deferred<void>()
      gates.push(gate)
      await gate.promise
      return [...items, item]
    })
    const fast = list.handle((items, item: string) => [...items, item])

    const a = slow('a')
    const b = fast('b')
    const c = slow('c')
    expect(a).toBeInstanceOf(Promise)
    expect(b).toBeInstanceOf(Promise)
    expect(list.current).toEqual([])

    await vi.waitFor(() => expect(gates).toHaveLength(1))
    gates[0]!.resolve()
    await b
    expect(list.current).toEqual(['a', 'b'])
    await vi.waitFor(() => expect(gates).toHaveLength(2))
    gates[1]!.resolve()
    await Promise.all([a, c])
    expect(list.current).toEqual(['a', 'b', 'c'])
  })

  it('lets the caller await an async handler; the promise resolves once applied', async () => {
    const counter = storeOf(0)
    const load = counter.handle(async (_n, value: number) => value)
    const pending = load(7)
    expect(counter.current).toBe(0)
    await pending
    expect(counter.current).toBe(7)
  })

  it('queues update() behind a pending async handler, then applies at once again', async () => {
    const counter = storeOf(0)
    const gate = deferred<void>()
    const slowAdd = counter.handle(async (n, by: number) => {
      await gate.promise
      return n + by
    })
    const first = slowAdd(1)
    const queued = counter.update(10)
    expect(queued).toBeInstanceOf(Promise)
    expect(counter.current).toBe(0)
    gate.resolve()
    await first
    await queued
    expect(counter.current).toBe(10)
    expect(counter.update(11)).toBeUndefined()
    expect(counter.current).toBe(11)
  })

  it('reports a rejected async handler, keeps the value, never rejects, and runs the next ones', async () => {
    const onError = errorSpy()
    const counter = storeOf(1, { onError })
    const fail = counter.handle(async (): Promise<number> => {
      throw new Error('rejected')
    })
    const increment = counter.handle(n => n + 1)
    const failed = fail()
    const next = increment()
    await expect(failed).resolves.toBeUndefined()
    await next
    expect(counter.current).toBe(2)
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'rejected' }), counter)
  })

  it('runs a handler called from inside another handler after it, with its result', () => {
    const log = storeOf<string[]>([])
    const append = log.handle((items, item: string) => [...items, item])
    const outer = log.handle(items => {
      append('inner')
      return [...items, 'outer']
    })
    outer()
    expect(log.current).toEqual(['outer', 'inner'])
  })

  it('lets an effect call a handler on the same store when it sees a change', () => {
    const counter = storeOf(0)
    const clamp = counter.handle(n => Math.min(n, 10))
    const dispose = effect(() => {
      if (counter.data.value > 10) clamp()
    })
    counter.update(50)
    expect(counter.current).toBe(10)
    dispose()
  })

  it('shares one queue between a root store and its sub-stores', async () => {
    const person = storeOf<Person>(alice)
    const gate = deferred<void>()
    const slowBirthday = person.handle(async p => {
      await gate.promise
      return { ...p, age: p.age + 1 }
    })
    const name = person.map(lenses<Person>().name)
    const pending = slowBirthday()
    const renamed = name.update('Bob')
    expect(renamed).toBeInstanceOf(Promise)
    gate.resolve()
    await pending
    await renamed
    expect(person.current).toMatchObject({ age: 31, name: 'Bob' })
  })
})

describe('handleAndEmit and handleOnlyEmit', () => {
  it('emits what the handler emits on handler.events and updates the value', () => {
    const person = storeOf<Person>(alice)
    const save = person.handleAndEmit<void, Person>((p, _action, emit) => {
      emit(p)
      return { ...p, age: p.age + 1 }
    })
    const saved: Person[] = []
    const off = save.events.subscribe(p => saved.push(p))
    save()
    expect(saved).toEqual([alice])
    expect(person.current.age).toBe(31)
    off()
    save()
    expect(saved).toHaveLength(1)
  })

  it('loses events emitted while nobody subscribes', () => {
    const counter = storeOf(0)
    const tick = counter.handleAndEmit<void, number>((n, _a, emit) => {
      emit(n)
      return n + 1
    })
    tick()
    const seen: number[] = []
    tick.events.subscribe(n => seen.push(n))
    tick()
    expect(seen).toEqual([1])
  })

  it('handleOnlyEmit emits and leaves the value unchanged', () => {
    const person = storeOf<Person>(alice)
    const runs = vi.fn()
    const dispose = effect(() => runs(person.data.value))
    const announce = person.handleOnlyEmit<string, string>((p, greeting, emit) =>
      emit(`${greeting}, ${p.name}`),
    )
    const said: string[] = []
    announce.events.subscribe(s => said.push(s))
    announce('Hello')
    expect(said).toEqual(['Hello, Alice'])
    expect(person.current).toBe(alice)
    expect(runs).toHaveBeenCalledTimes(1)
    dispose()
  })

  it('an async handleOnlyEmit holds the queue until it settles', async () => {
    const counter = storeOf(0)
    const gate = deferred<void>()
    const report = counter.handleOnlyEmit<void, number>(async (n, _a, emit) => {
      await gate.promise
      emit(n)
    })
    const seen: number[] = []
    report.events.subscribe(n => seen.push(n))
    const pending = report()
    const queued = counter.update(5)
    gate.resolve()
    await pending
    await queued
    expect(seen).toEqual([0])
    expect(counter.current).toBe(5)
  })
})
