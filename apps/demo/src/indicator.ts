import { computed, effect } from '@lensync/store'
import type { Sync, SyncStatus } from '@lensync/sync-client'

const rank: Record<SyncStatus, number> = { offline: 3, connecting: 2, syncing: 1, synced: 0 }

/**
 * The connection indicator: the worst status of the page's syncs
 * (offline > connecting > syncing > synced) and how many edits wait for the
 * server (`sync.pending`: this tab's, and those of other tabs or an earlier
 * page that the cache holds).
 */
export function mountIndicator(root: HTMLElement, syncs: readonly Sync[]): () => void {
  const status = computed(() =>
    syncs
      .map(s => s.status.value)
      .reduce((worst, s) => (rank[s] > rank[worst] ? s : worst), 'synced' as SyncStatus),
  )
  const pending = computed(() => syncs.reduce((sum, s) => sum + s.pending.value, 0))
  const label = root.querySelector('[data-testid="status"]') as HTMLElement
  const count = root.querySelector('[data-testid="pending"]') as HTMLElement
  return effect(() => {
    root.dataset.state = status.value
    label.textContent = status.value
    count.textContent = `${pending.value} pending`
    count.title =
      pending.value === 0
        ? 'Every edit reached the server'
        : `${pending.value} edit(s) wait for the server; they are kept in this browser and sent when it is back`
  })
}
