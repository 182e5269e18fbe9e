// @vitest-environment happy-dom
// Preact needs no binding: with @preact/signals installed, a component that
// reads a lensync store's `data` signal re-renders when that signal changes.
import '@preact/signals'
import { lenses, storeOf } from '@lensync/store'
import { h, render } from 'preact'
import { act } from 'preact/test-utils'
import { describe, expect, it } from 'vitest'
import type { Person } from './support.ts'

const L = lenses<Person>()

describe('Preact with @preact/signals', () => {
  it('re-renders a component reading a sub-store only when its slice changes', () => {
    const person = storeOf<Person>({ _id: 'p1', name: 'Ada', age: 36 })
    const name = person.map(L.name)
    let renders = 0
    function Name() {
      renders++
      return h('span', null, name.data.value)
    }
    const container = document.createElement('div')
    act(() => render(h(Name, null), container))
    expect(container.textContent).toBe('Ada')

    act(() => person.map(L.age).update(37))
    expect(renders).toBe(1)

    act(() => name.update('Grace'))
    expect(container.textContent).toBe('Grace')
    expect(renders).toBe(2)
    act(() => render(null, container))
  })
})
