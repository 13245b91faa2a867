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
  await ola.page.locator('textarea[name=guests]').fill(`${colleague.email}, ${outsider}`);
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

/** The titles and times `person`'s agenda shows from `date` on. */
async function agenda(page, date) {
  await page.goto(`${server.base}/calendar?view=agenda&date=${date}`);
  return page.locator('main').innerText();
}

async function saveForm(page) {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Save' }).click()]);
}

test('changes reach a colleague: a new time, one occurrence moved, taken off, the event deleted', async () => {
  const ola = await signedIn(organizer);
  const pia = await signedIn(colleague);
  // A weekly series with Pia as a guest.
  await ola.page.goto(`${server.base}/calendar/new?date=2027-05-03`);
  await ola.page.getByLabel('Title').fill('Weekly sync');
  await ola.page.getByLabel('Repeats').selectOption('weekly');
  await ola.page.locator('select[name=ends]').selectOption('count');
  await ola.page.getByLabel('Times', { exact: true }).fill('3');
  await ola.page.locator('textarea[name=guests]').fill(colleague.email);
  await saveForm(ola.page);
  assert.match(await agenda(pia.page, '2027-05-01'), /09:00–10:00\s+Weekly sync/);

  // A new time for the whole series.
  await ola.page.goto(`${server.base}/calendar?view=agenda&date=2027-05-01`);
  await Promise.all([ola.page.waitForNavigation(), ola.page.locator('a', { hasText: 'Weekly sync' }).first().click()]);
  await ola.page.getByLabel('the whole series').check();
  await ola.page.getByLabel('at', { exact: true }).first().fill('11:00');
  await ola.page.getByLabel('at', { exact: true }).nth(1).fill('12:00');
  await saveForm(ola.page);
  const moved = await agenda(pia.page, '2027-05-01');
  assert.match(moved, /11:00–12:00\s+Weekly sync/);
  assert.doesNotMatch(moved, /09:00–10:00\s+Weekly sync/);

  // Only the second meeting moves, and gets a title of its own.
  await ola.page.goto(`${server.base}/calendar?view=agenda&date=2027-05-08`);
  await Promise.all([ola.page.waitForNavigation(), ola.page.locator('a', { hasText: 'Weekly sync' }).first().click()]);
  await ola.page.getByLabel('only this occurrence').check();
  await ola.page.getByLabel('Title').fill('Weekly sync (short)');
  await ola.page.getByLabel('at', { exact: true }).nth(1).fill('11:30');
  await saveForm(ola.page);
  const second = await agenda(pia.page, '2027-05-08');
  assert.match(second, /11:00–11:30\s+Weekly sync \(short\)/);
  assert.match(second, /11:00–12:00\s+Weekly sync\b(?! \()/, 'the other meetings stay');

  // Pia is taken off: her calendar says it is cancelled.
  await ola.page.goto(`${server.base}/calendar?view=agenda&date=2027-05-01`);
  await Promise.all([ola.page.waitForNavigation(), ola.page.locator('a', { hasText: 'Weekly sync' }).first().click()]);
  await ola.page.getByLabel('the whole series').check();
  await ola.page.locator('textarea[name=guests]').fill('');
  await saveForm(ola.page);
  assert.match(await agenda(pia.page, '2027-05-01'), /Cancelled: Weekly sync/);
  await pia.page.screenshot({ path: join(shots, 'invitation-cancelled.png') });

  // An event deleted by its organizer is cancelled for its guest too.
  await ola.page.goto(`${server.base}/calendar/new?date=2027-06-07`);
  await ola.page.getByLabel('Title').fill('One-off review');
  await ola.page.locator('textarea[name=guests]').fill(colleague.email);
  await saveForm(ola.page);
  assert.match(await agenda(pia.page, '2027-06-01'), /One-off review/);
  await ola.page.goto(`${server.base}/calendar?view=agenda&date=2027-06-01`);
  await Promise.all([ola.page.waitForNavigation(), ola.page.locator('a', { hasText: 'One-off review' }).first().click()]);
  await ola.page.getByText('Delete…').click();
  await Promise.all([ola.page.waitForNavigation(), ola.page.getByRole('button', { name: 'Yes, delete' }).click()]);
  assert.match(await agenda(pia.page, '2027-06-01'), /Cancelled: One-off review/);
  await ola.context.close();
  await pia.context.close();
});

test('free-busy: the organizer sees which colleague is busy at the time, never what they do', async () => {
  const ola = await signedIn(organizer);
  const pia = await signedIn(colleague);
  await pia.page.goto(`${server.base}/calendar/new?date=2027-07-05&start=10:00&end=11:00`);
  await pia.page.getByLabel('Title').fill('Dentist (private matter)');
  await saveForm(pia.page);

  const invite = async (title, start, end) => {
    await ola.page.goto(`${server.base}/calendar/new?date=2027-07-05&start=${start}&end=${end}`);
    await ola.page.getByLabel('Title').fill(title);
    await ola.page.locator('textarea[name=guests]').fill(colleague.email);
    await saveForm(ola.page);
    await ola.page.goto(`${server.base}/calendar?view=agenda&date=2027-07-05`);
    await Promise.all([ola.page.waitForNavigation(), ola.page.locator('a', { hasText: title }).first().click()]);
    return ola.page.locator('.guests').innerText();
  };
  const clash = await invite('Design review', '10:30', '11:30');
  assert.match(clash, /Busy at this time: pia@example\.org/);
  assert.doesNotMatch(await ola.page.locator('main').innerText(), /Dentist/, 'only that she is busy');
  await ola.page.screenshot({ path: join(shots, 'invitation-guest-busy.png'), fullPage: true });
  const free = await invite('Afternoon review', '14:00', '15:00');
  assert.doesNotMatch(free, /Busy at this time/);
  await ola.context.close();
  await pia.context.close();
});
