// What the two Yjs systems (y-websocket and Hocuspocus) share: the record as a Y.Map of its 20
// fields, the collection as a Y.Map of Y.Maps, and presence as y-protocols awareness.
import type { Awareness } from 'y-protocols/awareness'
import * as Y from 'yjs'
import { wideEntity } from '../../lib/fixtures.ts'
import { type FieldValue, type PresenceMember, presenceState, type RecordClient } from '../lib/system.ts'

/** The record's map in a document. */
export const recordOf = (doc: Y.Doc) => doc.getMap<FieldValue>('record')
/** The collection's map in a document. */
export const collectionOf = (doc: Y.Doc) => doc.getMap<Y.Map<FieldValue>>('collection')

/** Writes the 20 fields in one transaction (the creator, once synced). */
export function fillRecord(doc: Y.Doc, name: string): void {
  const map = recordOf(doc)
  doc.transact(() => {
    for (const [field, value] of Object.entries(wideEntity(name))) map.set(field, value)
  })
}

/** Writes `count` records of 20 fields each in one transaction. */
export function fillCollection(doc: Y.Doc, name: string, count: number): void {
  const map = collectionOf(doc)
  doc.transact(() => {
    for (let i = 0; i < count; i++) {
      const record = new Y.Map<FieldValue>()
      for (const [field, value] of Object.entries(wideEntity(`${name}-${i}`))) record.set(field, value)
      map.set(`${name}-${i}`, record)
    }
  })
}

/** Resolves once `test` passes, checked now and after every update of the document. */
export function whenDoc(doc: Y.Doc, test: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  if (test()) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      doc.off('update', check)
      reject(new Error(`timed out waiting for ${what}`))
    }, timeoutMs)
    const check = () => {
      if (!test()) return
      clearTimeout(timer)
      doc.off('update', check)
      resolve()
    }
    doc.on('update', check)
  })
}

/** A record client over a Yjs document whose provider is already synced. */
export function yRecordClient(
  doc: Y.Doc,
  settled: () => Promise<void>,
  destroy: () => Promise<void> | void,
): RecordClient {
  const map = recordOf(doc)
  return {
    edit: (field, value) => map.set(field, value),
    read: field => map.get(field),
    onChange(listener) {
      const observer = () => listener()
      map.observe(observer)
      return () => map.unobserve(observer)
    },
    settled,
    async close() {
      await destroy()
      doc.destroy()
    },
  }
}

/** A presence member over y-protocols awareness. */
export function awarenessMember(
  awareness: Awareness,
  index: number,
  destroy: () => Promise<void> | void,
): PresenceMember {
  awareness.setLocalState(presenceState(index, -1))
  return {
    move: cursor => awareness.setLocalState(presenceState(index, cursor)),
    onPeer(listener) {
      const onChange = ({ added, updated }: { added: number[]; updated: number[] }) => {
        for (const id of [...added, ...updated]) {
          if (id === awareness.clientID) continue
          const state = awareness.getStates().get(id) as { cursor?: number } | undefined
          if (typeof state?.cursor === 'number') listener(String(id), state.cursor)
        }
      }
      awareness.on('change', onChange)
      return () => awareness.off('change', onChange)
    },
    close: async () => destroy(),
  }
}
