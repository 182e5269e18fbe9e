import { createStream, type Handler, handledBy, type Store, storeOf } from '@lensync/store'
import { describe, expectTypeOf, it } from 'vitest'

declare const button: HTMLButtonElement

describe('handlers as event listeners', () => {
  const counter = storeOf(0)

  it('passes a Handler<void> as a DOM listener and to handledBy of any stream', () => {
    const increment = counter.handle(n => n + 1)
    button.addEventListener('click', increment)
    button.addEventListener(
      'click',
      counter.handle(n => n + 1),
    )
    button.onclick = increment
    handledBy(createStream<MouseEvent>().stream, increment)
    const tick = counter.handleAndEmit<void, number>((n, _a, emit) => {
      emit(n)
      return n + 1
    })
    button.addEventListener('keydown', tick)
    handledBy(createStream<KeyboardEvent>().stream, tick)
    expectTypeOf(increment).toBeCallableWith()
    expectTypeOf(increment).toBeCallableWith(new Event('click'))
    expectTypeOf<Handler<void>>().toExtend<(event: Event) => unknown>()
  })

  it('keeps a handler with an action strict', () => {
    const add = counter.handle((n, by: number) => n + by)
    const rename = storeOf('').handle((_s, name: string) => name)
    expectTypeOf(add).toBeCallableWith(2)
    // @ts-expect-error: a click event is not a number
    button.addEventListener('click', add)
    // @ts-expect-error: a Handler<string> needs its string
    rename()
    // @ts-expect-error: not a string
    rename(new Event('click'))
    // @ts-expect-error: a MouseEvent stream cannot feed a Handler<string>
    handledBy(createStream<MouseEvent>().stream, rename)
    handledBy(createStream<string>().stream, rename)
    expectTypeOf<Handler<string>>().not.toExtend<(event: Event) => unknown>()
    // @ts-expect-error: update takes the new value
    counter.update()
  })

  it('lets generic code call handlers whose action type is a type parameter', () => {
    function replace<T>(store: Store<T>, value: T): void | Promise<void> {
      return store.update(value)
    }
    function dispatch<T, A>(store: Store<T>, reduce: (value: T, action: A) => T, action: A): void {
      store.handle(reduce)(action)
    }
    expectTypeOf(replace(counter, 1)).toEqualTypeOf<void | Promise<void>>()
    dispatch(counter, (n, by: number) => n + by, 2)
  })
})
