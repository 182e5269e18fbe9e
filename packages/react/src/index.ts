// The public API, as an explicit list.
export type { Readable, StoreState } from './types.ts'
export { usePresence } from './usePresence.ts'
export { useStore } from './useStore.ts'
export { useSyncList } from './useSyncList.ts'
export { useSyncWith } from './useSyncWith.ts'
export { useValue } from './useValue.ts'
