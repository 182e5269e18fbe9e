// automerge-repo: each client a `Repo` with a `WebSocketClientAdapter` (its own connection, no
// storage). The record is a document of 20 fields; the collection a document holding a map of
// records. Presence is automerge-repo's `Presence` (ephemeral messages the server relays).
// Note: a DocSynchronizer sends at most one sync message per 100 ms per document (its
// `syncDebounceRate`), in the client and again in the server.
import { setTimeout as sleep } from 'node:timers/promises'
import { type AutomergeUrl, type DocHandle, Presence, Repo } from '@automerge/automerge-repo'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { type WideEntity, wideEntity } from '../../lib/fixtures.ts'
import { type PresenceMember, presenceState, type RecordClient, type SystemClient } from '../lib/system.ts'

type Doc = Record<string, unknown>

/** Rooms made by `createRoom`, with their creator (member 0). */
const rooms = new Map<string, { repo: Repo; handle: DocHandle<Doc> }>()

type MemberPresence = Presence<ReturnType<typeof presenceState>>

/** The members of each presence room (all in this process), for {@link settled}. */
interface Joined {
  readonly members: Set<MemberPresence>
  /** When a member last received a snapshot (a peer's whole state). */
  lastSnapshotAt: number
  /** The current wait of {@link settled}, shared by the members joining together. */
  settling?: Promise<void>
}
const joined = new Map<string, Joined>()

/** No snapshot for this long (3× the 500 ms after which `Presence` re-broadcasts): the burst is over. */
const QUIET_MS = 1500
/** Longest a room may take to settle: under the setup call's 180 s, so that the error says why. */
const SETTLE_MS = 170_000
/**
 * How long a member keeps a silent peer (default 45 s, 3 heartbeats). While 100 members join,
 * the one process they share here stalls for up to 45 s at a time (it reads the burst of
 * {@link settled} a socket buffer at a time), long enough for members to forget peers that are
 * still there; each forgotten peer's next message makes the member announce itself to everyone
 * again (one setup forgot 2623 peers and took 121 s instead of 78 s). Liveness only: no member
 * leaves here without its goodbye.
 */
const PEER_TTL_MS = 600_000

/**
 * Resolves once the members' join burst is over: every member knows every other, and no
 * snapshot arrived for {@link QUIET_MS}. A member that hears from a peer it does not know
 * re-broadcasts its whole state to everyone 500 ms later (`Presence.announce`), once per such
 * peer, so n members joining make n·(n−1)² deliveries (~1M for 100 members), each relayed by
 * the server and echoed back to it by the receiver (a `DocSynchronizer` forwards ephemeral
 * messages to its other peers; the server drops the duplicate). That is automerge-repo's own
 * cost of joining, paid in the (unmeasured) setup: without this wait it ran on into the rounds,
 * and a burst's 30 s ran out behind it.
 */
function settled(room: Joined): Promise<void> {
  room.settling ??= (async () => {
    const deadline = performance.now() + SETTLE_MS
    for (;;) {
      await sleep(250)
      const peers = room.members.size - 1
      const knowing = [...room.members].filter(
        p => Object.keys(p.getPeerStates().value).length >= peers,
      ).length
      if (knowing === room.members.size && Date.now() - room.lastSnapshotAt >= QUIET_MS) return
      if (performance.now() > deadline)
        throw new Error(
          `automerge: presence not settled, ${knowing} of ${room.members.size} members know all others`,
        )
    }
  })().finally(() => {
    room.settling = undefined
  })
  return room.settling
}

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
      const presence: MemberPresence = new Presence({ handle })
      const room = joined.get(ref) ?? { members: new Set(), lastSnapshotAt: Date.now() }
      joined.set(ref, room)
      room.members.add(presence)
      presence.on('snapshot', () => {
        room.lastSnapshotAt = Date.now()
      })
      presence.start({ initialState: presenceState(index, -1), peerTtlMs: PEER_TTL_MS })
      await settled(room)
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
          room.members.delete(presence)
          if (room.members.size === 0) joined.delete(ref)
          presence.stop()
          await repo.shutdown()
        },
      }
    },
  },
}
