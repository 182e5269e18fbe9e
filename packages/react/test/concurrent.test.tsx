// @vitest-environment happy-dom
import { useValue } from '@lensync/react'
import { type Store, storeOf } from '@lensync/store'
import { startTransition, useLayoutEffect, useState } from 'react'
import { createRoot, type Root } from 'react-dom/client'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

// These tests need React's real scheduler, which yields to the event loop
// during a transition render (act() would render everything in one go).
beforeAll(() => {
  ;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false
})

const READERS = 8
const readerIds = Array.from({ length: READERS }, (_, i) => `reader-${i}`)
let root: Root | undefined
afterEach(() => {
  root?.unmount()
  root = undefined
})

/** A component slow enough (~2 ms) that React yields between such components. */
function busy(): void {
  const end = performance.now() + 2
  while (performance.now() < end) {
    // simulated rendering work
  }
}

/**
 * Renders READERS components reading `store` with `read`, then re-renders them
 * all in a transition and writes the store as soon as React yields in the
 * middle of that render. Returns what every commit showed and the values each
 * render read, once `settled(shown)` holds for the page.
 */
async function writeDuringTransition(
  read: (store: Store<{ n: number }>) => number,
  settled: (shown: string[]) => boolean,
) {
  const store = storeOf({ n: 0 })
  const commits: string[][] = []
  const log: Array<number | 'written'> = []
  const container = document.createElement('div')
  document.body.append(container)
  const shown = () => [...container.querySelectorAll('[data-n]')].map(e => e.textContent ?? '')
  let transitionStarted: () => void = () => {}
  const started = new Promise<void>(resolve => {
    transitionStarted = resolve
  })

  function Reader({ round }: { round: number }) {
    const n = read(store)
    log.push(n)
    // Resolving here continues the test in a microtask, which runs once React
    // yields to the event loop, with the other readers still to render.
    if (round === 1) transitionStarted()
    busy()
    // Layout effects of one commit run after all its DOM changes: each sees the whole commit.
    useLayoutEffect(() => {
      commits.push(shown())
    })
    return (
      <li data-n data-round={round}>
        {n}
      </li>
    )
  }
  let rerender: (round: number) => void = () => {}
  function List() {
    const [round, setRound] = useState(0)
    rerender = r => startTransition(() => setRound(r))
    return (
      <ul>
        {readerIds.map(id => (
          <Reader key={id} round={round} />
        ))}
      </ul>
    )
  }

  root = createRoot(container)
  root.render(<List />)
  await vi.waitFor(() => expect(shown()).toHaveLength(READERS))
  log.length = 0
  commits.length = 0

  rerender(1)
  await started
  store.update({ n: 1 })
  log.push('written')
  await vi.waitFor(() => expect(settled(shown())).toBe(true))
  return { commits, log }
}

describe('concurrent rendering', () => {
  it('shows one value in every commit when the store changes during a transition render', async () => {
    const { commits, log } = await writeDuringTransition(
      store => useValue(store).n,
      shown => shown.every(n => n === '1'),
    )
    // The write really landed in the middle of a render: readers had read 0 before it.
    const written = log.indexOf('written')
    expect(written).toBeGreaterThan(0)
    expect(written).toBeLessThan(READERS)
    expect(log.slice(0, written).every(n => n === 0)).toBe(true)
    for (const commit of commits) expect(new Set(commit).size).toBe(1)
    expect(commits.at(-1)).toEqual(Array(READERS).fill('1'))
  })

  it('(control) reading store.current during render tears in the same situation', async () => {
    const { commits, log } = await writeDuringTransition(
      store => store.current.n,
      shown => shown.includes('1'),
    )
    const written = log.indexOf('written')
    expect(written).toBeGreaterThan(0)
    expect(written).toBeLessThan(READERS)
    expect(commits.some(commit => new Set(commit).size > 1)).toBe(true)
  })
})
