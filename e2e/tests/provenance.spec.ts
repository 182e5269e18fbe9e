import { join } from 'node:path'
import { expect, type Page, test } from '@playwright/test'
import { SYNC_PORT } from '../playwright.config.ts'
import { expectStatus, NetworkSwitch, openTab } from './support.ts'

// Issue #17 in the demo: a marker per field while this tab's edit of it
// waits, a notice when an edit made offline met a newer value, and Undo of
// this tab's own edits. Tabs A and B are two browsers (two contexts); A
// reaches the server through a NetworkSwitch, so it can go offline while B
// stays online.

const unique = () => Math.random().toString(36).slice(2, 8)

let network: NetworkSwitch | undefined

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map(context => context.close()))
  await network?.close()
  network = undefined
})

/** Opens A (through a switch it can cut) and B (direct), both synced on the shared person. */
async function openAB(
  browser: Parameters<typeof openTab>[0],
): Promise<{ a: Page; b: Page; net: NetworkSwitch }> {
  network = await NetworkSwitch.open(SYNC_PORT)
  const a = await openTab(browser, network.query)
  const b = await openTab(browser)
  return { a, b, net: network }
}

/** Fills `field` in `page` and waits until every tab in `all` shows it and `page` is synced. */
async function editAndSync(page: Page, field: string, value: string, all: readonly Page[]) {
  await page.getByTestId(field).fill(value)
  for (const p of all) await expect(p.getByTestId(field)).toHaveValue(value)
  await expect(page.getByTestId('pending')).toHaveText('0 pending')
}

test('a field is marked pending while its edit waits offline, and unmarked once it reached the server', async ({
  browser,
}) => {
  const { a, b, net } = await openAB(browser)
  await editAndSync(a, 'age', '20', [a, b])
  for (const field of ['name', 'age', 'birthday', 'tags'])
    await expect(a.getByTestId(`${field}-marker`)).toBeHidden()

  await net.cut()
  await expectStatus(a, 'offline')
  await a.getByTestId('age').fill('21')
  await expect(a.getByTestId('age-marker')).toBeVisible()
  await expect(a.getByTestId('age-marker')).toHaveText('pending')
  await expect(a.getByTestId('age-marker')).toHaveAttribute('title', /waits for the server/)
  // Only the edited field is marked; B's own form shows no marker for A's edit.
  await expect(a.getByTestId('name-marker')).toBeHidden()
  await expect(b.getByTestId('age-marker')).toBeHidden()

  await net.restore()
  await expectStatus(a, 'synced')
  await expect(a.getByTestId('age-marker')).toBeHidden()
  await expect(b.getByTestId('age')).toHaveValue('21')
})

test('an edit made offline that replaced a newer value shows a notice; Restore theirs and Dismiss', async ({
  browser,
}, testInfo) => {
  const { a, b, net } = await openAB(browser)
  await editAndSync(b, 'name', `Before ${unique()}`, [a, b])
  await editAndSync(b, 'age', '40', [a, b])

  await net.cut()
  await expectStatus(a, 'offline')
  const mine = `Mine ${unique()}`
  await a.getByTestId('name').fill(mine)
  await a.getByTestId('age').fill('41')
  await expect(a.getByTestId('name-marker')).toHaveText('pending')

  // Meanwhile B, online, changes both fields.
  const theirs = `Theirs ${unique()}`
  await b.getByTestId('name').fill(theirs)
  await b.getByTestId('age').fill('42')
  await expect(b.getByTestId('pending')).toHaveText('0 pending')
  await expectStatus(b, 'synced')
  await expect(a.getByTestId('conflict-notice')).toHaveCount(0)

  await net.restore()
  await expectStatus(a, 'synced')
  // A's edits were applied over B's (overwrite), and A is told, one notice per field.
  for (const page of [a, b]) {
    await expect(page.getByTestId('name')).toHaveValue(mine)
    await expect(page.getByTestId('age')).toHaveValue('41')
  }
  const notices = a.getByTestId('conflict-notice')
  await expect(notices).toHaveCount(2)
  const nameNotice = notices.filter({ hasText: 'Your edit of Name' })
  const ageNotice = notices.filter({ hasText: 'Your edit of Age' })
  await expect(nameNotice).toContainText('replaced someone’s newer value')
  await expect(nameNotice).toContainText(`theirs: “${theirs}”`)
  await expect(ageNotice).toContainText('theirs: 42')
  // B made no conflicting edit: no notice there.
  await expect(b.getByTestId('conflict-notice')).toHaveCount(0)
  const path = join(import.meta.dirname, '..', 'artifacts', 'conflict.png')
  await a.locator('#person').screenshot({ path })
  await testInfo.attach('conflict', { path, contentType: 'image/png' })

  await nameNotice.getByRole('button', { name: 'Restore theirs' }).click()
  for (const page of [a, b]) await expect(page.getByTestId('name')).toHaveValue(theirs)
  await expect(nameNotice).toHaveCount(0)
  await expect(a.getByTestId('pending')).toHaveText('0 pending')

  // From the keyboard: closing a notice moves focus to the next one's first button.
  await expect(ageNotice.getByRole('button', { name: 'Restore theirs' })).toBeFocused()
  await a.keyboard.press('Tab')
  await expect(ageNotice.getByRole('button', { name: 'Dismiss' })).toBeFocused()
  await a.keyboard.press('Enter')
  await expect(a.getByTestId('conflict-notice')).toHaveCount(0)
  for (const page of [a, b]) await expect(page.getByTestId('age')).toHaveValue('41')
})

test('Undo in A reverts only A’s edit, in both tabs; B’s edit of another field stays', async ({
  browser,
}) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const before = `Before ${unique()}`
  await editAndSync(b, 'name', before, [a, b])
  const ageBefore = await a.getByTestId('age').inputValue()
  const theirAge = ageBefore === '51' ? '52' : '51'
  // Values that came from elsewhere are not A's to undo.
  await expect(a.getByTestId('undo')).toBeDisabled()

  const mine = `Mine ${unique()}`
  await editAndSync(a, 'name', mine, [a, b])
  await editAndSync(b, 'age', theirAge, [a, b])
  await expect(a.getByTestId('undo')).toBeEnabled()

  await a.getByTestId('undo').click()
  for (const page of [a, b]) {
    await expect(page.getByTestId('name')).toHaveValue(before)
    await expect(page.getByTestId('age')).toHaveValue(theirAge)
  }
  await expect(a.getByTestId('undo')).toBeDisabled()
  await expect(a.getByTestId('redo')).toBeEnabled()
  await a.getByTestId('redo').click()
  for (const page of [a, b]) await expect(page.getByTestId('name')).toHaveValue(mine)

  // B's Undo is B's own: it reverts B's age edit, not A's name (B's own
  // edit of the name is gone from its history: A changed the name since).
  await b.getByTestId('undo').click()
  for (const page of [a, b]) {
    await expect(page.getByTestId('age')).toHaveValue(ageBefore)
    await expect(page.getByTestId('name')).toHaveValue(mine)
  }
  await expect(b.getByTestId('undo')).toBeDisabled()
  await expect(a.getByTestId('pending')).toHaveText('0 pending')
  await expect(b.getByTestId('pending')).toHaveText('0 pending')
})

test('Ctrl+Z in the form undoes A’s own edit, Ctrl+Shift+Z and Ctrl+Y redo it', async ({ browser }) => {
  const a = await openTab(browser)
  const b = await openTab(browser)
  const before = `Before ${unique()}`
  await editAndSync(b, 'name', before, [a, b])

  const mine = `Typed ${unique()}`
  // A's clock stands still while it types, so the keystrokes and the fill
  // are one step however slowly the browser runs them (the demo joins edits
  // less than 500 ms apart); focus moves still end a step.
  await a.clock.setFixedTime(Date.now())
  await a.getByTestId('name').pressSequentially(mine.slice(0, 3))
  await a.getByTestId('name').fill(mine)
  await expect(b.getByTestId('name')).toHaveValue(mine)
  await editAndSync(b, 'age', '61', [a, b])

  // Focus is still in A's name field: the key is the sync's Undo, not the field's own.
  await expect(a.getByTestId('name')).toBeFocused()
  await a.keyboard.press('Control+z')
  for (const page of [a, b]) {
    await expect(page.getByTestId('name')).toHaveValue(before)
    await expect(page.getByTestId('age')).toHaveValue('61')
  }
  await a.keyboard.press('Control+Shift+z')
  for (const page of [a, b]) await expect(page.getByTestId('name')).toHaveValue(mine)
  await a.keyboard.press('Control+z')
  for (const page of [a, b]) await expect(page.getByTestId('name')).toHaveValue(before)
  await a.keyboard.press('Control+y')
  for (const page of [a, b]) {
    await expect(page.getByTestId('name')).toHaveValue(mine)
    await expect(page.getByTestId('age')).toHaveValue('61')
  }
  await expect(a.getByTestId('pending')).toHaveText('0 pending')
})
