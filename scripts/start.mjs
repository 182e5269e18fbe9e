#!/usr/bin/env node
// `npm start`: the sync server (embedded SQLite database, no other service)
// and the demo app, then the URL to open. `npm run dev` (`--dev`): the same
// with Vite's dev server and hot reload instead of a production build.
// `npm run start:todo` (`--todo`): the React todo example (apps/todo) instead
// of the demo.
//
// Environment: LENSYNC_PORT (8787), LENSYNC_DATA (./data/lensync.db),
// DEMO_PORT (5173), TODO_PORT (5174), HOST (127.0.0.1).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dev = process.argv.includes('--dev')
const host = process.env.HOST ?? '127.0.0.1'
const syncPort = process.env.LENSYNC_PORT ?? '8787'
// The app to serve: the demo, or with --todo the React todo example.
const app = process.argv.includes('--todo')
  ? { name: 'todo', dir: `${root}apps/todo`, port: process.env.TODO_PORT ?? '5174' }
  : { name: 'demo', dir: `${root}apps/demo`, port: process.env.DEMO_PORT ?? '5173' }
const appPort = app.port
const dataFile = process.env.LENSYNC_DATA ?? 'data/lensync.db'
const vite = `${root}node_modules/vite/bin/vite.js`

const children = []
function run(name, args, options = {}) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LENSYNC_PORT: syncPort, LENSYNC_HOST: host },
    ...options,
  })
  const prefix = line => `[${name}] ${line}`
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8')
    stream.on('data', text => {
      for (const line of text.split('\n')) if (line.trim()) console.log(prefix(line))
    })
  }
  child.on('exit', (code, signal) => {
    if (stopping) return
    console.error(prefix(`exited (${signal ?? code}); stopping`))
    stop(code ?? 1)
  })
  children.push(child)
  return child
}

let stopping = false
function stop(code = 0) {
  if (stopping) return
  stopping = true
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
  Promise.all(children.map(c => (c.exitCode === null ? once(c, 'exit') : null))).then(() =>
    process.exit(code),
  )
}
process.on('SIGINT', () => stop(0))
process.on('SIGTERM', () => stop(0))

/** Polls `url` until it answers (bounded): a readiness check, not a sleep. */
async function ready(url, what, attempts = 300) {
  for (let i = 0; i < attempts; i++) {
    if (stopping) return
    try {
      const res = await fetch(url)
      if (res.ok) return
    } catch {}
    await new Promise(r => setTimeout(r, 100))
  }
  console.error(`${what} did not become ready at ${url}`)
  stop(1)
}

// The lensync-server command from its TypeScript sources: tsx, and the
// @lensync/source condition that points the bin's `#cli` import at src/cli.ts.
run('sync', [
  '--import',
  'tsx',
  '--conditions=@lensync/source',
  'packages/sync-server/bin/lensync-server.mjs',
  '--port',
  syncPort,
  '--host',
  host,
  '--data',
  dataFile,
])
await ready(`http://${host}:${syncPort}/health`, 'the sync server')

if (dev) {
  run(app.name, [vite, '--port', appPort, '--strictPort', '--host', host], { cwd: app.dir })
} else {
  const build = run('build', [vite, 'build', '--logLevel', 'warn'], { cwd: app.dir })
  children.splice(children.indexOf(build), 1)
  build.removeAllListeners('exit')
  const [code] = await once(build, 'exit')
  if (code !== 0) {
    console.error(`building the ${app.name} failed`)
    stop(1)
  }
  run(app.name, [vite, 'preview', '--port', appPort, '--strictPort', '--host', host], { cwd: app.dir })
}
await ready(`http://${host}:${appPort}/`, `the ${app.name}`)
if (!stopping) {
  const shown = host
  console.log(`\n  lensync ${app.name} ready: open http://${shown}:${appPort}/ in two browser tabs`)
  console.log(`  sync server: ws://${host}:${syncPort}/sync (data: ${dataFile})   Ctrl-C stops both\n`)
}
