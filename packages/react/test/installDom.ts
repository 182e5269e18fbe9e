// Imported first by the tests that run a real sync server. They run in Vitest's
// Node environment, so `ws` resolves to its Node build (in the happy-dom
// environment modules resolve for browsers, and `ws`'s browser build throws),
// and this module gives them a DOM for React and Testing Library: Vitest's own
// happy-dom environment, set up on the global object before Testing Library
// loads. The page side connects with happy-dom's `WebSocket`, as a browser would.
import { afterAll } from 'vitest'
import { builtinEnvironments } from 'vitest/runtime'

const dom = await builtinEnvironments['happy-dom'].setup(globalThis, {})
afterAll(() => dom.teardown(globalThis))
