import { expect, type Page, test } from '@playwright/test'
import { TODO_PORT } from '../playwright.config.ts'
import { openTab } from './support.ts'

// Presence in the demo: avatars of the people on the page, and the field each
// of them is editing, outlined in their color with their name beside it.

const unique = () => Math.random().toString(36).slice(2, 8)

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map(context => context.close()))
})

/** Gives the tab a name of its own (the header's name input) and returns it. */
async function nameTab(page: Page, prefix: string): Promise<string> {
  const name = `${prefix}-${unique()}`
  await page.getByTestId('my-name').fill(name)
  await page.getByTestId('my-name').press('Enter')
  await expect(page.getByTestId('me')).toHaveText(name)
  return name
}

/** The color of the tab's user (kept in localStorage), as CSS computes it. */
async function colorOf(page: Page): Promise<string> {
  return page.evaluate(() => {
    const probe = document.createElement('span')
    probe.style.color = localStorage.getItem('lensync-demo-color') ?? ''
    document.body.append(probe)
    const color = getComputedStyle(probe).color
    probe.remove()
    return color
  })
}

test("tab B shows tab A's avatar, and a new name at once", async ({ browser }) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const name = await nameTab(a, 'Ada')
  await expect(b.getByTestId('avatar').filter({ hasText: name })).toHaveCount(1)
  // A does not see itself among the others.
  await expect(a.getByTestId('avatar').filter({ hasText: name })).toHaveCount(0)

  const renamed = await nameTab(a, 'Grace')
  await expect(b.getByTestId('avatar').filter({ hasText: renamed })).toHaveCount(1)
  await expect(b.getByTestId('avatar').filter({ hasText: name })).toHaveCount(0)
})

test('A focuses "Name": B sees the field outlined in A\'s color with A\'s name; leaving it clears it', async ({
  browser,
}) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const name = await nameTab(a, 'Ada')
  const color = await colorOf(a)

  await a.getByTestId('name').focus()
  await expect(b.getByTestId('name-peers')).toHaveText(name)
  await expect(b.getByTestId('name')).toHaveCSS('outline-color', color)
  await expect(b.getByTestId('name')).toHaveCSS('outline-style', 'solid')
  // A sees no outline of its own.
  await expect(a.getByTestId('name-peers')).toHaveText('')

  await a.getByTestId('age').focus()
  await expect(b.getByTestId('name-peers')).toHaveText('')
  await expect(b.getByTestId('age-peers')).toHaveText(name)
  await expect(b.getByTestId('name')).not.toHaveCSS('outline-color', color)
})

test("closing tab A removes its avatar from tab B, with a leave line in B's chat", async ({ browser }) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const name = await nameTab(a, 'Ada')
  await expect(b.getByTestId('avatar').filter({ hasText: name })).toHaveCount(1)

  await a.context().close()
  await expect(b.getByTestId('avatar').filter({ hasText: name })).toHaveCount(0)
  await expect(b.getByTestId('chat-notice').filter({ hasText: `${name} left` })).toHaveCount(1)
})

test('the todo app shows the avatars of the other tabs in its header', async ({ browser }) => {
  const open = async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`http://127.0.0.1:${TODO_PORT}/`)
    await expect(page.getByTestId('my-avatar')).toBeVisible()
    return page
  }
  const a = await open()
  const b = await open()
  const initials = await a.getByTestId('my-avatar').textContent()
  const title = await a.getByTestId('my-avatar').getAttribute('title')
  const aName = title?.replace(' (you)', '') ?? ''
  expect(initials).toBeTruthy()
  await expect(b.locator(`[data-testid="avatar"][title="${aName}"]`)).toHaveCount(1)
  await a.context().close()
  await expect(b.locator(`[data-testid="avatar"][title="${aName}"]`)).toHaveCount(0)
})
