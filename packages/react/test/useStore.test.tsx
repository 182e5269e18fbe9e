// @vitest-environment happy-dom

import { useStore, useValue } from '@lensync/react'
import { lenses, signal, storeOf } from '@lensync/store'
import { act, fireEvent, render, screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { fixtures, type Person, person } from './support.ts'

fixtures()
const L = lenses<Person>()

describe('useStore / useValue', () => {
  it('re-renders a component only when the slice it reads changes', () => {
    const p = person()
    const renders = { name: 0, age: 0 }
    function Name() {
      renders.name++
      const [name] = useStore(p.map(L.name))
      return <span data-testid="name">{name}</span>
    }
    function Age() {
      renders.age++
      const age = useValue(p.map(L.age))
      return <span data-testid="age">{age}</span>
    }
    render(
      <>
        <Name />
        <Age />
      </>,
    )
    expect(renders).toEqual({ name: 1, age: 1 })

    act(() => p.map(L.age).update(37))
    expect(screen.getByTestId('age').textContent).toBe('37')
    expect(renders).toEqual({ name: 1, age: 2 })

    act(() => p.update({ ...p.current, name: 'Grace' }))
    expect(screen.getByTestId('name').textContent).toBe('Grace')
    expect(renders).toEqual({ name: 2, age: 2 })

    // A new root value with the same name and age: no slice changed identity.
    act(() => p.update({ ...p.current }))
    expect(renders).toEqual({ name: 2, age: 2 })
  })

  it('writes through the setter to the root store and to every reader', () => {
    const p = person()
    function NameField() {
      const [name, setName] = useStore(p.map(L.name))
      return <input data-testid="field" value={name} onChange={e => setName(e.target.value)} />
    }
    function Greeting() {
      const whole = useValue(p)
      return <p data-testid="greeting">Hello {whole.name}</p>
    }
    render(
      <>
        <NameField />
        <Greeting />
      </>,
    )
    fireEvent.change(screen.getByTestId('field'), { target: { value: 'Grace' } })
    expect(p.current).toEqual({ _id: 'p1', name: 'Grace', age: 36 })
    expect((screen.getByTestId('field') as HTMLInputElement).value).toBe('Grace')
    expect(screen.getByTestId('greeting').textContent).toBe('Hello Grace')
  })

  it('keeps the setter identity across renders', () => {
    const p = person()
    const setters = new Set<unknown>()
    function Name() {
      const [name, setName] = useStore(p.map(L.name))
      setters.add(setName)
      return <span>{name}</span>
    }
    render(<Name />)
    act(() => p.map(L.name).update('Grace'))
    act(() => p.map(L.name).update('Linus'))
    expect(setters.size).toBe(1)
    expect(screen.getByText('Linus')).toBeTruthy()
  })

  it('reads plain signals and computed values', () => {
    const count = signal(1)
    function Count() {
      return <span data-testid="count">{useValue(count)}</span>
    }
    render(<Count />)
    act(() => {
      count.value = 2
    })
    expect(screen.getByTestId('count').textContent).toBe('2')
  })

  it('stops listening when the component unmounts', () => {
    const p = storeOf({ n: 1 })
    let renders = 0
    function N() {
      renders++
      return <span>{useValue(p).n}</span>
    }
    const { unmount } = render(<N />)
    unmount()
    act(() => p.update({ n: 2 }))
    expect(renders).toBe(1)
  })

  it('says what to pass when given something that is not a store or signal', () => {
    function Bad() {
      useValue(42 as never)
      return null
    }
    function BadStore() {
      useStore(signal(1) as never)
      return null
    }
    const quiet = console.error
    console.error = () => {}
    try {
      expect(() => render(<Bad />)).toThrow(/useValue\/useStore take a store .* or a signal/)
      expect(() => render(<BadStore />)).toThrow(/useStore takes a store .*for a signal use useValue/)
    } finally {
      console.error = quiet
    }
  })
})
