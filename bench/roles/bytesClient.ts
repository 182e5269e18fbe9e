// Role: P5's two clients. Both sync one 20-field entity over tapped sockets; A edits one
// field; the tap records the frame A sent and the frame B received.
import { lenses, storeOf } from '@lensync/store'
import { resource, syncWith, websocket } from '@lensync/sync-client'
import { WIDE_EDIT, type WideEntity, wideEntity } from '../lib/fixtures.ts'
import { Tap } from '../lib/tapWebSocket.ts'
import { until } from '../lib/until.ts'

const WideResource = resource<WideEntity>({ name: 'wide', id: e => e._id })
const L = lenses<WideEntity>()

/** The bytes of one one-field edit, lensync and the baseline. */
export interface EditBytes {
  /** The frame client A sent (a `patch`). */
  readonly sent: string
  /** The frame client B received (a `change`). */
  readonly received: string
  /** `JSON.stringify({ path, value })` with the store's path of the field. */
  readonly baseline: string
  /** `JSON.stringify(entity)`: what a sync that sends whole values (fritz2) would send. */
  readonly wholeEntity: string
}

let round = 0

export const methods = {
  /** Syncs a fresh 20-field entity on A and B, edits one field on A and returns what went over the wire. */
  async measure(url: string): Promise<EditBytes> {
    const id = `w-${++round}`
    const tapA = new Tap()
    const tapB = new Tap()
    const storeA = storeOf(wideEntity(id))
    const storeB = storeOf(wideEntity(id))
    const syncA = syncWith(storeA, websocket(url, { WebSocket: tapA.WebSocket }), WideResource)
    await syncA.flush()
    const syncB = syncWith(storeB, websocket(url, { WebSocket: tapB.WebSocket }), WideResource)
    await syncB.flush()
    tapA.clear()
    tapB.clear()
    const field = storeA.map(L[WIDE_EDIT.field])
    field.update(WIDE_EDIT.value)
    await until(storeB.data, value => value[WIDE_EDIT.field] === WIDE_EDIT.value)
    await syncA.flush()
    syncA.stop()
    syncB.stop()
    const sent = tapA.events.filter(event => event.kind === 'send')
    const received = tapB.events.filter(event => event.kind === 'recv')
    if (sent.length !== 1 || received.length !== 1)
      throw new Error(
        `bytesClient: expected one frame each way, got ${sent.length} sent, ${received.length} received`,
      )
    return {
      sent: sent[0]?.text ?? '',
      received: received[0]?.text ?? '',
      baseline: JSON.stringify({ path: field.path, value: WIDE_EDIT.value }),
      wholeEntity: JSON.stringify(storeA.current),
    }
  },
}
