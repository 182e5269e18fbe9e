// Every process role a metric can start (bench/worker.ts <role>). A role is a module exporting
// `methods`: async functions of plain data that the orchestrator calls over IPC.

/** The roles, loaded only in the child that runs them. */
export const roles = {
  syncServer: () => import('./syncServer.ts'),
  rawServer: () => import('./rawServer.ts'),
  latencyClients: () => import('./latencyClients.ts'),
  observedLatencyClients: () => import('./observedLatencyClients.ts'),
  fanoutClients: () => import('./fanoutClients.ts'),
  presenceClients: () => import('./presenceClients.ts'),
  idleClients: () => import('./idleClients.ts'),
  catchUpClient: () => import('./catchUpClient.ts'),
  bytesClient: () => import('./bytesClient.ts'),
  storeMicro: () => import('./storeMicro.ts'),
  codecMicro: () => import('./codecMicro.ts'),
  hubMicro: () => import('./hubMicro.ts'),
}

/** A role's name. */
export type RoleName = keyof typeof roles

/** The methods a role offers (for typed `worker.call()`). */
export type RoleMethods<R extends RoleName> = Awaited<ReturnType<(typeof roles)[R]>>['methods']

/**
 * Whether `name` is a role.
 *
 * @param name - From the command line.
 * @returns `true` for a known role.
 */
export function isRoleName(name: unknown): name is RoleName {
  return typeof name === 'string' && Object.hasOwn(roles, name)
}
