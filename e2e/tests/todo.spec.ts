import { join } from 'node:path'
import { type Browser, expect, type Page, test } from '@playwright/test'
import { TODO_PORT, TODO_RESTART_PORT } from '../playwright.config.ts'
import { expectStatus, withOwnServer } from './support.ts'

// The React todo example (apps/todo): every tab edits one shared list.
const unique = () => Math.random().toString(36).slice(2, 8)

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map(context => context.close()))
})

/** Opens the todo app in a fresh browser context and waits until it is synced. */
async function openTodo(browser: Browser, query = ''): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } })
  const page = await context.newPage()
  await page.goto(`http://127.0.0.1:${TODO_PORT}/${query}`)
  await expectStatus(page, 'synced')
  return page
}

async function addTodo(page: Page, title: string) {
  await page.getByTestId('new-todo').fill(title)
  await page.getByTestId('new-todo').press('Enter')
}

/** The row of the item titled `title` (exactly). */
const item = (page: Page, title: string) =>
  page
    .getByTestId('todo-item')
    .filter({ has: page.getByTestId('todo-title').getByText(title, { exact: true }) })

test('two tabs add, edit, toggle and delete items and see each other’s changes', async ({ browser }) => {
  const a = await openTodo(browser)
  const b = await openTodo(browser)
  const title = `Buy milk ${unique()}`

  await addTodo(a, title)
  await expect(item(b, title)).toHaveCount(1)
  await expect(a.getByTestId('new-todo')).toHaveValue('')

  // B edits the title inline: double-click, type, Enter.
  const edited = `Buy oat milk ${unique()}`
  await item(b, title).getByTestId('todo-title').dblclick()
  await b.getByTestId('todo-edit').fill(edited)
  await b.getByTestId('todo-edit').press('Enter')
  await expect(item(a, edited)).toHaveCount(1)
  await expect(item(a, title)).toHaveCount(0)

  // A marks it done; B sees it done, and under the "done" filter only.
  await item(a, edited).getByTestId('todo-toggle').check()
  await expect(item(b, edited)).toHaveAttribute('data-done', 'true')
  await expect(item(b, edited).getByTestId('todo-toggle')).toBeChecked()
  await b.getByTestId('filter-active').click()
  await expect(item(b, edited)).toHaveCount(0)
  await b.getByTestId('filter-done').click()
  await expect(item(b, edited)).toHaveCount(1)
  await b.getByTestId('filter-all').click()

  // B deletes it; it is gone in A.
  await item(b, edited).getByTestId('todo-delete').click()
  await expect(item(a, edited)).toHaveCount(0)
  await expect(item(b, edited)).toHaveCount(0)
  for (const page of [a, b]) {
    await expectStatus(page, 'synced')
    await expect(page.getByTestId('pending')).toHaveText('0 pending')
  }
})

test('a tab opened later sees the list, in the same order', async ({ browser }) => {
  const a = await openTodo(browser)
  const first = `First ${unique()}`
  const second = `Second ${unique()}`
  await addTodo(a, first)
  await addTodo(a, second)
  await expect(a.getByTestId('pending')).toHaveText('0 pending')

  const later = await openTodo(browser)
  const titles = await later.getByTestId('todo-title').allTextContents()
  expect(titles.indexOf(first)).toBeGreaterThanOrEqual(0)
  expect(titles.indexOf(second)).toBe(titles.indexOf(first) + 1)
})

test('an item added while the server is down appears in the other tab after reconnect', async ({
  browser,
}) => {
  await withOwnServer(TODO_RESTART_PORT, async server => {
    const a = await openTodo(browser, server.query)
    const b = await openTodo(browser, server.query)

    await server.stop()
    await expectStatus(a, 'offline')
    await expectStatus(b, 'offline')

    const title = `Written offline ${unique()}`
    await addTodo(a, title)
    await expect(item(a, title)).toHaveCount(1)
    await expect(a.getByTestId('pending')).toHaveText('1 pending')
    await expect(item(b, title)).toHaveCount(0)

    await server.start()
    await expect(item(b, title)).toHaveCount(1)
    for (const page of [a, b]) {
      await expectStatus(page, 'synced')
      await expect(page.getByTestId('pending')).toHaveText('0 pending')
    }
  })
})

test('an item added while the server is down survives a reload and reaches another browser later', async ({
  browser,
}) => {
  await withOwnServer(TODO_RESTART_PORT, async server => {
    const a = await openTodo(browser, server.query)
    await server.stop()
    await expectStatus(a, 'offline')
    const title = `Kept across a reload ${unique()}`
    await addTodo(a, title)
    await expect(a.getByTestId('pending')).toHaveText('1 pending')

    // The page comes back from the browser's cache with the item, still unsent.
    await a.reload()
    await expect(item(a, title)).toHaveCount(1)
    await expect(a.getByTestId('pending')).toHaveText('1 pending')

    await server.start()
    await expectStatus(a, 'synced')
    await expect(a.getByTestId('pending')).toHaveText('0 pending')
    const b = await openTodo(browser, server.query)
    await expect(item(b, title)).toHaveCount(1)
  })
})

test('saves a screenshot of the todo app', async ({ browser }, testInfo) => {
  await withOwnServer(TODO_RESTART_PORT, async server => {
    const a = await openTodo(browser, server.query)
    for (const title of ['Try lensync with React', 'Open this page in two tabs', 'Edit a todo inline'])
      await addTodo(a, title)
    await item(a, 'Try lensync with React').getByTestId('todo-toggle').check()
    await expect(a.getByTestId('pending')).toHaveText('0 pending')
    const path = join(import.meta.dirname, '..', 'artifacts', 'todo.png')
    await a.screenshot({ path, fullPage: true })
    await testInfo.attach('todo', { path, contentType: 'image/png' })
  })
})
