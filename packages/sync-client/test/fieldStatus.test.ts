import { lenses, type ReadonlySignal, storeOf } from '@lensync/store'
import { type FieldStatus, resource, type StandardSchemaV1, syncList, syncWith } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'
import { syncFixtures, testSocket, until } from './helpers.ts'

type Person = { _id: string; name: string; age: number; address: { street: string; city: string } }
const person = (): Person => ({
  _id: 'p1',
  name: 'Ada',
  age: 36,
  address: { street: 'Main St', city: 'Bern' },
})
const L = lenses<Person>()

// The server refuses an age above 150.
const PersonSchema: StandardSchemaV1<unknown, Person> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      const age = (value as Person | null)?.age
      return typeof age === 'number' && age <= 150
        ? { value: value as Person }
        : { issues: [{ message: 'age must be at most 150', path: ['age'] }] }
    },
  },
}
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
const { cleanups, track, server } = syncFixtures()

/** Every value `status` takes, from now on. */
function history(status: ReadonlySignal<FieldStatus>): FieldStatus[] {
  const seen: FieldStatus[] = []
  cleanups.push(status.subscribe(value => seen.push(value)))
  return seen
}

describe('fieldStatus', () => {
  it('is pending while an edit of the field or below is unacknowledged, then synced', async () => {
    const { url } = await server()
    const store = storeOf(person())
    const sync = track(syncWith(store, testSocket(url), PersonResource))
    await sync.flush()
    const street = sync.fieldStatus(L.address.street)
    const address = sync.fieldStatus('.address')
    const name = sync.fieldStatus(L.name)
    const whole = sync.fieldStatus('')
    expect([street.value, address.value, name.value, whole.value]).toEqual([
      'synced',
      'synced',
      'synced',
      'synced',
    ])
    const streetSeen = history(street)

    store.map(L.address.street).update('Side St')
    expect(street.value).toBe('pending')
    expect(address.value).toBe('pending')
    expect(whole.value).toBe('pending')
    expect(name.value).toBe('synced')
    expect(sync.fieldStatus(L.address.city).value).toBe('synced')
    await sync.flush()
    expect([street.value, address.value, whole.value]).toEqual(['synced', 'synced', 'synced'])
    expect(streetSeen).toEqual(['synced', 'pending', 'synced'])
  })

  it('gives the same signal for the same field, by lens or by store path', async () => {
    const { url } = await server()
    const store = storeOf(person())
    const sync = track(syncWith(store, testSocket(url), PersonResource))
    expect(sync.fieldStatus(L.address.street)).toBe(sync.fieldStatus(store.map(L.address.street).path))
    expect(() => sync.fieldStatus('address')).toThrowError(expect.objectContaining({ code: 'BAD_ARGUMENT' }))
  })

  it('is rejected after the server refuses the edit, until the next edit of that field', async () => {
    const { url } = await server({ resources: { person: { schema: PersonSchema } } })
    const store = storeOf(person())
    const sync = track(syncWith(store, testSocket(url), PersonResource))
    cleanups.push(sync.errors.subscribe(() => {}))
    await sync.flush()
    const age = sync.fieldStatus(L.age)
    const name = sync.fieldStatus(L.name)

    store.map(L.age).update(999)
    expect(age.value).toBe('pending')
    await until(age, s => s === 'rejected', 'the age to be rejected')
    expect(store.current.age).toBe(36)
    expect(name.value).toBe('synced')
    expect(sync.fieldStatus('').value).toBe('rejected')

    // Another field's edit leaves the refusal as it is.
    store.map(L.name).update('Grace')
    await sync.flush()
    expect(age.value).toBe('rejected')
    expect(name.value).toBe('synced')

    store.map(L.age).update(37)
    expect(age.value).toBe('pending')
    await sync.flush()
    expect(age.value).toBe('synced')
  })

  it('of a syncList item: pending while an edit of that item field is unacknowledged', async () => {
    const { url } = await server()
    type Message = { id: string; text: string; from: string }
    const M = lenses<Message>()
    const store = storeOf<Message[]>([{ id: 'm1', text: 'hi', from: 'Ada' }])
    const sync = track(
      syncList(store, testSocket(url), resource<Message>({ name: 'message', id: m => m.id })),
    )
    await sync.flush()
    const text = sync.fieldStatus('m1', M.text)
    const from = sync.fieldStatus('m1', '.from')
    expect(sync.fieldStatus('m1', M.text)).toBe(text)
    expect([text.value, from.value, sync.fieldStatus('m2').value]).toEqual(['synced', 'synced', 'synced'])

    store.update([{ id: 'm1', text: 'hello', from: 'Ada' }])
    expect(text.value).toBe('pending')
    expect(from.value).toBe('synced')
    expect(sync.fieldStatus('m1').value).toBe('pending')
    await sync.flush()
    expect(text.value).toBe('synced')

    store.update([...store.current, { id: 'm2', text: 'new', from: 'Ada' }])
    expect(sync.fieldStatus('m2').value).toBe('pending')
    await sync.flush()
    expect(sync.fieldStatus('m2').value).toBe('synced')
  })
})
