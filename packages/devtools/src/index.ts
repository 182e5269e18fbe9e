// The public API of @lensync/devtools, as an explicit list (sorted by module: biome's organizeImports).
export type { DevtoolsErrorCode } from './DevtoolsError.ts'
export { DevtoolsError } from './DevtoolsError.ts'
export { decodeFrame } from './decodeFrame.ts'
export type { InspectorInputs, InspectorModelOptions } from './InspectorModel.ts'
export { createInspectorModel, InspectorModel, roomView, syncView } from './InspectorModel.ts'
export { mountInspector } from './mountInspector.ts'
export type {
  ConnectionView,
  FrameFilter,
  InspectedRoom,
  Inspector,
  InspectorEvent,
  InspectorOptions,
  InspectorState,
  LoggedFrame,
  LoggedMessage,
  RoomView,
  SyncView,
  ValueNode,
} from './types.ts'
export { preview, valueTree } from './valueTree.ts'
