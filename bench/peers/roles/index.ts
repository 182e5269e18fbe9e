// The process roles of the peers bench: `server` runs one system's server, `clients` one
// system's clients and the measuring loops. Loaded only in the child that runs them.
import type { SystemId } from '../systems/index.ts'

/** The roles: each makes its methods for one system. */
export const roles = {
  server: async (system: SystemId) => (await import('./server.ts')).serverMethods(system),
  clients: async (system: SystemId) => (await import('./clients.ts')).clientMethods(system),
}

/** A role's name. */
export type RoleName = keyof typeof roles

/** The methods a role offers. */
export type RoleMethods<R extends RoleName> = Awaited<ReturnType<(typeof roles)[R]>>

/**
 * Whether `name` is a role.
 *
 * @param name - From the command line.
 * @returns `true` for a known role.
 */
export function isRoleName(name: unknown): name is RoleName {
  return typeof name === 'string' && Object.hasOwn(roles, name)
}
