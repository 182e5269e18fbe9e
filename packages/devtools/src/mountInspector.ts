import type { EntitySyncHandle, Presence, Sync } from '@lensync/sync-client'
import { inspectRoom, inspectSync } from '@lensync/sync-client'
import { DevtoolsError } from './DevtoolsError.ts'
import { InspectorModel } from './InspectorModel.ts'
import { InspectorView } from './InspectorView.ts'
import type { InspectedRoom, Inspector, InspectorOptions } from './types.ts'

/** How often an open panel re-reads the syncs when nothing else told it to (edits made offline). */
const REFRESH_MS = 1000

function defaultSchedule(render: () => void): void {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => render())
  else setTimeout(render, 16)
}

function validate(
  target: unknown,
  options: InspectorOptions | undefined,
): asserts options is InspectorOptions {
  if (typeof (target as Element | null)?.appendChild !== 'function' || !(target as Element).ownerDocument)
    throw new DevtoolsError(
      'BAD_TARGET',
      'mountInspector() needs an element to mount into, e.g. document.body',
    )
  if (typeof options?.socket?.frames !== 'function')
    throw new DevtoolsError(
      'BAD_OPTION',
      'mountInspector(): options.socket must be a socket made by websocket() of @lensync/sync-client',
    )
  for (const name of ['syncs', 'rooms'] as const)
    if (options[name] !== undefined && !Array.isArray(options[name]))
      throw new DevtoolsError('BAD_OPTION', `mountInspector(): options.${name} must be an array`)
  for (const name of ['schedule', 'now', 'onOpenChange'] as const)
    if (options[name] !== undefined && typeof options[name] !== 'function')
      throw new DevtoolsError('BAD_OPTION', `mountInspector(): options.${name} must be a function`)
}

/**
 * Mounts the inspector panel into `target`: a shadow-DOM panel (no
 * framework, no styles leaking in or out) showing the socket's connection
 * (URL, state, client id, reconnect attempts, round-trip time), each sync
 * (resource/id, status, source, revision, outbox, the value as a tree with
 * per-field status), the presence rooms and their members, conflicts and
 * errors, and a live frame log (decoded, filterable by type, resource and
 * direction, bounded).
 *
 * While mounted it observes the socket's frames (to keep the log) and the
 * syncs' and rooms' signals and streams; it renders only while open, at most
 * once per animation frame. `unmount()` ends every subscription: an app that
 * never mounts it pays nothing.
 *
 * Keyboard: every control is a native button, select or disclosure
 * (`<details>`); `open()` moves the focus to the panel's heading, Escape
 * closes the panel and gives the focus back.
 *
 * @param target - The element to mount into (e.g. `document.body`).
 * @param options - `socket` (required), `syncs`, `rooms`, `open`, bounds of the log.
 * @returns `{ toggle, open, close, unmount, isOpen }`.
 * @throws DevtoolsError `BAD_TARGET` without an element, `BAD_OPTION` for a bad option.
 * @example
 * const inspector = mountInspector(document.body, { socket, syncs: [sync, chat], rooms: [room] })
 * button.onclick = () => inspector.toggle()
 */
export function mountInspector(target: Element, options: InspectorOptions): Inspector {
  validate(target, options)
  const { socket } = options
  const syncs: readonly Sync[] = options.syncs ?? []
  const rooms: readonly InspectedRoom[] = options.rooms ?? []
  const schedule = options.schedule ?? defaultSchedule
  const now = options.now ?? (() => Date.now())
  const model = new InspectorModel({
    ...(options.maxFrames === undefined ? {} : { maxFrames: options.maxFrames }),
    ...(options.maxEvents === undefined ? {} : { maxEvents: options.maxEvents }),
  })
  const doc = target.ownerDocument
  const view = new InspectorView(doc, {
    onFilter: filter => {
      model.setFilter(filter)
      invalidate()
    },
    onClear: () => {
      model.clear()
      invalidate()
    },
    onClose: () => inspector.close(),
    onExpand: () => invalidate(),
  })

  let open = false
  let mounted = true
  let scheduled = false
  let refresh: ReturnType<typeof setInterval> | undefined
  let focusBefore: Element | null = null

  const render = () => {
    scheduled = false
    if (!open || !mounted) return
    view.render(
      model.state({
        connection: socket.connectionInfo.peek(),
        clientId: socket.clientId,
        syncs: syncs.map(sync => inspectSync(sync)),
        rooms: rooms.map(room => inspectRoom(room as unknown as Presence<unknown>)),
      }),
    )
  }
  function invalidate(): void {
    if (!open || !mounted || scheduled) return
    scheduled = true
    schedule(render)
  }

  const disposers: Array<() => void> = [
    socket.frames(frame => {
      model.addFrame(frame)
      invalidate()
    }),
    socket.connectionInfo.subscribe(() => invalidate()),
  ]
  syncs.forEach(sync => {
    const subject = () => {
      const look = inspectSync(sync)
      return look ? `${look.resource}/${look.id ?? '*'}` : 'sync'
    }
    disposers.push(
      sync.status.subscribe(() => invalidate()),
      sync.pending.subscribe(() => invalidate()),
      sync.errors.subscribe(error => {
        model.addError(error, now(), subject())
        invalidate()
      }),
    )
    const conflicts = (sync as Partial<Pick<EntitySyncHandle, 'conflicts'>>).conflicts
    if (conflicts)
      disposers.push(
        conflicts.subscribe(conflict => {
          model.addConflict(conflict, now(), inspectSync(sync)?.resource ?? 'sync')
          invalidate()
        }),
      )
  })
  for (const room of rooms) {
    const name = () => inspectRoom(room as unknown as Presence<unknown>)?.room ?? 'room'
    disposers.push(
      room.others.subscribe(() => invalidate()),
      room.errors.subscribe(error => {
        model.addError(error, now(), `room ${name()}`)
        invalidate()
      }),
    )
  }
  target.appendChild(view.host)

  const inspector: Inspector = {
    get isOpen() {
      return open
    },
    open() {
      if (open || !mounted) return
      open = true
      focusBefore = doc.activeElement
      view.show(true)
      render()
      refresh = setInterval(invalidate, REFRESH_MS)
      options.onOpenChange?.(true)
    },
    close() {
      if (!open) return
      open = false
      const hadFocus = view.hasFocus
      view.show(false)
      if (refresh !== undefined) clearInterval(refresh)
      refresh = undefined
      if (hadFocus) (focusBefore as HTMLElement | null)?.focus?.()
      focusBefore = null
      options.onOpenChange?.(false)
    },
    toggle() {
      if (open) inspector.close()
      else inspector.open()
      return open
    },
    unmount() {
      if (!mounted) return
      inspector.close()
      mounted = false
      for (const dispose of disposers.splice(0)) dispose()
      view.host.remove()
    },
  }
  if (options.open === true) inspector.open()
  return inspector
}
