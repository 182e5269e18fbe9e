import { createInspectorModel, DevtoolsError, mountInspector } from '@lensync/devtools'
import { lenses, storeOf } from '@lensync/store'
import { inspectSync, presence, resource, syncWith, websocket } from '@lensync/sync-client'
import { createSyncServer } from '@lensync/sync-server'
import { Window } from 'happy-dom'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'

type Person = { _id: string; name: string; address: { city: string } }
const PersonResource = resource<Person>({ name: 'person', id: p => p._id })
const L = lenses<Person>()
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function server() {
  const s = await createSyncServer({
    port: 0,
    host: '127.0.0.1',
    dataFile: ':memory:',
    pingPeriod: 0,
    logger: { error: console.error, warn: console.warn, info: () => {} },
  })
  cleanups.push(() => s.close())
  return s
}

function page() {
  const window = new Window()
  cleanups.push(() => window.happyDOM.close())
  return window.document as unknown as Document
}

describe('the model fed by a live socket', () => {
  it('lists the outgoing patch, its ack, and the field going pending → synced', async () => {
    const { url } = await server()
    const socket = websocket(url, { WebSocket: WebSocket as never, reconnect: true })
    const model = createInspectorModel()
    cleanups.push(socket.frames(frame => model.addFrame(frame)))
    const store = storeOf<Person>({ _id: 'm1', name: 'Ada', address: { city: 'Bern' } })
    const sync = syncWith(store, socket, PersonResource)
    cleanups.push(() => sync.stop())
    await sync.flush()
    const look = () =>
      model.state({
        connection: socket.connectionInfo.value,
        clientId: socket.clientId,
        syncs: [inspectSync(sync)],
        rooms: [],
      })
    expect(look().connection).toMatchObject({ state: 'ready', url, clientId: socket.clientId })

    store.map(L.name).update('Grace')
    const nameNode = () => look().syncs[0]?.tree.children.find(node => node.path === '.name')
    expect(nameNode()).toMatchObject({ preview: '"Grace"', status: 'pending' })
    expect(look().syncs[0]?.outbox).toBe(1)

    await sync.flush()
    expect(nameNode()?.status).toBe('synced')
    const messages = look().frames.flatMap(frame =>
      frame.messages.map(m => ({ ...m, direction: frame.direction })),
    )
    const sent = messages.find(m => m.direction === 'out' && m.type === 'patch')
    expect(sent?.summary).toContain('.name')
    expect(messages.some(m => m.direction === 'in' && m.type === 'ack' && m.op === sent?.op)).toBe(true)
    expect(look().connection.rtt).toBeGreaterThanOrEqual(0)
  })
})

describe('a model that starts observing a connection already open (protocol version 2)', () => {
  it('reads the compact writes and changes by entity, though their handles were given before', async () => {
    const { url } = await server()
    const socket = websocket(url, { WebSocket: WebSocket as never, reconnect: true })
    const other = websocket(url, { WebSocket: WebSocket as never, reconnect: true })
    const store = storeOf<Person>({ _id: 'late', name: 'Ada', address: { city: 'Bern' } })
    const otherStore = storeOf<Person>({ _id: 'late', name: 'Ada', address: { city: 'Bern' } })
    const sync = syncWith(store, socket, PersonResource)
    const otherSync = syncWith(otherStore, other, PersonResource)
    cleanups.push(
      () => sync.stop(),
      () => otherSync.stop(),
    )
    await Promise.all([sync.flush(), otherSync.flush()])

    // Mounted now: the handle of person/late was given in a frame it never saw.
    const model = createInspectorModel()
    cleanups.push(socket.frames(frame => model.addFrame(frame)))
    const seen: string[] = []
    cleanups.push(socket.frames(frame => seen.push(frame.text ?? '')))
    store.map(L.name).update('Grace')
    await sync.flush()
    otherStore.map(L.address.city).update('Zug')
    await otherSync.flush()
    await new Promise<void>(resolve => {
      const stop = store.data.subscribe(p => {
        if (p.address.city !== 'Zug') return
        queueMicrotask(() => {
          stop()
          resolve()
        })
      })
    })

    // The frames really are compact (no resource or id in them)…
    // (the edit goes as a version 3 short patch, `[handle, base, path, value]`)
    expect(seen.some(text => /^\[\d|"p":/.test(text) && !text.includes('person'))).toBe(true)
    // …and the log still names the entity and the fields.
    const messages = model
      .state({ connection: socket.connectionInfo.value, clientId: socket.clientId, syncs: [], rooms: [] })
      .frames.flatMap(frame => frame.messages.map(m => ({ ...m, direction: frame.direction })))
    const patch = messages.find(m => m.direction === 'out' && m.type === 'patch')
    expect(patch).toMatchObject({ resource: 'person', id: 'late', problem: undefined })
    expect(patch?.summary).toContain('.name')
    const change = messages.find(m => m.direction === 'in' && m.type === 'change')
    expect(change).toMatchObject({ resource: 'person', id: 'late', problem: undefined })
    expect(change?.summary).toContain('.address')
  })
})

describe('mountInspector', () => {
  it('mounts a closed panel in a shadow root; toggle opens it with the focus inside, Escape closes it', async () => {
    const { url } = await server()
    const doc = page()
    const before = doc.createElement('button')
    doc.body.append(before)
    before.focus()
    const socket = websocket(url, { WebSocket: WebSocket as never, reconnect: true })
    const store = storeOf<Person>({ _id: 'm2', name: 'Ada', address: { city: 'Bern' } })
    const sync = syncWith(store, socket, PersonResource)
    const room = presence(socket, 'lobby', { name: 'Ada' })
    cleanups.push(
      () => sync.stop(),
      () => room.stop(),
    )
    // Mounted before the connection opens: the log has every frame from its hello on.
    const inspector = mountInspector(doc.body, {
      socket,
      syncs: [sync],
      rooms: [room],
      schedule: render => render(),
    })
    cleanups.push(() => inspector.unmount())
    await sync.flush()

    const host = doc.querySelector('[data-lensync-inspector]') as HTMLElement
    const shadow = host.shadowRoot as ShadowRoot
    const panel = shadow.querySelector('[data-testid="inspector"]') as HTMLElement
    expect(panel.hidden).toBe(true)
    // Its styles live in its shadow root only.
    expect(doc.querySelectorAll('style')).toHaveLength(0)
    expect(shadow.querySelectorAll('style')).toHaveLength(1)

    expect(inspector.toggle()).toBe(true)
    expect(panel.hidden).toBe(false)
    expect(shadow.activeElement?.tagName).toBe('H2')
    const text = (testid: string) => shadow.querySelector(`[data-testid="${testid}"]`)?.textContent
    expect(text('conn-state')).toBe('ready')
    expect(text('conn-client')).toBe(socket.clientId)
    expect(shadow.querySelector('[data-testid="sync"]')?.getAttribute('data-title')).toBe('person/m2')
    expect(text('sync-status')).toBe('synced')
    expect(shadow.querySelector('[data-testid="room"]')?.getAttribute('data-room')).toBe('lobby')

    store.map(L.address.city).update('Basel')
    const city = () => shadow.querySelector('[data-testid="field"][data-path=".address.city"]')
    expect(city()?.getAttribute('data-status')).toBe('pending')
    await sync.flush()
    expect(city()?.getAttribute('data-status')).toBe('synced')
    expect(city()?.textContent).toContain('"Basel"')
    const frames = [...shadow.querySelectorAll('[data-testid="frame"]')]
    expect(
      frames.some(
        f =>
          f.getAttribute('data-direction') === 'out' &&
          f.getAttribute('data-types')?.split(' ').includes('patch'),
      ),
    ).toBe(true)
    expect(
      frames.some(
        f =>
          f.getAttribute('data-direction') === 'in' &&
          f.getAttribute('data-types')?.split(' ').includes('ack'),
      ),
    ).toBe(true)

    panel.dispatchEvent(
      new (doc.defaultView as unknown as typeof globalThis).KeyboardEvent('keydown', {
        key: 'Escape',
        bubbles: true,
      }),
    )
    expect(inspector.isOpen).toBe(false)
    expect(panel.hidden).toBe(true)
    expect(doc.activeElement).toBe(before)
  })

  it('filters the log by type from its select', async () => {
    const { url } = await server()
    const doc = page()
    const socket = websocket(url, { WebSocket: WebSocket as never, reconnect: true })
    const store = storeOf<Person>({ _id: 'm3', name: 'Ada', address: { city: 'Bern' } })
    const inspector = mountInspector(doc.body, { socket, open: true, schedule: render => render() })
    cleanups.push(() => inspector.unmount())
    const sync = syncWith(store, socket, PersonResource)
    cleanups.push(() => sync.stop())
    await sync.flush()
    const shadow = (doc.querySelector('[data-lensync-inspector]') as HTMLElement).shadowRoot as ShadowRoot
    const select = shadow.querySelector('[data-testid="filter-type"]') as HTMLSelectElement
    expect([...select.options].map(o => o.value)).toContain('hello')
    select.value = 'hello'
    select.dispatchEvent(new (doc.defaultView as unknown as typeof globalThis).Event('change'))
    const types = [...shadow.querySelectorAll('[data-testid="frame"]')].map(f => f.getAttribute('data-types'))
    // hello leaves batched with the first sub: the frame is shown, frames without a hello are not.
    expect(types).toEqual(['hello sub'])
  })

  it('unmount removes the panel and stops observing', async () => {
    const { url } = await server()
    const doc = page()
    const socket = websocket(url, { WebSocket: WebSocket as never, reconnect: true })
    let renders = 0
    const inspector = mountInspector(doc.body, {
      socket,
      open: true,
      schedule: render => {
        renders++
        render()
      },
    })
    inspector.unmount()
    inspector.unmount()
    expect(doc.querySelector('[data-lensync-inspector]')).toBeNull()
    const counted = renders
    const store = storeOf<Person>({ _id: 'm4', name: 'Ada', address: { city: 'Bern' } })
    const sync = syncWith(store, socket, PersonResource)
    cleanups.push(() => sync.stop())
    await sync.flush()
    expect(renders).toBe(counted)
    expect(inspector.toggle()).toBe(false)
  })

  it('refuses a missing target or socket', () => {
    expect(() => mountInspector(null as never, { socket: {} as never })).toThrow(DevtoolsError)
    expect(() => mountInspector(page().body, {} as never)).toThrowError(/options.socket/)
  })
})
