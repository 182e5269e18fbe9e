import { p1EditLatency } from './p1EditLatency.ts'
import { p1oObserved } from './p1oObserved.ts'
import { p2bTwoNodes } from './p2bTwoNodes.ts'
import { p2FanOut } from './p2FanOut.ts'
import { p3Store } from './p3Store.ts'
import { p4Codec } from './p4Codec.ts'
import { p5EditBytes } from './p5EditBytes.ts'
import { p6IdleMemory } from './p6IdleMemory.ts'
import { p7CatchUp } from './p7CatchUp.ts'
import { p8PresenceFanOut } from './p8PresenceFanOut.ts'
import { p9PatchSize } from './p9PatchSize.ts'
import type { Metric } from './types.ts'

/** Every metric, in report order. A new one is a file exporting a `Metric` and a line here. */
export const metrics: readonly Metric[] = [
  p1EditLatency,
  p1oObserved,
  p2FanOut,
  p2bTwoNodes,
  p3Store,
  p4Codec,
  p5EditBytes,
  p6IdleMemory,
  p7CatchUp,
  p8PresenceFanOut,
  p9PatchSize,
]
