import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, expect, type Page } from '@playwright/test'

const cli = fileURLToPath(new URL('../../packages/sync-server/bin/lensync-server.mjs', import.meta.url))

/** Opens the demo in a fresh browser context (its own storage: another "person") and waits until synced. */
export async function openTab(browser: Browser, query = ''): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 760 } })
  const page = await context.newPage()
  await page.goto(`/${query}`)
  await expectStatus(page, 'synced')
  return page
}

/**
 * Opens two tabs of the demo in one fresh browser context (one browser:
 * they share its IndexedDB cache, BroadcastChannel and Web Locks) and waits
 * until both are synced.
 */
export async function openTwoTabs(browser: Browser, query = ''): Promise<[Page, Page]> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 760 } })
  const open = async () => {
    const page = await context.newPage()
    await page.goto(`/${query}`)
    await expectStatus(page, 'synced')
    return page
  }
  const a = await open()
  return [a, await open()]
}

/** Waits until the connection indicator shows `status`. */
export async function expectStatus(page: Page, status: 'synced' | 'offline' | 'syncing' | 'connecting') {
  await expect(page.getByTestId('status')).toHaveText(status)
}

/** Posts a chat message from `page` through the compose form. */
export async function postChat(page: Page, text: string) {
  await page.getByTestId('chat-input').fill(text)
  await page.getByTestId('chat-send').click()
}

/** The chat user name of the tab (`guest-…`, one per browser context). */
export async function chatUser(page: Page): Promise<string> {
  const name = await page.getByTestId('me').textContent()
  if (!name) throw new Error('chatUser: the page shows no user name')
  return name
}

/**
 * Runs `use` with a sync server of the test's own on `port` (a fresh database
 * in a temporary directory), started and ready; stops it and removes the
 * directory afterwards, whether `use` passed or failed.
 */
export async function withOwnServer(port: number, use: (server: SyncServerProcess) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'lensync-e2e-own-'))
  const server = new SyncServerProcess(port, join(dir, 'lensync.db'))
  try {
    await server.start()
    await use(server)
  } finally {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A sync server process of this test's own (to stop and restart it). */
export class SyncServerProcess {
  private child: ChildProcess | undefined

  constructor(
    readonly port: number,
    readonly dataFile: string,
  ) {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}/sync`
  }

  /** The demo page query that points a tab at this server (for `openTab`). */
  get query(): string {
    return `?server=${encodeURIComponent(this.url)}`
  }

  /** Starts it and waits until `/health` answers (a readiness check, polled). */
  async start(): Promise<void> {
    this.child = spawn(
      process.execPath,
      // From the TypeScript sources (see packages/sync-server/bin): no build needed.
      [
        '--import',
        'tsx',
        '--conditions=@lensync/source',
        cli,
        '--port',
        String(this.port),
        '--host',
        '127.0.0.1',
        '--data',
        this.dataFile,
      ],
      {
        stdio: 'ignore',
      },
    )
    await expect
      .poll(
        async () => {
          try {
            return (await fetch(`http://127.0.0.1:${this.port}/health`)).ok
          } catch {
            return false
          }
        },
        { timeout: 30_000 },
      )
      .toBe(true)
  }

  /** Stops it (SIGTERM) and waits for the process to exit. */
  async stop(): Promise<void> {
    const child = this.child
    this.child = undefined
    if (!child || child.exitCode !== null) return
    child.kill('SIGTERM')
    await once(child, 'exit')
  }
}

/**
 * A TCP proxy in front of a sync server that a test can cut and restore, to
 * take one browser offline while the others stay online. (Playwright's
 * `context.setOffline` leaves open WebSockets alone.) Cut, it closes every
 * connection and refuses new ones, as a dropped network does; restored, it
 * listens on the same port again, and the tab's reconnect gets through.
 */
export class NetworkSwitch {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()

  private constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  /** Starts a proxy on a free port, forwarding to `127.0.0.1:targetPort`. */
  static async open(targetPort: number): Promise<NetworkSwitch> {
    const probe = createServer()
    await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
    const address = probe.address()
    await new Promise<void>(resolve => probe.close(() => resolve()))
    if (address === null || typeof address === 'string') throw new Error('NetworkSwitch: no port')
    const proxy = new NetworkSwitch(address.port, targetPort)
    await proxy.restore()
    return proxy
  }

  /** The demo page query that points a tab through this proxy (for `openTab`). */
  get query(): string {
    return `?server=${encodeURIComponent(`ws://127.0.0.1:${this.port}/sync`)}`
  }

  /** Drops every connection and refuses new ones until `restore()`. */
  async cut(): Promise<void> {
    const server = this.server
    this.server = undefined
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
    if (server) await new Promise<void>(resolve => server.close(() => resolve()))
  }

  /** Accepts connections again (on the same port). */
  async restore(): Promise<void> {
    if (this.server) return
    const server = createServer(client => {
      const upstream = connect(this.targetPort, '127.0.0.1')
      for (const socket of [client, upstream]) {
        this.sockets.add(socket)
        socket.on('close', () => this.sockets.delete(socket))
        // A reset by the other side is what cutting does; nothing to report.
        socket.on('error', () => {})
      }
      client.pipe(upstream).pipe(client)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve())
    })
    this.server = server
  }

  /** Cuts and stops the proxy for good. */
  async close(): Promise<void> {
    await this.cut()
  }
}
