// The web calendar remembers what a person chose (issue "A web calendar
// people would choose"): the view, the calendars shown, and the time zone,
// across visits, without anything in the address.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, withAccount, logIn } from './support.mjs';

const person = { name: 'rita', email: 'rita@example.org', password: 'rita remembers all' };
let server, browser;

before(async () => {
  server = await startServer({
    configFile: false,
    prepare: withAccount(person),
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

test('the view, the calendars shown and the zone are remembered across visits', async () => {
  const context = await browser.newContext({ timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  await logIn(page, server.base, person);
  await page.goto(`${server.base}/calendar/calendars`);
  await page.locator('#new-calendar').locator('..').getByLabel('Name').fill('Birthdays');
  await submit(page, page.getByRole('button', { name: 'Create' }));

  // Birthdays hidden, the week view chosen.
  await page.goto(`${server.base}/calendar`);
  await page.getByRole('checkbox', { name: 'Birthdays' }).uncheck();
  await submit(page, page.getByRole('button', { name: 'Show these' }));
  await page.getByRole('link', { name: 'Week', exact: true }).click();
  await page.waitForURL(/view=week/);

  // A later visit, from a bare address.
  await page.goto(`${server.base}/calendar`);
  assert.equal(await page.getByRole('link', { name: 'Week', exact: true }).getAttribute('aria-current'), 'page',
    'the week view is remembered');
  assert.equal(await page.getByRole('checkbox', { name: 'Birthdays' }).isChecked(), false, 'Birthdays stays hidden');
  assert.equal(await page.getByRole('checkbox', { name: 'Calendar', exact: true }).isChecked(), true);
  assert.equal(await page.getByLabel('Time zone').inputValue(), 'Europe/Berlin', 'the zone too');

  // Showing every calendar again is remembered as well.
  await page.getByRole('checkbox', { name: 'Birthdays' }).check();
  await submit(page, page.getByRole('button', { name: 'Show these' }));
  await page.goto(`${server.base}/calendar`);
  assert.equal(await page.getByRole('checkbox', { name: 'Birthdays' }).isChecked(), true);

  // Another browser starts from the defaults.
  const other = await browser.newContext({ timezoneId: 'Europe/Berlin' });
  const fresh = await other.newPage();
  await logIn(fresh, server.base, person);
  await fresh.goto(`${server.base}/calendar`);
  assert.equal(await fresh.getByRole('link', { name: 'Month', exact: true }).getAttribute('aria-current'), 'page');
  await other.close();
  await context.close();
});
