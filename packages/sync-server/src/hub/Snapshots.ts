import { CloseCodes, type EncodedSnapItem } from '@lensync/protocol'
import type { ListCursor, Storage } from '../storage/Storage.ts'
import type { _Delivery } from './Delivery.ts'
import type { _EntityTable } from './EntityTable.ts'
import type { HubClient } from './HubClient.ts'
import type { _ResolvedSyncOptions } from './syncOptions.ts'
import { whenDone } from './whenDone.ts'

/** A snapshot page stops growing past this many bytes of values, whatever `snapshotPageSize` says. */
const SNAPSHOT_PAGE_BYTES = 1 << 20

/** Snapshot bytes that cost one rate-limit token (on top of the `sub`'s own). */
const SNAPSHOT_BYTES_PER_TOKEN = 1 << 16

/**
 * @internal
 * Answers an allowed `sub` with the committed state: one entity's `snap`,
 * or a collection's pages (one per frame, `snapshotPageSize` entities or
 * ~1 MiB each, paced by the reader's socket). Subscribing and reading go
 * together, so every write committed later reaches the client as a change.
 */
export class _Snapshots {
  constructor(
    private readonly _storage: Storage,
    private readonly _table: _EntityTable,
    private readonly _delivery: _Delivery,
    private readonly _options: _ResolvedSyncOptions,
  ) {}

  /** Subscribes to one entity and sends its `snap`; a promise while it is read. */
  entity(client: HubClient, r: string, id: string): Promise<void> | undefined {
    const entry = this._table.entry(r, id)
    return whenDone(this._table.load(entry), (): undefined => {
      if (client.closed) return undefined
      // Subscribing and reading the committed state happen together, so
      // every write committed later reaches the client as a change.
      client.subscriptions.add(r, id)
      const committed = entry.committed
      // The answer to a `sub` gives the entity its handle (version 2).
      this._delivery.send(
        client,
        client.wire.entitySnap(r, id, committed?.rev ?? 0, committed?.text ?? null, true),
      )
      this._table.trim()
      return undefined
    })
  }

  /**
   * Subscribes to a collection and sends its pages (those changed after
   * `since` when given). A `since` older than what storage still covers
   * (tombstones were compacted: {@link Storage.coveredSince}) gets the whole
   * collection instead, every page marked `"full": true`: the client must
   * drop what it holds and is not listed.
   */
  async collection(client: HubClient, r: string, asked: number | undefined): Promise<void> {
    // Subscribed first: whatever is committed while the pages are read
    // arrives as a change (and pages are freshened from the hub's cache).
    client.subscriptions.add(r, undefined)
    const limit = this._options.snapshotPageSize
    // The snapshot's revision (the client's next `since`) is read before the
    // first page: every write after it is in a page or arrives as a change,
    // and one that has not arrived when the client drops is fetched again.
    // (Read after the pages, it could name a write whose change was still on
    // its way, and a reconnect with that `since` would skip it.)
    const known = this._table.revision(r)
    const rev = Math.max(await this._storage.revision(r), known)
    const covered = await this._coveredSince(r, asked)
    const full = asked !== undefined && asked < covered
    const since = full ? undefined : asked
    let after: ListCursor | undefined
    for (;;) {
      if (client.closed || !client.subscriptions.has(r, undefined)) return
      const page = await this._storage.list(
        r,
        after === undefined ? { since, limit } : { after, since, limit },
      )
      const items: EncodedSnapItem[] = []
      const gone: string[] = []
      let bytes = 0
      let more = page.more
      for (const listed of page.entities) {
        if (bytes > SNAPSHOT_PAGE_BYTES) {
          more = true
          break
        }
        after = listed.cursor
        let { rev, value } = listed
        const committed = this._table.peek(r, listed.id)?.committed
        if (committed && committed.rev > rev) ({ rev, text: value } = committed)
        if (value === null) {
          if (since !== undefined) gone.push(listed.id)
          continue
        }
        bytes += value.length
        items.push({ id: listed.id, rev, value })
      }
      // Tombstones compacted while the pages were read may be missing from
      // them: rather than complete an incomplete snapshot, the client starts
      // over (reconnects with its old since, and gets a full one).
      if (!more && since !== undefined && (await this._coveredSince(r, since)) > since) {
        client.close(CloseCodes.SERVICE_RESTART, 'Tombstones were compacted during the snapshot')
        return
      }
      if (client.closed) return
      // A snapshot costs by its size: a client asking for the same big
      // collection again and again pays for the bytes, not one token a page.
      client.bucket?.charge(Math.floor(bytes / SNAPSHOT_BYTES_PER_TOKEN))
      const envelope = client.wire.collectionSnap(r, rev, items, gone, more, full)
      this._delivery.send(client, envelope)
      if (!more) return
      // One page per frame: let this one go out before reading the next, and
      // wait for a slow reader rather than queueing the collection for it.
      await this._delivery.nextFlush()
      const { connection } = client
      if (connection.drain && (connection.bufferedAmount?.() ?? 0) > this._options.maxBufferedBytes / 2)
        await connection.drain()
    }
  }

  /** The oldest `since` storage answers completely; `0` without compaction or without a `since`. */
  private async _coveredSince(r: string, since: number | undefined): Promise<number> {
    if (since === undefined || !this._storage.coveredSince) return 0
    return this._storage.coveredSince(r)
  }
}
