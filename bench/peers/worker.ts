// The entry point of every peers-bench child process:
// `node --import tsx bench/peers/worker.ts <role> <system>`. Started by `startPeerWorker`
// (bench/peers/lib/worker.ts), never by hand.
import { serveRole } from '../lib/rpc.ts'
import { isRoleName, roles } from './roles/index.ts'
import { isSystemId } from './systems/index.ts'

const [role, system] = process.argv.slice(2)
if (!isRoleName(role)) throw new Error(`bench/peers/worker.ts: unknown role ${String(role)}`)
if (!isSystemId(system)) throw new Error(`bench/peers/worker.ts: unknown system ${String(system)}`)
serveRole(await roles[role](system))
