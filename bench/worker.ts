// The entry point of every benchmark child process: `node --import tsx bench/worker.ts <role>`.
// Started by `startWorker` (bench/lib/worker.ts), never by hand.
import { serveRole } from './lib/rpc.ts'
import { isRoleName, roles } from './roles/index.ts'

const name = process.argv[2]
if (!isRoleName(name)) throw new Error(`bench/worker.ts: unknown role ${String(name)}`)
const { methods } = await roles[name]()
serveRole(methods)
