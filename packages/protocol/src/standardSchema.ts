import type { Issue } from './messages.ts'

/**
 * The Standard Schema v1 interface (https://standardschema.dev), implemented
 * by zod, valibot, arktype and others. Only the part lensync calls is typed.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>
    readonly types?: { readonly input: Input; readonly output: Output } | undefined
  }
}

/** The result of a Standard Schema validation. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<Issue> }

/** True when `value` implements Standard Schema v1. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if (typeof value !== 'object' && typeof value !== 'function') return false
  if (value === null) return false
  const standard = (value as { '~standard'?: { version?: unknown; validate?: unknown } })['~standard']
  return typeof standard === 'object' && standard !== null && typeof standard.validate === 'function'
}

/** Issues reduced to plain data (message and a path of property names), safe to send or log. */
export function plainIssues(issues: ReadonlyArray<Issue>): Issue[] {
  return issues.map(issue => ({
    message: String(issue.message),
    ...(issue.path
      ? {
          path: issue.path.map(seg =>
            typeof seg === 'object' && seg !== null ? String(seg.key) : String(seg as PropertyKey),
          ),
        }
      : {}),
  }))
}
