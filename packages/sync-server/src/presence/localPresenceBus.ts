import type { PresenceBus, PresenceBusListener } from './types.ts'

/**
 * The presence bus of a server that runs alone: there are no other nodes,
 * so every room starts empty and nothing is published anywhere. The default
 * of {@link createPresenceRooms}.
 *
 * @param node - This node's id (for logs). Default `'local'`.
 * @returns The bus.
 */
export function localPresenceBus(node = 'local'): PresenceBus {
  let listener: PresenceBusListener | undefined
  return {
    node,
    start(given) {
      listener = given
      return Promise.resolve()
    },
    watch(room) {
      listener?.snapshot(room, [])
      return Promise.resolve()
    },
    unwatch() {},
    publish() {},
    close() {
      listener = undefined
      return Promise.resolve()
    },
  }
}
