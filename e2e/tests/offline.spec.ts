import { expect, test } from '@playwright/test'
import { RESTART_PORT } from '../playwright.config.ts'
import { expectStatus, openTab, openTwoTabs, withOwnServer } from './support.ts'

// Issue #15 in a real browser: the demo keeps what it synced and the edits
// not yet acknowledged in IndexedDB (indexedDbCache). One browser context is
// one browser; its pages are tabs sharing that cache.

const unique = () => Math.random().toString(36).slice(2, 8)

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map(context => context.close()))
})

test('an edit made while the server is down survives a reload and reaches another browser when it is back', async ({
  browser,
}) => {
  await withOwnServer(RESTART_PORT, async server => {
    const a = await openTab(browser, server.query)
    const other = await openTab(browser, server.query)

    await server.stop()
    await expectStatus(a, 'offline')
    const name = `Typed offline ${unique()}`
    await a.getByTestId('name').fill(name)
    await expect(a.getByTestId('pending')).toHaveText('1 pending')

    await a.reload()
    // The cached value with the unsent edit, before any connection.
    await expect(a.getByTestId('name')).toHaveValue(name)
    await expectStatus(a, 'offline')
    await expect(a.getByTestId('pending')).toHaveText('1 pending')

    await server.start()
    await expect(other.getByTestId('name')).toHaveValue(name)
    await expectStatus(a, 'synced')
    await expect(a.getByTestId('pending')).toHaveText('0 pending')
    await expect(a.getByTestId('name')).toHaveValue(name)
  })
})

test('two tabs of one browser with the server down: an edit in A shows in B at once', async ({ browser }) => {
  await withOwnServer(RESTART_PORT, async server => {
    const [a, b] = await openTwoTabs(browser, server.query)

    await server.stop()
    await expectStatus(a, 'offline')
    await expectStatus(b, 'offline')
    const name = `Shared offline ${unique()}`
    await a.getByTestId('name').fill(name)
    await expect(b.getByTestId('name')).toHaveValue(name)
    await expect(b.getByTestId('pending')).toHaveText('1 pending')

    await server.start()
    await expectStatus(a, 'synced')
    await expectStatus(b, 'synced')
    await expect(b.getByTestId('name')).toHaveValue(name)
  })
})

test('a tab closed with unsent edits: the other tab sends them when the server returns', async ({
  browser,
}) => {
  await withOwnServer(RESTART_PORT, async server => {
    const [a, b] = await openTwoTabs(browser, server.query)

    await server.stop()
    await expectStatus(a, 'offline')
    const name = `Left behind ${unique()}`
    await a.getByTestId('name').fill(name)
    await expect(b.getByTestId('name')).toHaveValue(name)
    await a.close()

    await server.start()
    await expectStatus(b, 'synced')
    await expect(b.getByTestId('pending')).toHaveText('0 pending')
    // Another browser (no cache of this one) gets it from the server.
    const other = await openTab(browser, server.query)
    await expect(other.getByTestId('name')).toHaveValue(name)
    await expect(b.getByTestId('name')).toHaveValue(name)
  })
})
