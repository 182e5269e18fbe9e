import { type Inspector, lenses, type Message, storeOf, validate } from '@lensync/store'
import { describe, expect, it } from 'vitest'
import { alice, type Person } from './fixtures.ts'

const L = lenses<Person>()

describe('validate', () => {
  const rule = (p: Person, inspector: Inspector<Person>): Message[] => {
    const messages: Message[] = []
    if (p.name.trim() === '') messages.push({ path: inspector.map(L.name).path, text: 'Name is required' })
    if (p.age < 0) messages.push({ path: inspector.map(L.age).path, text: 'Age must not be negative' })
    if (p.address.zip < 10000)
      messages.push({ path: inspector.map(L.address.zip).path, text: 'Zip has 5 digits' })
    return messages
  }

  it('does not validate the initial value, then validates every change', () => {
    const person = storeOf<Person>({ ...alice, name: '' })
    const v = validate(person, rule)
    expect(v.messages.value).toEqual([])
    expect(v.valid.value).toBe(true)
    person.map(L.age).update(-1)
    expect(v.messages.value).toEqual([
      { path: '.name', text: 'Name is required' },
      { path: '.age', text: 'Age must not be negative' },
    ])
    expect(v.valid.value).toBe(false)
    person.map(L.name).update('Al')
    person.map(L.age).update(1)
    expect(v.messages.value).toEqual([])
    v.dispose()
  })

  it('messagesFor(subStore) filters by path prefix', () => {
    const person = storeOf<Person>(alice)
    const v = validate(person, rule)
    person.update({ ...alice, name: '', address: { ...alice.address, zip: 1 } })
    const forAddress = v.messagesFor(person.map(L.address))
    expect(forAddress.value).toEqual([{ path: '.address.zip', text: 'Zip has 5 digits' }])
    expect(v.messagesFor(person.map(L.address.zip)).value).toHaveLength(1)
    expect(v.messagesFor(person.map(L.name)).value).toEqual([{ path: '.name', text: 'Name is required' }])
    expect(v.messagesFor(person).value).toHaveLength(2)
    expect(v.messagesFor('.address.street').value).toEqual([])
    person.map(L.address.zip).update(12345)
    expect(forAddress.value).toEqual([])
  })

  it('does not confuse a path with a longer sibling that shares its prefix', () => {
    type Form = { name: string; names: string[] }
    const form = storeOf<Form>({ name: '', names: [] })
    const F = lenses<Form>()
    const v = validate(form, (_f, i) => [{ path: i.map(F.names).path, text: 'Add a name' }])
    form.map(F.name).update('x')
    expect(v.messagesFor(form.map(F.name)).value).toEqual([])
    expect(v.messagesFor(form.map(F.names)).value).toHaveLength(1)
  })

  it('check() validates the current value now', () => {
    const person = storeOf<Person>({ ...alice, name: '' })
    const v = validate(person, rule)
    expect(v.check()).toEqual([{ path: '.name', text: 'Name is required' }])
    expect(v.valid.value).toBe(false)
  })

  it('validating a sub-store gives paths relative to the root', () => {
    const person = storeOf<Person>(alice)
    const address = person.map(L.address)
    const v = validate(address, (a, i) =>
      a.street === '' ? [{ path: i.map(lenses<Person['address']>().street).path, text: 'Street?' }] : [],
    )
    person.map(L.address.street).update('')
    expect(v.messagesFor(person.map(L.address.street)).value).toEqual([
      { path: '.address.street', text: 'Street?' },
    ])
  })
})
