import type { InspectedRoom } from '@lensync/devtools'
import { mountInspector } from '@lensync/devtools'
import type { Sync } from '@lensync/sync-client'
import { useEffect, useRef, useState } from 'react'
import { socket } from './connection.ts'

/**
 * The "Inspector" button: mounts `@lensync/devtools`' panel for the page's
 * socket, the list's sync and the presence room, and toggles it. The panel
 * is mounted again (kept open or closed) when the hooks hand out a new sync.
 */
export function InspectorButton({ sync, room }: { sync: Sync; room: InspectedRoom }) {
  const [open, setOpen] = useState(false)
  const inspector = useRef<ReturnType<typeof mountInspector> | undefined>(undefined)
  const wasOpen = useRef(open)
  wasOpen.current = open

  useEffect(() => {
    const mounted = mountInspector(document.body, {
      socket,
      syncs: [sync],
      rooms: [room],
      open: wasOpen.current,
      onOpenChange: setOpen,
    })
    inspector.current = mounted
    return () => {
      // Unmounting closes the panel: that is not the user's choice, keep it.
      const keep = mounted.isOpen
      mounted.unmount()
      wasOpen.current = keep
      if (inspector.current === mounted) inspector.current = undefined
    }
  }, [sync, room])

  return (
    <button
      type="button"
      className="inspector-toggle"
      aria-pressed={open}
      onClick={() => inspector.current?.toggle()}
      data-testid="inspector-toggle"
    >
      Inspector
    </button>
  )
}
