#!/usr/bin/env node
// The lensync-server command. There is no build step: it runs the TypeScript
// source through tsx, and resolves workspace packages through their
// "@lensync/source" export condition (as Vite and Vitest do), added by a
// resolve hook so no node flags are needed.
import { register as registerHooks } from 'node:module'
import { register as registerTsx } from 'tsx/esm/api'

const sourceCondition = `
export async function resolve(specifier, context, nextResolve) {
  if (context.conditions.includes('@lensync/source')) return nextResolve(specifier, context)
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, '@lensync/source'] })
}`
registerHooks(`data:text/javascript,${encodeURIComponent(sourceCondition)}`)
registerTsx()

const { main } = await import('../src/cli.ts')
await main(process.argv.slice(2))
