// CPU per received change on the client, without a network or server (issue #21):
// `npx tsx --conditions=@lensync/source bench/clientReceiveMicro.ts [syncs] [changes] [with|list]`.
// A fake WebSocket answers hello and sub; then `changes` change frames (protocol v1 text) are
// dispatched one by one, each to `syncs` syncWith of one entity on the socket (`with`), or to
// one syncList of `syncs` items, one item per change (`list`). Process CPU time per change.
// `send`: one syncWith, `changes` edits of one field through a sub-store, each sent as a patch
// and acknowledged by the fake server (the edit → write → ack path), CPU per edit.
import { lenses, storeOf } from '@lensync/store'
import { resource, type Sync, syncList, syncWith, websocket } from '@lensync/sync-client'
import { type Task, task } from './lib/fixtures.ts'

const syncs = Number(process.argv[2] ?? 1000)
const changes = Number(process.argv[3] ?? 2000)
const mode = process.argv[4] ?? 'with'
const Tasks = resource<Task>({ name: 'task', id: t => t._id })

let socket: FakeSocket | undefined
let rev = 1
class FakeSocket extends EventTarget {
  readyState = 0
  binaryType = 'blob'
  constructor(readonly url: string) {
    super()
    socket = this
    queueMicrotask(() => {
      this.readyState = 1
      this.dispatchEvent(new Event('open'))
    })
  }
  send(data: unknown): void {
    type Sent = { t: string; id?: string }
    const parsed = JSON.parse(String(data)) as Sent[] | Sent
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      if (m.t === 'patch') this.receive({ t: 'ack', op: (m as { op?: number }).op, rev: ++rev })
      if (m.t === 'hello') this.receive({ t: 'welcome', v: 1, client: 'c', node: 'n' })
      if (m.t === 'sub' && m.id)
        this.receive({ t: 'snap', r: 'task', id: m.id, rev: 1, value: { json: task(m.id) } })
      if (m.t === 'sub' && !m.id)
        this.receive({
          t: 'snap',
          r: 'task',
          rev: 1,
          items: Array.from({ length: syncs }, (_, i) => ({
            id: `l-${i}`,
            rev: 1,
            value: { json: task(`l-${i}`) },
          })),
          gone: [],
        })
    }
  }
  receive(message: unknown): void {
    const data = JSON.stringify(message)
    queueMicrotask(() => this.dispatchEvent(new MessageEvent('message', { data })))
  }
  close(): void {
    this.readyState = 3
  }
}

if (mode === 'send') {
  const store = storeOf(task('t-0'))
  const sync = syncWith(store, websocket('ws://fake', { WebSocket: FakeSocket as never }), Tasks)
  await sync.flush()
  const title = store.map(lenses<Task>().title)
  const edit = async (i: number) => {
    title.update(`edit ${i}`)
    await sync.flush()
  }
  for (let i = 0; i < 200; i++) await edit(i)
  const start = process.cpuUsage()
  for (let i = 0; i < changes; i++) await edit(200 + i)
  const used = process.cpuUsage(start)
  console.log(
    `syncWith edit → patch → ack: ${((used.user + used.system) / changes).toFixed(2)} µs CPU per edit`,
  )
  sync.stop()
  process.exit(0)
}

const all: Sync[] = []
const target = websocket('ws://fake', { WebSocket: FakeSocket as never })
if (mode === 'with') for (let i = 0; i < syncs; i++) all.push(syncWith(storeOf(task('t-0')), target, Tasks))
else all.push(syncList(storeOf<Task[]>([]), target, Tasks))
await Promise.all(all.map(s => s.flush()))
const warmUp = Math.min(200, changes)
const frames = Array.from({ length: warmUp + changes }, (_, i) =>
  JSON.stringify({
    t: 'change',
    r: 'task',
    id: mode === 'with' ? 't-0' : `l-${i % syncs}`,
    rev: 2 + i,
    set: [[['title'], { json: `edit ${i}` }]],
  }),
)
const fake = socket as FakeSocket
const deliver = (data: string) => fake.dispatchEvent(new MessageEvent('message', { data }))
for (const data of frames.slice(0, warmUp)) deliver(data)
const start = process.cpuUsage()
for (const data of frames.slice(warmUp)) deliver(data)
const used = process.cpuUsage(start)
const micros = used.user + used.system
console.log(
  mode === 'with'
    ? `syncWith ×${syncs} on one socket: ${(micros / changes / syncs).toFixed(3)} µs CPU per sync per change`
    : `syncList of ${syncs} items: ${(micros / changes).toFixed(1)} µs CPU per change`,
)
for (const s of all) s.stop()
