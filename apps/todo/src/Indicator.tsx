import { useValue } from '@lensync/react'
import type { Sync } from '@lensync/sync-client'

/** The connection indicator: the sync's status and its edits not yet acknowledged. */
export function Indicator({ sync }: { sync: Sync }) {
  const status = useValue(sync.status)
  const pending = useValue(sync.pending)
  return (
    <div className="indicator" data-state={status} data-testid="indicator">
      <span className="dot" />
      <span data-testid="status">{status}</span>
      <span className="pending" data-testid="pending">
        {pending} pending
      </span>
    </div>
  )
}
