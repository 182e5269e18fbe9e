import { asString, effect, LensError, lenses, lensOf, type Store, SubStore, storeOf } from '@lensync/store'
import { describe, expect, it, vi } from 'vitest'
import { alice, errorSpy, type Person } from './fixtures.ts'

const L = lenses<Person>()

describe('sub-stores', () => {
  it('have ids that extend the root id and paths relative to the root', () => {
    const person = storeOf<Person>(alice, { id: 'person' })
    const street = person.map(L.address.street)
    expect(street).toBeInstanceOf(SubStore)
    expect(street.id).toBe('person.address.street')
    expect(street.path).toBe('.address.street')
    const chained = person.map(L.address).map(lenses<Person['address']>().zip)
    expect(chained.id).toBe('person.address.zip')
    expect(chained.path).toBe('.address.zip')
    const zipText = chained.map(asString.number)
    expect(zipText.id).toBe('person.address.zip')
    expect(zipText.path).toBe('.address.zip')
    expect(person.map(L.tags).mapByIndex(0).path).toBe('.tags.0')
    expect(storeOf(alice, { id: '' }).map(L.name).id).toBe('name')
  })

  it('sub is an alias of map, and map accepts a path or a Lens (same sub-store for the same lens)', () => {
    const person = storeOf<Person>(alice)
    expect(person.sub(L.name)).toBe(person.map(L.name))
    expect(person.map(lensOf(L.name))).toBe(person.map(L.name))
    expect(person.map(L.name).current).toBe('Alice')
    expect(() => person.map(42 as never)).toThrow(/store.map\(lens\) must be a Lens/)
  })

  it('writes through to the root immutably; untouched siblings keep their identity', () => {
    const person = storeOf<Person>(alice)
    const street = person.map(L.address.street)
    street.update('Main St 1')
    const next = person.current
    expect(next.address.street).toBe('Main St 1')
    expect(next).not.toBe(alice)
    expect(next.tags).toBe(alice.tags)
    expect(alice.address.street).toBe('Elm St 1')
    expect(street.current).toBe('Main St 1')
    expect(street.data.value).toBe('Main St 1')
  })

  it('notifies only when its own slice changed: an effect on address does not re-run when name changes', () => {
    const person = storeOf<Person>(alice)
    const address = person.map(L.address)
    const name = person.map(L.name)
    const addressRuns = vi.fn()
    const nameRuns = vi.fn()
    const stop1 = effect(() => addressRuns(address.data.value))
    const stop2 = effect(() => nameRuns(name.data.value))
    name.update('Bob')
    person.map(L.age).update(99)
    expect(addressRuns).toHaveBeenCalledTimes(1)
    expect(nameRuns).toHaveBeenCalledTimes(2)
    person.map(L.address.zip).update(1)
    expect(addressRuns).toHaveBeenCalledTimes(2)
    stop1()
    stop2()
  })

  it('does not notify anybody for an update with the value already there', () => {
    const person = storeOf<Person>(alice)
    const rootRuns = vi.fn()
    const stop = effect(() => rootRuns(person.data.value))
    const street = person.map(L.address.street)
    street.update('Elm St 1')
    expect(person.current).toBe(alice)
    void street.data.value
    street.update('Elm St 1')
    expect(rootRuns).toHaveBeenCalledTimes(1)
    stop()
  })

  it('handlers on a sub-store see and change the slice', () => {
    const person = storeOf<Person>(alice)
    const age = person.map(L.age)
    const older = age.handle((n, by: number) => n + by)
    older(5)
    expect(person.current.age).toBe(35)
    expect(older.store).toBe(age)
  })

  it('mapByElement follows the element by id, even when the list is reordered', () => {
    type Todo = { id: number; text: string }
    const todos = storeOf<Todo[]>([
      { id: 1, text: 'a' },
      { id: 2, text: 'b' },
    ])
    const second = todos.mapByElement({ id: 2, text: 'b' }, t => t.id)
    expect(second.path).toBe('.2')
    todos.update([...todos.current].reverse())
    second.update({ id: 2, text: 'B' })
    expect(todos.current).toEqual([
      { id: 2, text: 'B' },
      { id: 1, text: 'a' },
    ])
    const text = second.map(lenses<Todo>().text)
    expect(text.current).toBe('B')
    expect(text.path).toBe('.2.text')
  })

  it('a lens error met through a store is a handler error: reported, value unchanged, store alive', () => {
    const onError = errorSpy()
    const list = storeOf(['a', 'b', 'c', 'a'], { onError })
    const before = list.current
    list.mapByElement('z', s => s).update('y')
    list.mapByElement('a', s => s).update('y')
    list.mapByIndex(4).update('y')
    list.mapByIndex(-1).update('y')
    expect(list.current).toBe(before)
    expect(onError.mock.calls.map(([error]) => (error as LensError).code)).toEqual([
      'ELEMENT_NOT_FOUND',
      'AMBIGUOUS_ELEMENT',
      'INDEX_OUT_OF_RANGE',
      'INDEX_OUT_OF_RANGE',
    ])
    list.mapByIndex(1).update('B')
    expect(list.current).toEqual(['a', 'B', 'c', 'a'])
  })

  it('reading a sub-store whose element is gone throws the LensError', () => {
    const list = storeOf(['a', 'b'])
    const b = list.mapByElement('b', s => s)
    list.update(['a'])
    expect(() => b.current).toThrow(LensError)
    expect(() => b.data.value).toThrow(LensError)
  })

  it('mapByKey works on records and Maps and reports missing keys', () => {
    const onError = errorSpy()
    const stock = storeOf<Record<string, number>>({ apples: 3 }, { onError })
    const apples = stock.mapByKey('apples')
    expect(apples.path).toBe('.apples')
    apples.update(4)
    expect(stock.current).toEqual({ apples: 4 })
    stock.mapByKey('pears').update(1)
    expect(onError).toHaveBeenCalledWith(
      expect.objectContaining({ code: 'KEY_NOT_FOUND' }),
      expect.anything(),
    )

    const people = storeOf(new Map<string, Person>([['alice', alice]]))
    const name = people.mapByKey('alice').map(L.name)
    name.update('Alicia')
    expect(people.current.get('alice')?.name).toBe('Alicia')
  })

  it('mapNull reads null as the default and writes null for the default', () => {
    const nick = storeOf<string | null>(null, { id: 'nick' })
    const text = nick.mapNull('')
    expect(text.current).toBe('')
    expect(text.id).toBe('nick')
    text.update('Al')
    expect(nick.current).toBe('Al')
    text.update('')
    expect(nick.current).toBeNull()
  })

  it('a sub-store of a nullable field through mapNull', () => {
    type Profile = { nickname: string | null }
    const profile = storeOf<Profile>({ nickname: null })
    const nickname = profile.map(lenses<Profile>().nickname).mapNull('anonymous')
    expect(nickname.current).toBe('anonymous')
    nickname.update('zed')
    expect(profile.current.nickname).toBe('zed')
    nickname.update('anonymous')
    expect(profile.current.nickname).toBeNull()
  })

  it('implements Store<T>, so code written against the interface takes root and sub-stores', () => {
    const write = (store: Store<string>, value: string) => store.update(value)
    const person = storeOf<Person>(alice)
    write(person.map(L.name), 'Bob')
    const names = storeOf('x')
    write(names, 'y')
    expect(person.current.name).toBe('Bob')
    expect(names.current).toBe('y')
  })

  it('reads and skips no-op writes from what it last saw, and sees every write made elsewhere', () => {
    const person = storeOf<Person>(alice)
    const street = person.map(L.address.street)
    const runs = vi.fn()
    const dispose = effect(() => runs(street.data.value))
    street.update('Elm St 1')
    expect(person.current).toBe(alice)
    expect(runs).toHaveBeenCalledTimes(1)
    person.map(L.address).update({ ...alice.address, street: 'Oak St 2' })
    expect(street.current).toBe('Oak St 2')
    street.update('Oak St 2')
    expect(runs).toHaveBeenCalledTimes(2)
    person.update(alice)
    expect(street.current).toBe('Elm St 1')
    street.update('Oak St 2')
    expect(person.current.address.street).toBe('Oak St 2')
    expect(runs).toHaveBeenCalledTimes(4)
    dispose()
  })

  it('reads a format lens back through the lens after writing it (it may not return what was written)', () => {
    const person = storeOf<Person>(alice)
    const zipText = person.map(L.address.zip).map(asString.number)
    zipText.update('0042')
    expect(person.current.address.zip).toBe(42)
    expect(zipText.current).toBe('42')
    zipText.update('42')
    expect(person.current.address.zip).toBe(42)
  })

  it('keeps current equal to the stored value when an effect throws while reacting to a sub-store write', () => {
    const onError = errorSpy()
    const person = storeOf<Person>(alice, { onError })
    const street = person.map(L.address.street)
    const dispose = effect(() => {
      if (street.data.value === 'Boom St') throw new Error('effect failed')
    })
    street.update('Boom St')
    expect(onError).toHaveBeenCalledTimes(1)
    expect(person.current.address.street).toBe('Boom St')
    expect(street.current).toBe('Boom St')
    street.update('Calm St')
    expect(street.current).toBe('Calm St')
    dispose()
  })
})
