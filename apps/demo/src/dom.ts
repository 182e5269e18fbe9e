import { effect, type ReadonlySignal, type Store } from '@lensync/store'

/** Creates an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value)
  el.append(...children)
  return el
}

/**
 * Two-way binding of an `<input>` to a `Store<string>`: typing updates the
 * store, and store changes (local or from another tab) update the input
 * without moving the caret when the text is already equal.
 * @returns A disposer.
 */
export function bindInput(input: HTMLInputElement, store: Store<string>): () => void {
  const onInput = () => store.update(input.value)
  input.addEventListener('input', onInput)
  const dispose = effect(() => {
    const value = store.data.value
    if (input.value !== value) input.value = value
  })
  return () => {
    input.removeEventListener('input', onInput)
    dispose()
  }
}

/** Shows the text of the first message of a signal in `el` (empty when none). */
export function bindMessage(
  el: HTMLElement,
  field: HTMLElement,
  messages: ReadonlySignal<readonly { text: string }[]>,
): () => void {
  return effect(() => {
    const first = messages.value[0]
    el.textContent = first?.text ?? ''
    field.classList.toggle('invalid', first !== undefined)
  })
}
