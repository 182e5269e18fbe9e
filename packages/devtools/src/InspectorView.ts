import { inspectorStyles } from './styles.ts'
import type { FrameFilter, InspectorState, LoggedFrame, SyncView, ValueNode } from './types.ts'

/** What the view reports back to its mount. @internal */
export interface ViewHandlers {
  onFilter(filter: FrameFilter): void
  onClear(): void
  onClose(): void
  /** The user opened or closed a part (a tree node, a frame): render again. */
  onExpand(): void
}

/** Frames rendered at most (the newest); the model may keep more. */
const MAX_RENDERED_FRAMES = 200

type Attrs = Record<string, string | number | boolean | undefined>

/** An element with attributes and children (text is set as text, never parsed as HTML). */
function h(doc: Document, tag: string, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElement {
  const el = doc.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    el.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children) el.append(child)
  return el
}

const two = (n: number) => String(n).padStart(2, '0')
function clock(time: number): string {
  const d = new Date(time)
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`
}

function bytes(size: number): string {
  return size < 1024 ? `${size} B` : `${(size / 1024).toFixed(1)} KiB`
}

/**
 * The panel's DOM: a shadow root holding the style sheet and the panel,
 * re-rendered from an {@link InspectorState}. The structure and the filter
 * controls are made once; the lists are rebuilt on each render, keeping
 * which parts are open and where the focus was.
 * @internal
 */
export class InspectorView {
  /** The element mounted into the page; the panel lives in its shadow root. */
  readonly host: HTMLElement
  readonly panel: HTMLElement
  private readonly root: ShadowRoot
  private readonly doc: Document
  private readonly heading: HTMLElement
  private readonly connection: HTMLElement
  private readonly syncs: HTMLElement
  private readonly rooms: HTMLElement
  private readonly events: HTMLElement
  private readonly frames: HTMLElement
  private readonly count: HTMLElement
  private readonly typeSelect: HTMLSelectElement
  private readonly resourceSelect: HTMLSelectElement
  private readonly directionSelect: HTMLSelectElement
  /** Tree nodes and frames the user opened or closed, by key: `true` open. */
  private readonly expanded = new Map<string, boolean>()

  constructor(
    doc: Document,
    private readonly handlers: ViewHandlers,
  ) {
    this.doc = doc
    this.host = h(doc, 'div', { 'data-lensync-inspector': '' })
    this.root = this.host.attachShadow({ mode: 'open' })
    const style = h(doc, 'style')
    style.textContent = inspectorStyles
    this.heading = h(doc, 'h2', { tabindex: -1, id: 'lensync-inspector-title' }, 'lensync inspector')
    const clear = h(doc, 'button', { type: 'button', 'data-testid': 'inspector-clear' }, 'Clear log')
    const close = h(
      doc,
      'button',
      { type: 'button', 'aria-label': 'Close the inspector', 'data-testid': 'inspector-close' },
      '×',
    )
    clear.addEventListener('click', () => handlers.onClear())
    close.addEventListener('click', () => handlers.onClose())
    this.connection = h(doc, 'dl', { 'data-testid': 'connection' })
    this.syncs = h(doc, 'div', { 'data-testid': 'syncs' })
    this.rooms = h(doc, 'div', { 'data-testid': 'rooms' })
    this.events = h(doc, 'ol', { class: 'events', 'data-testid': 'events' })
    this.frames = h(doc, 'ol', { class: 'frames', 'data-testid': 'frames' })
    this.count = h(doc, 'p', { class: 'muted', 'data-testid': 'frame-count' })
    this.typeSelect = h(doc, 'select', { 'data-testid': 'filter-type' }) as HTMLSelectElement
    this.resourceSelect = h(doc, 'select', { 'data-testid': 'filter-resource' }) as HTMLSelectElement
    this.directionSelect = h(doc, 'select', { 'data-testid': 'filter-direction' }) as HTMLSelectElement
    this.directionSelect.append(
      h(doc, 'option', { value: '' }, 'both'),
      h(doc, 'option', { value: 'out' }, '↑ out'),
      h(doc, 'option', { value: 'in' }, '↓ in'),
    )
    for (const select of [this.typeSelect, this.resourceSelect, this.directionSelect])
      select.addEventListener('change', () => handlers.onFilter(this.filterOf()))
    const section = (id: string, title: string, ...content: HTMLElement[]) =>
      h(doc, 'section', { 'aria-labelledby': id }, h(doc, 'h3', { id }, title), ...content)
    this.panel = h(
      doc,
      'aside',
      {
        class: 'panel',
        role: 'region',
        'aria-labelledby': 'lensync-inspector-title',
        'data-testid': 'inspector',
        hidden: true,
      },
      h(doc, 'header', {}, this.heading, clear, close),
      h(
        doc,
        'div',
        { class: 'body' },
        section('li-connection', 'Connection', this.connection),
        section('li-syncs', 'Syncs', this.syncs),
        section('li-rooms', 'Presence', this.rooms),
        section('li-events', 'Conflicts and errors', this.events),
        section(
          'li-frames',
          'Frames',
          h(
            doc,
            'div',
            { class: 'filters' },
            h(doc, 'label', {}, 'type ', this.typeSelect),
            h(doc, 'label', {}, 'resource ', this.resourceSelect),
            h(doc, 'label', {}, 'direction ', this.directionSelect),
          ),
          this.count,
          this.frames,
        ),
      ),
    )
    this.panel.addEventListener('keydown', event => {
      if (event.key === 'Escape') {
        event.stopPropagation()
        handlers.onClose()
      }
    })
    this.root.append(style, this.panel)
  }

  /** Shows or hides the panel; when shown, the focus moves to its heading. */
  show(visible: boolean): void {
    this.panel.hidden = !visible
    if (visible) this.heading.focus()
  }

  /** Whether the focus is inside the panel. */
  get hasFocus(): boolean {
    return this.root.activeElement !== null
  }

  /** Renders `state`. */
  render(state: InspectorState): void {
    const focused = (this.root.activeElement as HTMLElement | null)?.dataset?.key
    this.renderConnection(state)
    this.syncs.replaceChildren(
      ...(state.syncs.length === 0
        ? [h(this.doc, 'p', { class: 'muted' }, 'No syncs given.')]
        : state.syncs.map((sync, i) => this.renderSync(sync, i))),
    )
    this.rooms.replaceChildren(
      ...(state.rooms.length === 0
        ? [h(this.doc, 'p', { class: 'muted' }, 'No rooms given.')]
        : state.rooms.map(room =>
            h(
              this.doc,
              'div',
              { class: 'room', 'data-testid': 'room', 'data-room': room.room },
              h(this.doc, 'div', {}, h(this.doc, 'strong', {}, room.room), ' ', this.badge(room.phase)),
              h(this.doc, 'div', { class: 'muted' }, `me: ${room.self}`),
              h(
                this.doc,
                'ul',
                {},
                ...room.members.map(member =>
                  h(
                    this.doc,
                    'li',
                    { 'data-testid': 'member' },
                    h(this.doc, 'span', { class: 'key' }, member.client),
                    ` ${member.state}`,
                  ),
                ),
              ),
            ),
          )),
    )
    this.events.replaceChildren(
      ...(state.events.length === 0
        ? [h(this.doc, 'li', { class: 'muted' }, 'None.')]
        : [...state.events]
            .reverse()
            .map(event =>
              h(
                this.doc,
                'li',
                { class: event.kind, 'data-testid': 'event', 'data-kind': event.kind },
                `${clock(event.time)} ${event.kind} ${event.subject} — ${event.text}`,
              ),
            )),
    )
    this.renderFilters(state)
    const shown = state.frames.slice(-MAX_RENDERED_FRAMES).reverse()
    this.count.textContent = `${state.frames.length} shown · ${state.framesKept} kept · ${state.framesSeen} seen (newest first)`
    this.frames.replaceChildren(...shown.map(frame => this.renderFrame(frame)))
    if (focused !== undefined)
      for (const el of this.root.querySelectorAll<HTMLElement>('[data-key]'))
        if (el.dataset.key === focused) {
          el.focus()
          break
        }
  }

  private filterOf(): FrameFilter {
    const value = (select: HTMLSelectElement) => (select.value === '' ? undefined : select.value)
    return {
      type: value(this.typeSelect),
      resource: value(this.resourceSelect),
      direction: value(this.directionSelect) as FrameFilter['direction'],
    }
  }

  private renderFilters(state: InspectorState): void {
    const fill = (select: HTMLSelectElement, values: readonly string[], current: string | undefined) => {
      const wanted = ['', ...values, ...(current !== undefined && !values.includes(current) ? [current] : [])]
      const existing = [...select.options].map(option => option.value)
      if (existing.length !== wanted.length || existing.some((value, i) => value !== wanted[i])) {
        select.replaceChildren(
          ...wanted.map(value => h(this.doc, 'option', { value }, value === '' ? 'all' : value)),
        )
      }
      select.value = current ?? ''
    }
    fill(this.typeSelect, state.types, state.filter.type)
    fill(this.resourceSelect, state.resources, state.filter.resource)
    this.directionSelect.value = state.filter.direction ?? ''
  }

  private badge(value: string, testid?: string): HTMLElement {
    return h(this.doc, 'span', { class: 'badge', 'data-value': value, 'data-testid': testid }, value)
  }

  private renderConnection(state: InspectorState): void {
    const c = state.connection
    const row = (label: string, value: Node | string, testid: string) => [
      h(this.doc, 'dt', {}, label),
      h(this.doc, 'dd', { 'data-testid': testid }, value),
    ]
    const rtt =
      c.rtt === undefined
        ? '—'
        : `${c.rtt} ms (median ${c.rttMedian === undefined ? '—' : Math.round(c.rttMedian)} ms)`
    this.connection.replaceChildren(
      ...row('state', this.badge(c.state, 'conn-state'), 'conn-state-row'),
      ...row('url', c.url || '—', 'conn-url'),
      ...row('client', c.clientId, 'conn-client'),
      ...row('attempts', String(c.attempts), 'conn-attempts'),
      ...row('opens', String(c.opens), 'conn-opens'),
      ...row('round trip', rtt, 'conn-rtt'),
    )
  }

  private renderSync(sync: SyncView, index: number): HTMLElement {
    const key = `sync:${index}`
    const details = this.expandable(key, true, {
      class: 'sync',
      'data-testid': 'sync',
      'data-title': sync.title,
    })
    const row = (label: string, value: string, testid: string) => [
      h(this.doc, 'dt', {}, label),
      h(this.doc, 'dd', { 'data-testid': testid }, value),
    ]
    details.append(
      h(this.doc, 'summary', { 'data-key': key }, `${sync.title} `, this.badge(sync.status, 'sync-status')),
      h(
        this.doc,
        'dl',
        {},
        ...row('source', sync.source, 'sync-source'),
        ...row('revision', String(sync.revision), 'sync-revision'),
        ...row('outbox', String(sync.outbox), 'sync-outbox'),
      ),
      h(this.doc, 'ul', { class: 'tree', role: 'tree' }, this.renderNode(sync.tree, `${key}:`, 0)),
    )
    return details
  }

  private renderNode(node: ValueNode, keyPrefix: string, depth: number): HTMLElement {
    const label = node.key === '' ? '(value)' : node.key
    const status = h(this.doc, 'span', { class: 'badge', 'data-value': node.status }, node.status)
    const li = h(this.doc, 'li', {
      role: 'treeitem',
      'data-testid': 'field',
      'data-path': node.path,
      'data-status': node.status,
    })
    if (node.kind === 'value') {
      li.append(
        h(this.doc, 'span', { class: 'key' }, label),
        ': ',
        h(this.doc, 'span', { class: 'preview' }, node.preview),
        ' ',
        status,
      )
      return li
    }
    const key = `${keyPrefix}${node.path}`
    const details = this.expandable(key, depth < 2)
    details.append(
      h(
        this.doc,
        'summary',
        { 'data-key': key, 'data-status': node.status },
        h(this.doc, 'span', { class: 'key' }, label),
        ' ',
        h(this.doc, 'span', { class: 'muted' }, node.preview),
        ' ',
        status,
      ),
      h(
        this.doc,
        'ul',
        { role: 'group' },
        ...node.children.map(child => this.renderNode(child, keyPrefix, depth + 1)),
      ),
    )
    li.append(details)
    return li
  }

  private renderFrame(frame: LoggedFrame): HTMLElement {
    const key = `frame:${frame.seq}`
    const types = frame.messages.map(message => message.type)
    const arrow = frame.direction === 'out' ? '↑' : '↓'
    const details = this.expandable(key, false)
    const summary = h(
      this.doc,
      'summary',
      { 'data-key': key },
      h(this.doc, 'span', { class: `dir-${frame.direction}` }, `${arrow} ${frame.direction}`),
      ` ${clock(frame.time)} · ${bytes(frame.size)} · `,
      ...frame.messages.flatMap((message, i) => [
        i === 0 ? '' : ' | ',
        h(this.doc, 'strong', {}, message.type),
        message.summary === '' ? '' : ` ${message.summary}`,
      ]),
    )
    if (frame.messages.some(message => message.problem !== undefined)) summary.classList.add('problem')
    details.append(summary)
    if (details.open) {
      const bodies = frame.messages.map(message => message.body)
      details.append(
        h(this.doc, 'pre', {}, JSON.stringify(bodies.length === 1 ? bodies[0] : bodies, null, 2)),
      )
    }
    return h(
      this.doc,
      'li',
      {
        'data-testid': 'frame',
        'data-direction': frame.direction,
        'data-types': types.join(' '),
        'data-seq': frame.seq,
      },
      details,
    )
  }

  /** A `<details>` that remembers being opened or closed by the user, under `key`. */
  private expandable(key: string, openByDefault: boolean, attrs: Attrs = {}): HTMLDetailsElement {
    const details = h(this.doc, 'details', attrs) as HTMLDetailsElement
    details.open = this.expanded.get(key) ?? openByDefault
    details.addEventListener('toggle', () => {
      if ((this.expanded.get(key) ?? openByDefault) === details.open) return
      this.expanded.set(key, details.open)
      // Frames leave the log: forget the oldest choices rather than keep every one.
      if (this.expanded.size > 2000) this.expanded.delete(this.expanded.keys().next().value as string)
      this.handlers.onExpand()
    })
    return details
  }
}
