import type { FieldStatus } from '@lensync/sync-client'
import type { ValueNode } from './types.ts'

/** The most characters of a leaf's preview. */
const PREVIEW_LENGTH = 80
/** The most children listed per object or array; the rest are summed up in one node. */
const MAX_CHILDREN = 200
/** Deeper levels are shown as a preview only. */
const MAX_DEPTH = 12

/**
 * A short text of a value: strings quoted, objects and arrays by their
 * size, Dates as ISO text, Maps and Sets by their size.
 *
 * @param value - Any value.
 * @returns At most about 80 characters.
 */
export function preview(value: unknown): string {
  let text: string
  if (value === undefined) text = 'undefined'
  else if (typeof value === 'string') text = JSON.stringify(value)
  else if (typeof value === 'bigint') text = `${value}n`
  else if (value instanceof Date) text = Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()
  else if (value instanceof Map) text = `Map(${value.size})`
  else if (value instanceof Set) text = `Set(${value.size})`
  else if (Array.isArray(value)) text = `[${value.length}]`
  else if (typeof value === 'object' && value !== null) text = `{${Object.keys(value).length}}`
  else text = String(value)
  return text.length > PREVIEW_LENGTH ? `${text.slice(0, PREVIEW_LENGTH - 1)}…` : text
}

function isBranch(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return true
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * The value tree of an entity with each field's status: one node per
 * property and array element (plain objects and arrays are branches,
 * everything else a leaf), each with its store path and the status of that
 * path and everything below it.
 *
 * @param value - The entity's value.
 * @param fieldStatus - The status of a path (property names from the root).
 * @param key - The root's label. Default `''`.
 * @param pathPrefix - Put before every node's path (a list item's `[id]`), so paths stay unique.
 * @returns The root node.
 */
export function valueTree(
  value: unknown,
  fieldStatus: (path: readonly string[]) => FieldStatus,
  key = '',
  pathPrefix = '',
): ValueNode {
  const build = (v: unknown, k: string, path: readonly string[], depth: number): ValueNode => {
    const status = fieldStatus(path)
    const dotted = pathPrefix + path.map(name => `.${name}`).join('')
    if (!isBranch(v) || depth >= MAX_DEPTH) {
      return { key: k, path: dotted, kind: 'value', preview: preview(v), status, children: [] }
    }
    const keys = Array.isArray(v) ? v.map((_, i) => String(i)) : Object.keys(v)
    const children = keys
      .slice(0, MAX_CHILDREN)
      .map(name => build((v as Record<string, unknown>)[name], name, [...path, name], depth + 1))
    if (keys.length > MAX_CHILDREN) {
      children.push({
        key: '…',
        path: `${dotted}.…`,
        kind: 'value',
        preview: `${keys.length - MAX_CHILDREN} more`,
        status: 'synced',
        children: [],
      })
    }
    return {
      key: k,
      path: dotted,
      kind: Array.isArray(v) ? 'array' : 'object',
      preview: preview(v),
      status,
      children,
    }
  }
  return build(value, key, [], 0)
}
