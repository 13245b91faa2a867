// Keyboard shortcuts of the web calendar, in the common convention: t
// today, j/n later, k/p earlier, m/w/a the views, c a new event; typing in a
// field types.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, withAccount, logIn } from './support.mjs';

const person = { name: 'kim', email: 'kim@example.org', password: 'kim types fast' };
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

test('shortcut keys move through the calendar and open the event form', async () => {
  const context = await browser.newContext({ timezoneId: 'UTC' });
  const page = await context.newPage();
  await logIn(page, server.base, person);
  await page.goto(`${server.base}/calendar?view=month&date=2026-03-15`);
  const params = () => new URL(page.url()).searchParams;
  const press = async (key) => Promise.all([page.waitForNavigation(), page.keyboard.press(key)]);

  await press('j');
  assert.equal(params().get('view'), 'month');
  assert.match(params().get('date'), /^2026-04-/, 'j: the next month');
  await press('k');
  assert.match(params().get('date'), /^2026-03-/, 'k: back');
  await press('p');
  assert.match(params().get('date'), /^2026-02-/, 'p: earlier');
  await press('n');
  assert.match(params().get('date'), /^2026-03-/, 'n: later');
  await press('w');
  assert.equal(params().get('view'), 'week', 'w: the week view');
  await press('a');
  assert.equal(params().get('view'), 'agenda', 'a: the agenda');
  await press('m');
  assert.equal(params().get('view'), 'month', 'm: the month');
  await press('t');
  assert.equal(params().get('date'), new Date().toISOString().slice(0, 10), 't: today');

  // Typing in a field types.
  const zone = page.getByLabel('Time zone');
  await zone.fill('');
  await zone.press('j');
  await zone.press('k');
  assert.equal(await zone.inputValue(), 'jk');
  assert.equal(params().get('view'), 'month', 'no navigation while typing');
  await page.locator('h1').click();
  await press('c');
  assert.equal(new URL(page.url()).pathname, '/calendar/new', 'c: a new event');
  await context.close();
});
