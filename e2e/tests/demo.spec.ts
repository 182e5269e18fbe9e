import { mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { RESTART_PORT } from '../playwright.config.ts'
import { expectStatus, openTab, SyncServerProcess } from './support.ts'

const unique = () => Math.random().toString(36).slice(2, 8)

test('a name typed in tab A shows in tab B, and an age changed in B shows in A', async ({ browser }) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const name = `Ada ${unique()}`
  await a.getByTestId('name').fill(name)
  await expect(b.getByTestId('name')).toHaveValue(name)

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
  await a.getByTestId('chat-input').fill(text)
  await a.getByTestId('chat-send').click()
  await expect(b.getByTestId('chat-line').filter({ hasText: text })).toHaveCount(1)

  const later = await openTab(browser)
  await expect(later.getByTestId('chat-line').filter({ hasText: text })).toHaveCount(1)
  // Join notices, as in the Ktor and fritz2 chat samples.
  const me = await a.getByTestId('me').textContent()
  await expect(later.getByTestId('chat-notice').filter({ hasText: `${me} joined` })).toHaveCount(1)
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
  const dir = join(tmpdir(), `lensync-e2e-restart-${unique()}`)
  mkdirSync(dir, { recursive: true })
  const server = new SyncServerProcess(RESTART_PORT, join(dir, 'lensync.db'))
  try {
    await server.start()
    const query = `?server=${encodeURIComponent(server.url)}`
    const a = await openTab(browser, query)
    const b = await openTab(browser, query)

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
  } finally {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('undo reverts the last change of the form, and validation messages show next to the field', async ({
  browser,
}) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const before = await a.getByTestId('name').inputValue()
  await a.getByTestId('name').fill(`${before}!`)
  await a.getByTestId('undo').click()
  await expect(a.getByTestId('name')).toHaveValue(before)
  await expect(b.getByTestId('name')).toHaveValue(before)

  await a.getByTestId('age').fill('200')
  await expect(a.getByTestId('age-error')).toHaveText(/0 to 150/)
  await a.getByTestId('age').fill('30')
  await expect(a.getByTestId('age-error')).toHaveText('')
})

test('saves a screenshot of the demo', async ({ browser }, testInfo) => {
  const a = await openTab(browser)
  await a.getByTestId('name').fill('Ada Lovelace')
  await a.getByTestId('age').fill('36')
  await a.getByTestId('chat-input').fill('Open this page in two tabs and type!')
  await a.getByTestId('chat-send').click()
  await expectStatus(a, 'synced')
  const path = join(import.meta.dirname, '..', 'artifacts', 'demo.png')
  await a.screenshot({ path, fullPage: true })
  await testInfo.attach('demo', { path, contentType: 'image/png' })
})
