import {
  type EmittingHandler,
  type Handler,
  type Lens,
  lenses,
  lensForIndex,
  lensOf,
  type Path,
  type ReadonlySignal,
  type Store,
  type Stream,
  type SubStore,
  storeOf,
} from '@lensync/store'
import { describe, expectTypeOf, it } from 'vitest'

type Address = { street: string; zip: number }
type Person = {
  _id: string
  name: string
  age: number
  address: Address
  tags: string[]
  nick?: string | null
}
type Msg = { id: string; get: number; set: boolean; path: string; andThen: { deep: string } }

declare const initial: Person
const L = lenses<Person>()

describe('lenses<T>()', () => {
  it('types nested fields: lenses<Person>().address.street is a path to a Lens<Person, string>', () => {
    expectTypeOf(L.address.street).toEqualTypeOf<Path<Person, string>>()
    expectTypeOf(lensOf(L.address.street)).toEqualTypeOf<Lens<Person, string>>()
    expectTypeOf(lensOf(L.address)).toEqualTypeOf<Lens<Person, Address>>()
    expectTypeOf(L.address.street).toExtend<Path<Person, string>>()
  })

  it('does not compile a wrong property', () => {
    // @ts-expect-error: Address has no field `nope`
    void L.address.nope
    // @ts-expect-error: a string has no fields
    void L.address.street.length
    // @ts-expect-error: a path is not a Lens (its `get` would be a field)
    const notALens: Lens<Person, string> = L.name
    void notALens
  })

  it('reaches fields named id, get, set, path and andThen', () => {
    const M = lenses<Msg>()
    expectTypeOf(lensOf(M.id)).toEqualTypeOf<Lens<Msg, string>>()
    expectTypeOf(lensOf(M.get)).toEqualTypeOf<Lens<Msg, number>>()
    expectTypeOf(lensOf(M.set)).toEqualTypeOf<Lens<Msg, boolean>>()
    expectTypeOf(lensOf(M.path)).toEqualTypeOf<Lens<Msg, string>>()
    expectTypeOf(lensOf(M.andThen.deep)).toEqualTypeOf<Lens<Msg, string>>()
  })

  it('ends the path at arrays and nullable fields, and has no `then`', () => {
    expectTypeOf(lensOf(L.tags)).toEqualTypeOf<Lens<Person, string[]>>()
    expectTypeOf(lensOf(L.nick)).toEqualTypeOf<Lens<Person, string | null | undefined>>()
    type Thenish = { then: number; other: string }
    // @ts-expect-error: `then` is never a field (a path must not be a thenable)
    void lenses<Thenish>().then
  })
})

describe('stores', () => {
  const person = storeOf<Person>(initial, { id: 'person' })

  it('types data, current, update and sub-stores', () => {
    expectTypeOf(person.current).toEqualTypeOf<Person>()
    expectTypeOf(person.data).toEqualTypeOf<ReadonlySignal<Person>>()
    expectTypeOf(person.map(L.address.street)).toEqualTypeOf<SubStore<string>>()
    expectTypeOf(person.map(lensOf(L.age))).toEqualTypeOf<SubStore<number>>()
    expectTypeOf(person.map(L.tags).mapByIndex(0)).toEqualTypeOf<SubStore<string>>()
    expectTypeOf(person.map(L.tags).mapByElement('x', s => s)).toEqualTypeOf<SubStore<string>>()
    expectTypeOf(person.map(L.nick).mapNull('')).toEqualTypeOf<SubStore<string>>()
    expectTypeOf(person).toExtend<Store<Person>>()
    expectTypeOf(person.map(L.name)).toExtend<Store<string>>()
    // @ts-expect-error: a lens of another type
    person.map(lensForIndex<string>(0))
    // @ts-expect-error: update takes a whole Person
    person.update({ name: 'x' })
  })

  it('types mapByKey on records and Maps', () => {
    const stock = storeOf<Record<string, number>>({})
    expectTypeOf(stock.mapByKey('apples')).toEqualTypeOf<SubStore<number>>()
    const people = storeOf(new Map<string, Person>())
    expectTypeOf(people.mapByKey('alice')).toEqualTypeOf<SubStore<Person>>()
  })

  it('infers handler actions and emitted events', () => {
    const birthday = person.handle(p => ({ ...p, age: p.age + 1 }))
    const rename = person.handle((p, name: string) => ({ ...p, name }))
    expectTypeOf(birthday).toEqualTypeOf<Handler<void, Person>>()
    expectTypeOf(rename).toEqualTypeOf<Handler<string, Person>>()
    expectTypeOf(rename).toExtend<Handler<string>>()
    expectTypeOf(rename).toBeCallableWith('Bob')
    expectTypeOf(birthday).toBeCallableWith()
    expectTypeOf(rename).returns.toEqualTypeOf<void | Promise<void>>()
    const save = person.handleAndEmit<void, Person>((p, _a, emit) => {
      emit(p)
      return p
    })
    expectTypeOf(save).toExtend<EmittingHandler<void, Person>>()
    expectTypeOf(save.events).toEqualTypeOf<Stream<Person>>()
    // @ts-expect-error: the handler returns a Person, not a string
    person.handle(() => 'nope')
  })
})
