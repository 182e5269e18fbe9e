export type { ReadonlySignal } from '@preact/signals-core'
export { batch, computed, effect, Signal, signal, untracked } from '@preact/signals-core'
export { lensForElement, lensForIndex, lensForKey } from './collectionLenses.ts'
export { asString, formatLens } from './formatLens.ts'
export { type HandledByOptions, handledBy } from './handledBy.ts'
export { history } from './history.ts'
export { LensError, type LensErrorCode, type LensErrorOptions } from './LensError.ts'
export { lenses } from './lenses.ts'
export { lensOf } from './lensOf.ts'
export { lensOrDefault, mapNull } from './lensOrDefault.ts'
export { RootStore, storeOf } from './RootStore.ts'
export { createStream } from './Stream.ts'
export { SubStore } from './SubStore.ts'
export type {
  ElementOf,
  EmittingHandler,
  EmittingHandlerFn,
  ErrorHandler,
  Handler,
  HandlerArgs,
  History,
  HistoryOptions,
  IdOf,
  Inspector,
  KeyOf,
  Lens,
  LensLike,
  Message,
  Path,
  Source,
  Store,
  StoreOptions,
  Stream,
  StreamController,
  StreamOptions,
  Validation,
  ValidationRule,
  ValueAt,
} from './types.ts'
export { validate } from './validate.ts'
