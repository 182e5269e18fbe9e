import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { RESTART_PORT } from '../playwright.config.ts'
import { chatUser, expectStatus, openTab, postChat, withOwnServer } from './support.ts'

const unique = () => Math.random().toString(36).slice(2, 8)

// Every tab is a browser context of its own; close them so no test's tabs stay
// connected (and posting) while the next test runs.
test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map(context => context.close()))
})

test('a name typed key by key in tab A shows in tab B, and an age changed in B shows in A', async ({
  browser,
}) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const name = `Ada ${unique()}`
  // One input event (and one synced edit) per keystroke.
  await a.getByTestId('name').clear()
  await a.getByTestId('name').pressSequentially(name)
  await expect(b.getByTestId('name')).toHaveValue(name)
  await expect(a.getByTestId('pending')).toHaveText('0 pending')

  await b.getByTestId('age').fill('42')
  await expect(a.getByTestId('age')).toHaveValue('42')
  await expectStatus(a, 'synced')
  await expectStatus(b, 'synced')
})

test('two tabs editing different fields at the same moment keep both edits', async ({ browser }) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const name = `Grace ${unique()}`
  await Promise.all([a.getByTestId('name').fill(name), b.getByTestId('age').fill('85')])
  for (const page of [a, b]) {
    await expect(page.getByTestId('name')).toHaveValue(name)
    await expect(page.getByTestId('age')).toHaveValue('85')
    await expectStatus(page, 'synced')
  }
})

test('a chat message from A appears in B, and a tab opened later sees the history', async ({ browser }) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const text = `hello ${unique()}`
  await postChat(a, text)
  await expect(b.getByTestId('chat-line').filter({ hasText: text })).toHaveCount(1)

  const later = await openTab(browser)
  await expect(later.getByTestId('chat-line').filter({ hasText: text })).toHaveCount(1)
  // Join notices, as in the Ktor and fritz2 chat samples.
  const me = await chatUser(a)
  await expect(later.getByTestId('chat-notice').filter({ hasText: `${me} joined` })).toHaveCount(1)
})

test('closing tab B shows a leave notice in tab A', async ({ browser }) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const user = await chatUser(b)
  await expect(a.getByTestId('chat-notice').filter({ hasText: `${user} joined` })).toHaveCount(1)

  await b.close()
  await expect(a.getByTestId('chat-notice').filter({ hasText: `${user} left` })).toHaveCount(1)
})

test('a reloaded tab shows the current shared state, not the defaults', async ({ browser }) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const name = `Persisted ${unique()}`
  await a.getByTestId('name').fill(name)
  await a.getByTestId('tag-input').fill('e2e')
  await a.getByTestId('tag-input').press('Enter')
  await expectStatus(a, 'synced')
  await b.reload()
  await expectStatus(b, 'synced')
  await expect(b.getByTestId('name')).toHaveValue(name)
  await expect(b.getByTestId('tag').filter({ hasText: 'e2e' })).toHaveCount(1)
})

test('tabs go offline when the server stops, keep an edit, and sync it when the server returns', async ({
  browser,
}) => {
  await withOwnServer(RESTART_PORT, async server => {
    const a = await openTab(browser, server.query)
    const b = await openTab(browser, server.query)

    await server.stop()
    await expectStatus(a, 'offline')
    await expectStatus(b, 'offline')

    const name = `Offline edit ${unique()}`
    await a.getByTestId('name').fill(name)
    await expect(a.getByTestId('pending')).not.toHaveText('0 pending')

    await server.start()
    await expectStatus(a, 'synced')
    await expectStatus(b, 'synced')
    await expect(b.getByTestId('name')).toHaveValue(name)
    await expect(a.getByTestId('pending')).toHaveText('0 pending')
  })
})

test('a chat message posted while the server is stopped reaches the other tab when it returns', async ({
  browser,
}) => {
  await withOwnServer(RESTART_PORT, async server => {
    const a = await openTab(browser, server.query)
    const b = await openTab(browser, server.query)

    await server.stop()
    await expectStatus(a, 'offline')
    await expectStatus(b, 'offline')

    const text = `sent offline ${unique()}`
    await postChat(a, text)
    await expect(a.getByTestId('chat-line').filter({ hasText: text })).toHaveCount(1)
    await expect(a.getByTestId('pending')).not.toHaveText('0 pending')

    await server.start()
    await expect(b.getByTestId('chat-line').filter({ hasText: text })).toHaveCount(1)
    await expectStatus(a, 'synced')
    await expectStatus(b, 'synced')
    await expect(a.getByTestId('pending')).toHaveText('0 pending')
  })
})

test('a freshly opened tab cannot undo; Undo reverts only the last edit, in every tab', async ({
  browser,
}) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  // Nothing to undo on load: the server's record is the start of the history.
  await expect(a.getByTestId('undo')).toBeDisabled()
  await expect(b.getByTestId('undo')).toBeDisabled()

  const kept = `Kept ${unique()}`
  await a.getByTestId('name').fill(kept)
  await a.getByTestId('age').fill('33')
  await expect(b.getByTestId('name')).toHaveValue(kept)
  await expect(b.getByTestId('age')).toHaveValue('33')

  const undone = `Undone ${unique()}`
  await a.getByTestId('name').fill(undone)
  await expect(b.getByTestId('name')).toHaveValue(undone)
  await expect(a.getByTestId('undo')).toBeEnabled()
  await a.getByTestId('undo').click()
  for (const page of [a, b]) {
    await expect(page.getByTestId('name')).toHaveValue(kept)
    await expect(page.getByTestId('age')).toHaveValue('33')
    await expectStatus(page, 'synced')
  }

  // A tab opened now starts from the shared record, not from blank defaults.
  const later = await openTab(browser)
  await expect(later.getByTestId('undo')).toBeDisabled()
  await expect(later.getByTestId('name')).toHaveValue(kept)
})

test('validation messages show next to each field while its value breaks a rule', async ({ browser }) => {
  const a = await openTab(browser)
  const rules = [
    { field: 'name', bad: '', good: `Valid ${unique()}`, message: 'Name is required' },
    { field: 'age', bad: '200', good: '30', message: /0 to 150/ },
    { field: 'birthday', bad: '2999-01-01', good: '1990-05-17', message: 'Birthday cannot be in the future' },
  ]
  for (const { field, bad, good, message } of rules) {
    await a.getByTestId(field).fill(bad)
    await expect(a.getByTestId(`${field}-error`)).toHaveText(message)
    await a.getByTestId(field).fill(good)
    await expect(a.getByTestId(`${field}-error`)).toHaveText('')
  }
  await expectStatus(a, 'synced')
})

test('saves a screenshot of the demo', async ({ browser }, testInfo) => {
  const a = await openTab(browser)
  await a.getByTestId('name').fill('Ada Lovelace')
  await a.getByTestId('age').fill('36')
  await postChat(a, 'Open this page in two tabs and type!')
  await expectStatus(a, 'synced')
  const path = join(import.meta.dirname, '..', 'artifacts', 'demo.png')
  await a.screenshot({ path, fullPage: true })
  await testInfo.attach('demo', { path, contentType: 'image/png' })
})
