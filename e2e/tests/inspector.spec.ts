import { fileURLToPath } from 'node:url'
import { expect, type Page, test } from '@playwright/test'
import { TODO_PORT } from '../playwright.config.ts'
import { expectStatus, withOwnServer } from './support.ts'

// Issue #22: the @lensync/devtools inspector in the demo and the todo app.
// The demo runs against a sync server of this spec's own (to stop it), and
// its WebSocket goes through page.routeWebSocket: server → page frames can
// be held back, so a field is seen pending before its ack is let through.

const INSPECTOR_PORT = Number(process.env.E2E_INSPECTOR_PORT ?? 18791)
/** Set to write the panel's screenshot to docs/inspector.png. */
const SCREENSHOT = process.env.INSPECTOR_SCREENSHOT === '1'

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map(context => context.close()))
})

/** Routes the page's sync WebSocket to `url`; `hold(true)` holds server → page frames until `hold(false)`. */
async function routeHeld(page: Page, url: string) {
  let holding = false
  const held: Array<() => void> = []
  await page.routeWebSocket(url, ws => {
    const server = ws.connectToServer()
    server.onMessage(message => {
      if (holding) held.push(() => ws.send(message))
      else ws.send(message)
    })
    ws.onMessage(message => server.send(message))
  })
  return (on: boolean) => {
    holding = on
    if (!on) for (const release of held.splice(0)) release()
  }
}

test('the demo: a patch, its ack, a field pending → synced, then the server goes away', async ({
  browser,
}) => {
  await withOwnServer(INSPECTOR_PORT, async server => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 860 } })
    const page = await context.newPage()
    const hold = await routeHeld(page, server.url)
    await page.goto(`/${server.query}`)
    await expectStatus(page, 'synced')

    await page.getByTestId('inspector-toggle').click()
    const panel = page.getByTestId('inspector')
    await expect(panel).toBeVisible()
    await expect(panel.getByTestId('conn-state')).toHaveText('ready')
    await expect(panel.getByTestId('conn-url')).toHaveText(server.url)
    const person = panel.locator('[data-testid="sync"][data-title="person/demo-person"]')
    await expect(person.getByTestId('sync-status')).toHaveText('synced')
    const nameField = person.locator('[data-testid="field"][data-path=".name"]')
    await expect(nameField).toHaveAttribute('data-status', 'synced')

    hold(true)
    const name = `Inspected ${Math.random().toString(36).slice(2, 7)}`
    await page.getByTestId('name').fill(name)
    const patch = panel
      .locator('[data-testid="frame"][data-direction="out"][data-types~="patch"]')
      .filter({ hasText: 'person/demo-person' })
      .filter({ hasText: '.name' })
    await expect(patch.first()).toBeVisible()
    await expect(nameField).toHaveAttribute('data-status', 'pending')
    await expect(nameField).toContainText(name)
    await expect(person.getByTestId('sync-outbox')).toHaveText('1')

    hold(false)
    await expect(
      panel.locator('[data-testid="frame"][data-direction="in"][data-types~="ack"]').first(),
    ).toBeVisible()
    await expect(nameField).toHaveAttribute('data-status', 'synced')
    await expect(person.getByTestId('sync-outbox')).toHaveText('0')
    await expect(panel.getByTestId('conn-rtt')).toContainText('ms')

    if (SCREENSHOT) {
      await patch.first().locator('summary').click()
      await page.screenshot({ path: fileURLToPath(new URL('../../docs/inspector.png', import.meta.url)) })
      await patch.first().locator('summary').click()
    }

    await server.stop()
    await expect(panel.getByTestId('conn-state')).toHaveText('offline')
    await expect(panel.getByTestId('conn-attempts')).not.toHaveText('0')
    await page.getByTestId('name').fill(`${name} offline`)
    await expect(person.getByTestId('sync-outbox')).toHaveText('1')
    await page.getByTestId('age').fill('42')
    await expect(person.getByTestId('sync-outbox')).toHaveText('2')
    await expect(nameField).toHaveAttribute('data-status', 'pending')

    // Keyboard: Escape closes the panel.
    await panel.getByTestId('inspector-clear').focus()
    await page.keyboard.press('Escape')
    await expect(panel).toBeHidden()
  })
})

test('the todo app: the list and the put of a new item in the inspector', async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } })
  const page = await context.newPage()
  await page.goto(`http://127.0.0.1:${TODO_PORT}/`)
  await expectStatus(page, 'synced')
  await page.getByTestId('inspector-toggle').click()
  const panel = page.getByTestId('inspector')
  await expect(panel).toBeVisible()
  await expect(page.getByTestId('inspector-toggle')).toHaveAttribute('aria-pressed', 'true')
  const list = panel.locator('[data-testid="sync"][data-title="todo/*"]')
  await expect(list.getByTestId('sync-status')).toHaveText('synced')
  await expect(panel.locator('[data-testid="room"][data-room="todo"]')).toBeVisible()

  const title = `Inspect me ${Math.random().toString(36).slice(2, 7)}`
  await page.getByTestId('new-todo').fill(title)
  await page.getByTestId('add-todo').click()
  await expect(
    panel.locator('[data-testid="frame"][data-direction="out"][data-types~="put"]').first(),
  ).toBeVisible()
  await expect(list.locator('[data-testid="field"]').filter({ hasText: title }).first()).toBeVisible()
  await expect(list.getByTestId('sync-status')).toHaveText('synced')

  await page.getByTestId('inspector-close').click()
  await expect(panel).toBeHidden()
  await expect(page.getByTestId('inspector-toggle')).toHaveAttribute('aria-pressed', 'false')
})
