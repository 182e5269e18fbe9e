import { mountInspector } from '@lensync/devtools'
import type { Presence, Sync } from '@lensync/sync-client'
import { socket } from './connection.ts'

/**
 * Adds an "Inspector" button to the header (`data-testid="inspector-toggle"`)
 * that toggles `@lensync/devtools`' panel: the page's socket, its syncs and
 * its presence room, and the frames on the wire.
 *
 * @param header - Where the button goes (its last child).
 * @param syncs - The page's syncs.
 * @param room - The page's presence room.
 * @returns A disposer: unmounts the panel and removes the button.
 */
export function mountInspectorButton<P>(
  header: HTMLElement,
  syncs: readonly Sync[],
  room: Presence<P>,
): () => void {
  const button = document.createElement('button')
  button.type = 'button'
  button.className = 'inspector-toggle'
  button.textContent = 'Inspector'
  button.dataset.testid = 'inspector-toggle'
  button.setAttribute('aria-pressed', 'false')
  Object.assign(button.style, {
    font: 'inherit',
    marginLeft: '12px',
    padding: '4px 10px',
    borderRadius: '6px',
    border: '1px solid #d0d5dd',
    background: '#fff',
    cursor: 'pointer',
  })
  const inspector = mountInspector(document.body, {
    socket,
    syncs,
    rooms: [room],
    onOpenChange: open => button.setAttribute('aria-pressed', String(open)),
  })
  button.addEventListener('click', () => inspector.toggle())
  header.append(button)
  return () => {
    inspector.unmount()
    button.remove()
  }
}
