import { ServerError } from './ServerError.ts'
import type { RouteParams } from './types.ts'

type Segment = { literal: string } | { param: string }

interface Route<T> {
  readonly path: string
  readonly segments: readonly Segment[]
  readonly value: T
}

/** @internal A matched route. */
export interface _RouteMatch<T> {
  readonly path: string
  readonly value: T
  readonly params: RouteParams
}

/**
 * @internal
 * Path routing with `:param` segments, as Ktor's `routing { webSocket("/chat/{room}") }`.
 * Literal routes win over parameter routes; otherwise the first registered
 * match wins. A trailing slash is ignored on both sides; segments are
 * percent-decoded before matching.
 */
export class Router<T> {
  private readonly _literal = new Map<string, Route<T>>()
  private readonly _dynamic: Route<T>[] = []

  /**
   * Registers a route.
   *
   * @throws ServerError `BAD_ROUTE` for a path that is not absolute, a bad parameter name, or a duplicate.
   */
  add(path: string, value: T): void {
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new ServerError('BAD_ROUTE', `Route path must be a string starting with "/", got ${String(path)}`)
    }
    const segments = split(path).map((part): Segment => {
      if (!part.startsWith(':')) return { literal: part }
      const param = part.slice(1)
      if (!/^[A-Za-z_$][\w$]*$/.test(param)) {
        throw new ServerError(
          'BAD_ROUTE',
          `Route "${path}": parameter ":${param}" needs a name made of letters, digits, _ or $`,
        )
      }
      return { param }
    })
    const names = segments.flatMap(s => ('param' in s ? [s.param] : []))
    if (new Set(names).size !== names.length) {
      throw new ServerError('BAD_ROUTE', `Route "${path}" uses a parameter name twice`)
    }
    const key = keyOf(segments)
    if (this._literal.has(key) || this._dynamic.some(r => keyOf(r.segments) === key)) {
      throw new ServerError('BAD_ROUTE', `Route "${path}" is already registered`)
    }
    const route = { path, segments, value }
    if (names.length === 0) this._literal.set(key, route)
    else this._dynamic.push(route)
  }

  /** Finds the route for a request URL (the query string is ignored). */
  match(url: string): _RouteMatch<T> | undefined {
    const query = url.indexOf('?')
    const pathname = query === -1 ? url : url.slice(0, query)
    let parts: string[]
    try {
      parts = split(pathname).map(decodeURIComponent)
    } catch {
      return undefined
    }
    const literal = this._literal.get(parts.join('/'))
    if (literal) return { path: literal.path, value: literal.value, params: NO_PARAMS }
    for (const route of this._dynamic) {
      const params = matchSegments(route.segments, parts)
      if (params) return { path: route.path, value: route.value, params }
    }
    return undefined
  }
}

/** The parameters of every literal route (one shared object). */
const NO_PARAMS: RouteParams = Object.freeze({})

function split(path: string): string[] {
  const parts = path.split('/').slice(1)
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  return parts
}

function keyOf(segments: readonly Segment[]): string {
  return segments.map(s => ('param' in s ? '\0' : s.literal)).join('/')
}

function matchSegments(segments: readonly Segment[], parts: readonly string[]): RouteParams | undefined {
  if (segments.length !== parts.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as Segment
    const part = parts[i] as string
    if ('param' in segment) {
      if (part === '') return undefined
      params[segment.param] = part
    } else if (segment.literal !== part) return undefined
  }
  return params
}
