import {
  createInspectorModel,
  DevtoolsError,
  type InspectorInputs,
  type InspectorModel,
  type ValueNode,
} from '@lensync/devtools'
import type { ConnectionInfo, FieldStatus, Frame, SyncInspection } from '@lensync/sync-client'
import { describe, expect, it } from 'vitest'

const frame = (direction: 'in' | 'out', time: number, message: unknown): Frame => {
  const text = JSON.stringify(message)
  return { direction, time, text, size: new TextEncoder().encode(text).byteLength }
}
const ready: ConnectionInfo = { state: 'ready', url: 'ws://h/sync', attempts: 0, opens: 1, since: 0 }
const inputs = (over: Partial<InspectorInputs> = {}): InspectorInputs => ({
  connection: ready,
  clientId: 'c1',
  syncs: [],
  rooms: [],
  ...over,
})
const patch = (op: number, path: string[], json: unknown) => ({
  t: 'patch',
  op,
  r: 'person',
  id: 'p1',
  set: [[path, { json }]],
})

/** Every node of a tree, by path. */
function byPath(node: ValueNode, out = new Map<string, ValueNode>()): Map<string, ValueNode> {
  out.set(node.path, node)
  for (const child of node.children) byPath(child, out)
  return out
}

/** A syncWith inspection of a person whose listed fields are pending. */
function personSync(pendingPaths: string[], pending = pendingPaths.length): SyncInspection {
  const status = (path: readonly string[]): FieldStatus => {
    const dotted = path.map(name => `.${name}`).join('')
    return pendingPaths.some(p => p === dotted || p.startsWith(`${dotted}.`) || dotted === '')
      ? pendingPaths.length > 0
        ? 'pending'
        : 'synced'
      : 'synced'
  }
  return {
    kind: 'entity',
    resource: 'person',
    id: 'p1',
    status: pending > 0 ? 'syncing' : 'synced',
    source: 'server',
    pending,
    revision: 4,
    entities: [
      {
        id: 'p1',
        rev: 4,
        pending,
        value: { _id: 'p1', name: 'Ada', address: { city: 'Bern' }, tags: ['x'] },
        fieldStatus: status,
      },
    ],
  }
}

describe('the frame log', () => {
  it('decodes each message of a frame with the protocol parsers', () => {
    const model = createInspectorModel()
    model.addFrame(frame('out', 1000, [{ t: 'sub', r: 'person', id: 'p1' }, patch(7, ['name'], 'Grace')]))
    model.addFrame(frame('in', 1010, { t: 'ack', op: 7, rev: 5 }))
    const { frames } = model.state(inputs())
    expect(frames).toHaveLength(2)
    const [out, ack] = frames
    expect(out?.direction).toBe('out')
    expect(out?.messages.map(m => [m.type, m.resource, m.id, m.op])).toEqual([
      ['sub', 'person', 'p1', undefined],
      ['patch', 'person', 'p1', 7],
    ])
    expect(out?.messages[1]?.summary).toBe('person/p1 · op 7 · .name')
    expect(ack?.messages[0]).toMatchObject({ type: 'ack', op: 7, problem: undefined })
    expect(ack?.messages[0]?.summary).toBe('op 7 · rev 5')
  })

  it('lists a message the parser refuses, with its reason', () => {
    const model = createInspectorModel()
    model.addFrame(frame('in', 1, { t: 'change', r: 'person', id: 'p1', rev: -1 }))
    model.addFrame({ direction: 'in', time: 2, text: 'not json', size: 8 })
    const [bad, garbage] = model.state(inputs()).frames
    expect(bad?.messages[0]?.type).toBe('change')
    expect(bad?.messages[0]?.problem).toMatch(/rev/)
    expect(garbage?.messages[0]?.problem).toMatch(/not JSON/)
  })

  it('keeps at most maxFrames, the newest, and counts every frame seen', () => {
    const model = createInspectorModel({ maxFrames: 3 })
    for (let op = 1; op <= 5; op++) model.addFrame(frame('out', op, patch(op, ['name'], `v${op}`)))
    const state = model.state(inputs())
    expect(state.frames.map(f => f.seq)).toEqual([3, 4, 5])
    expect(state.framesKept).toBe(3)
    expect(state.framesSeen).toBe(5)
    model.clear()
    expect(model.state(inputs()).framesSeen).toBe(0)
  })

  it('filters by message type, resource and direction, and offers what the log holds', () => {
    const model = createInspectorModel()
    model.addFrame(frame('out', 1, patch(1, ['name'], 'A')))
    model.addFrame(frame('in', 2, { t: 'ack', op: 1, rev: 2 }))
    model.addFrame(
      frame('in', 3, { t: 'change', r: 'todo', id: 't1', rev: 9, set: [[['done'], { json: true }]] }),
    )
    model.addFrame(frame('out', 4, { t: 'pset', room: 'lobby', state: { json: { x: 1 } } }))
    const types = (m: InspectorModel) => m.state(inputs()).frames.map(f => f.messages[0]?.type)
    expect(model.state(inputs()).types).toEqual(['ack', 'change', 'patch', 'pset'])
    expect(model.state(inputs()).resources).toEqual(['lobby', 'person', 'todo'])
    model.setFilter({ type: 'change' })
    expect(types(model)).toEqual(['change'])
    model.setFilter({ resource: 'person' })
    expect(types(model)).toEqual(['patch'])
    model.setFilter({ resource: 'lobby' })
    expect(types(model)).toEqual(['pset'])
    model.setFilter({ direction: 'in' })
    expect(types(model)).toEqual(['ack', 'change'])
    model.setFilter({})
    expect(types(model)).toHaveLength(4)
  })
})

describe('the connection', () => {
  it('shows state, URL, client id, attempts, and round trips measured from a write to its answer', () => {
    const model = createInspectorModel()
    expect(model.state(inputs()).connection.rtt).toBeUndefined()
    model.addFrame(frame('out', 1000, { t: 'hello', v: 1, client: 'c1' }))
    model.addFrame(frame('in', 1004, { t: 'welcome', client: 'c1', node: 'n' }))
    model.addFrame(frame('out', 2000, patch(8, ['name'], 'A')))
    model.addFrame(frame('out', 2001, patch(9, ['name'], 'B')))
    model.addFrame(frame('in', 2012, { t: 'ack', op: 8, rev: 3 }))
    model.addFrame(frame('in', 2020, { t: 'reject', op: 9, code: 'FORBIDDEN', message: 'no' }))
    const offline: ConnectionInfo = { state: 'offline', url: 'ws://h/sync', attempts: 3, opens: 1, since: 0 }
    expect(model.state(inputs({ connection: offline })).connection).toEqual({
      state: 'offline',
      url: 'ws://h/sync',
      clientId: 'c1',
      attempts: 3,
      opens: 1,
      rtt: 19,
      rttMedian: 12,
    })
  })
})

describe('the syncs', () => {
  it('lists a syncWith: title, status, source, revision, outbox and the value tree with per-field status', () => {
    const model = createInspectorModel()
    const [view] = model.state(inputs({ syncs: [personSync(['.name']), undefined] })).syncs
    expect(view).toMatchObject({
      title: 'person/p1',
      kind: 'entity',
      status: 'syncing',
      source: 'server',
      revision: 4,
      outbox: 1,
    })
    const nodes = byPath(view?.tree as ValueNode)
    expect(nodes.get('')?.status).toBe('pending')
    expect(nodes.get('.name')).toMatchObject({ kind: 'value', preview: '"Ada"', status: 'pending' })
    expect(nodes.get('.address')).toMatchObject({ kind: 'object', preview: '{1}', status: 'synced' })
    expect(nodes.get('.address.city')).toMatchObject({ preview: '"Bern"', status: 'synced' })
    expect(nodes.get('.tags')).toMatchObject({ kind: 'array', preview: '[1]' })
    expect(nodes.get('.tags.0')?.preview).toBe('"x"')

    const [synced] = model.state(inputs({ syncs: [personSync([])] })).syncs
    expect(byPath(synced?.tree as ValueNode).get('.name')?.status).toBe('synced')
    expect(synced?.status).toBe('synced')
  })

  it('lists a syncList with one subtree per item, keyed by id', () => {
    const list: SyncInspection = {
      kind: 'list',
      resource: 'todo',
      id: undefined,
      status: 'syncing',
      source: 'cache',
      pending: 1,
      revision: 12,
      entities: ['t1', 't2'].map(id => ({
        id,
        rev: 3,
        pending: id === 't2' ? 1 : 0,
        value: { id, title: `task ${id}`, done: false },
        fieldStatus: (path: readonly string[]) => (id === 't2' && path[0] !== 'title' ? 'pending' : 'synced'),
      })),
    }
    const [view] = createInspectorModel().state(inputs({ syncs: [list] })).syncs
    expect(view?.title).toBe('todo/*')
    expect(view?.tree.children.map(child => child.key)).toEqual(['t1', 't2'])
    const nodes = byPath(view?.tree as ValueNode)
    expect(nodes.get('[t2].done')?.status).toBe('pending')
    expect(nodes.get('[t2].title')?.status).toBe('synced')
    expect(nodes.get('[t1].title')?.preview).toBe('"task t1"')
    expect(view?.tree.status).toBe('pending')
  })

  it('lists presence rooms and their members', () => {
    const [room] = createInspectorModel().state(
      inputs({
        rooms: [
          {
            room: 'todo',
            phase: 'joined',
            self: { name: 'Ada' },
            others: [{ client: 'c2', state: { name: 'Grace' } }],
          },
        ],
      }),
    ).rooms
    expect(room).toEqual({
      room: 'todo',
      phase: 'joined',
      self: '{"name":"Ada"}',
      members: [{ client: 'c2', state: '{"name":"Grace"}' }],
    })
  })
})

describe('conflicts and errors', () => {
  it('lists them, newest last, at most maxEvents', () => {
    const model = createInspectorModel({ maxEvents: 2 })
    const error = Object.assign(new Error('too fast'), {
      code: 'RATE_LIMITED',
      resource: 'person',
      id: 'p1',
    }) as never
    model.addError(error, 1)
    model.addConflict(
      { id: 'p1', path: '.name', mine: 'A', theirs: 'B', rev: 7, by: 'bob', resolution: 'theirs' },
      2,
      'person',
    )
    model.addError(Object.assign(new Error('nope'), { code: 'FORBIDDEN' }) as never, 3, 'room lobby')
    const { events } = model.state(inputs())
    expect(events).toEqual([
      {
        kind: 'conflict',
        time: 2,
        subject: 'person/p1',
        text: '.name: mine "A", theirs "B" by bob at rev 7 → theirs',
      },
      { kind: 'error', time: 3, subject: 'room lobby', text: 'FORBIDDEN: nope' },
    ])
  })
})

describe('options', () => {
  it('refuses a bound that is not a positive integer', () => {
    expect(() => createInspectorModel({ maxFrames: 0 })).toThrow(DevtoolsError)
    expect(() => createInspectorModel({ maxEvents: 1.5 })).toThrowError(
      /maxEvents must be a positive integer/,
    )
    try {
      createInspectorModel({ maxFrames: -1 })
    } catch (error) {
      expect((error as DevtoolsError).code).toBe('BAD_OPTION')
    }
  })
})
