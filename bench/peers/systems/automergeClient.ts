// automerge-repo: each client a `Repo` with a `WebSocketClientAdapter` (its own connection, no
// storage). The record is a document of 20 fields; the collection a document holding a map of
// records. Presence is automerge-repo's `Presence` (ephemeral messages the server relays).
// Note: a DocSynchronizer sends at most one sync message per 100 ms per document (its
// `syncDebounceRate`), in the client and again in the server.
import { type AutomergeUrl, type DocHandle, Presence, Repo } from '@automerge/automerge-repo'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { type WideEntity, wideEntity } from '../../lib/fixtures.ts'
import { type PresenceMember, presenceState, type RecordClient, type SystemClient } from '../lib/system.ts'

type Doc = Record<string, unknown>

/** Rooms made by `createRoom`, with their creator (member 0). */
const rooms = new Map<string, { repo: Repo; handle: DocHandle<Doc> }>()

const repoAt = (url: string) => new Repo({ network: [new WebSocketClientAdapter(url)] })

/** Finds a document, asking again while the server does not have it yet (its creator's first sync may be under way). */
async function find<T>(repo: Repo, ref: string): Promise<DocHandle<T>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await repo.find<T>(ref as AutomergeUrl)
    } catch (error) {
      if (attempt >= 100) throw error
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}

/** Creates a document and waits until another repo can find it on the server. */
async function create<T>(url: string, value: T): Promise<{ repo: Repo; handle: DocHandle<T> }> {
  const repo = repoAt(url)
  const handle = repo.create<T>(value)
  const probe = repoAt(url)
  await find(probe, handle.url)
  await probe.shutdown()
  return { repo, handle }
}

function recordClient(repo: Repo, handle: DocHandle<Doc>): RecordClient {
  return {
    edit(field, value) {
      handle.change(doc => {
        doc[field] = value
      })
    },
    read: field => handle.doc()[field],
    onChange(listener) {
      const onChange = () => listener()
      handle.on('change', onChange)
      return () => handle.off('change', onChange)
    },
    settled: () => Promise.resolve(),
    close: () => repo.shutdown(),
  }
}

/** automerge-repo's client. */
export const client: SystemClient = {
  async createRecord(url, name) {
    const { repo, handle } = await create<Doc>(url, wideEntity(name))
    return { ref: handle.url, client: recordClient(repo, handle) }
  },
  async openRecord(url, ref) {
    const repo = repoAt(url)
    return recordClient(repo, await find<Doc>(repo, ref))
  },
  async seedRecords(url, name, count) {
    const collection: Record<string, WideEntity> = {}
    for (let i = 0; i < count; i++) collection[`${name}-${i}`] = wideEntity(`${name}-${i}`)
    const { repo, handle } = await create(url, { collection })
    return { ref: handle.url, close: () => repo.shutdown() }
  },
  async joinRecords(url, ref, count) {
    const repo = repoAt(url)
    const handle = await find<{ collection: Record<string, WideEntity> }>(repo, ref)
    const got = Object.keys(handle.doc().collection ?? {}).length
    if (got !== count) throw new Error(`automerge: late joiner got ${got} of ${count} records`)
    return () => repo.shutdown()
  },
  presence: {
    async createRoom(url, name) {
      // The creator stays connected and becomes member 0 (the server forgets nothing, but a
      // document whose only holder left is not always found again).
      // Not empty: a document without a change has no heads, and peers report it unavailable.
      const created = await create<Doc>(url, { room: name })
      rooms.set(created.handle.url, created)
      return created.handle.url
    },
    async join(url, ref, index): Promise<PresenceMember> {
      const creator = index === 0 ? rooms.get(ref) : undefined
      const repo = creator?.repo ?? repoAt(url)
      const handle = creator?.handle ?? (await find<Doc>(repo, ref))
      const presence = new Presence<ReturnType<typeof presenceState>>({ handle })
      presence.start({ initialState: presenceState(index, -1) })
      return {
        move: cursor => presence.broadcast('cursor', cursor),
        onPeer(listener) {
          const onUpdate = (event: { peerId: string; channel: string; value: unknown }) => {
            if (event.channel === 'cursor') listener(event.peerId, event.value as number)
          }
          presence.on('update', onUpdate)
          return () => presence.off('update', onUpdate)
        },
        async close() {
          presence.stop()
          await repo.shutdown()
        },
      }
    },
  },
}
