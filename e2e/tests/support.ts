import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
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

/** Waits until the connection indicator shows `status`. */
export async function expectStatus(page: Page, status: 'synced' | 'offline' | 'syncing' | 'connecting') {
  await expect(page.getByTestId('status')).toHaveText(status)
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

  /** Starts it and waits until `/health` answers (a readiness check, polled). */
  async start(): Promise<void> {
    this.child = spawn(
      process.execPath,
      [cli, '--port', String(this.port), '--host', '127.0.0.1', '--data', this.dataFile],
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
