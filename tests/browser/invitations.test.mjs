// Invitations in a real browser (issue "Invitations and reminders"): an
// organizer invites on the event form, a guest without an account answers
// through the link in the mail, a guest with an account answers on the
// event's page in her own calendar; the organizer's event shows both
// answers. axe-core finds no serious problem on the pages involved.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launchBrowser, withAccount, logIn, here, shots } from './support.mjs';

const organizer = { name: 'ola', email: 'ola@example.org', password: 'ola organizes well' };
const colleague = { name: 'pia', email: 'pia@example.org', password: 'pia answers quickly' };
const outsider = 'quinn@elsewhere.example';
const zone = 'Europe/Berlin';
let server, browser;

before(async () => {
  server = await startServer({
    configFile: false,
    prepare: async (env, dir) => {
      withAccount(organizer)(env, dir);
      withAccount(colleague)(env, dir);
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function signedIn(person) {
  const context = await browser.newContext({ timezoneId: zone, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await logIn(page, server.base, person);
  return { context, page };
}

/** The answer link in the invitation mailed to `to` (quoted-printable undone). */
function answerLink(to) {
  const dir = join(server.dataDir, 'outbox');
  const files = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.eml')).sort() : [];
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8').replace(/=\r?\n/g, '');
    if (!new RegExp(`^To: ${to}`, 'mi').test(text) || !/^Subject: Invitation/mi.test(text)) continue;
    const link = text.match(/https?:\/\/[^\s"<>]+\/invitations\/[A-Za-z0-9_-]{43}/);
    if (link) return link[0];
  }
  throw new Error(`no invitation to ${to} in ${files.join(', ')}`);
}

async function axeProblems(page) {
  const axe = readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
  await page.addScriptTag({ content: axe });
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => v.id);
}

test('a guest answers by link and a colleague answers in her calendar; the organizer sees both', async () => {
  const ola = await signedIn(organizer);
  await ola.page.goto(`${server.base}/calendar/new?date=2027-04-06`);
  await ola.page.getByLabel('Title').fill('Quarterly planning');
  await ola.page.getByLabel('Guests', { exact: true }).fill(`${colleague.email}, ${outsider}`);
  await Promise.all([ola.page.waitForNavigation(), ola.page.getByRole('button', { name: 'Save' }).click()]);

  // The guest without an account: the link from the mail, in a browser with no session.
  const stranger = await browser.newContext({ timezoneId: zone, bypassCSP: true });
  const link = await stranger.newPage();
  await link.goto(answerLink(outsider));
  assert.ok(await link.getByText('Will you come?').isVisible());
  assert.deepEqual(await axeProblems(link), []);
  await Promise.all([link.waitForNavigation(), link.getByRole('button', { name: 'Accept' }).click()]);
  assert.match(await link.locator('main').innerText(), /Thank you/);
  await link.screenshot({ path: join(shots, 'invitation-answered-by-link.png') });
  await stranger.close();

  // The colleague: the event is already in her calendar, waiting for her answer.
  const pia = await signedIn(colleague);
  await pia.page.goto(`${server.base}/calendar?view=agenda&date=2027-04-01`);
  await Promise.all([pia.page.waitForNavigation(), pia.page.locator('a', { hasText: 'Quarterly planning' }).first().click()]);
  const box = pia.page.getByRole('region', { name: /Invitation from/ });
  assert.match(await box.innerText(), /not answered yet/);
  await Promise.all([pia.page.waitForNavigation(), box.getByRole('button', { name: 'Maybe' }).click()]);
  assert.match(await pia.page.getByRole('region', { name: /Invitation from/ }).innerText(), /Your answer: maybe/);
  assert.match(await pia.page.getByRole('status').innerText(), /on its way to the organizer/);
  const check = await browser.newContext({ timezoneId: zone, bypassCSP: true });
  await check.addCookies(await pia.context.cookies());
  const piaPage = await check.newPage();
  await piaPage.goto(pia.page.url());
  assert.deepEqual(await axeProblems(piaPage), []);
  await pia.page.screenshot({ path: join(shots, 'invitation-answered-in-calendar.png'), fullPage: true });
  await check.close();
  await pia.context.close();

  // The organizer's event lists both answers.
  await ola.page.goto(`${server.base}/calendar?view=agenda&date=2027-04-01`);
  await Promise.all([ola.page.waitForNavigation(), ola.page.locator('a', { hasText: 'Quarterly planning' }).first().click()]);
  const guests = await ola.page.locator('.guests').innerText();
  assert.match(guests, new RegExp(`${outsider}\\s+— accepted`));
  assert.match(guests, /pia@example\.org\s+— maybe/);
  await ola.context.close();
});
