// The first hour of a default install, continued (issue "A default install
// that works", items 5 to 14): headless Chromium driven by Playwright
// against `almanac serve` on a random port with no configuration file at
// all. Each test does what a person would do in the browser (fill in the
// labelled fields, press the buttons, follow the links) and checks what
// that person would check: the page's words, where it landed, the mail in
// the outbox. The command line only sets up what nobody does in a
// browser: the accounts the tests start from, and a share link's expiry
// moved into the past.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { bin, shots, startServer, launchBrowser, outbox } from './support.mjs';

const viewport = { width: 1200, height: 900 };
const staff = { name: 'boss', email: 'boss@example.org', password: 'the staff password' };
// One account per test (added before the server starts), so the tests
// do not see each other's events and links.
const people = {
  olga: { name: 'olga', email: 'olga@example.org', password: "olga's long password" },
  lena: { name: 'lena', email: 'lena@example.org', password: "lena's long password" },
  tomo: { name: 'tomo', email: 'tomo@example.org', password: "tomo's long password" },
  sam: { name: 'sam', email: 'sam@example.org', password: "sam's long password" },
  gina: { name: 'gina', email: 'gina@example.org', password: "gina's long password" },
};
// These sign up on the site (the default install allows 10 log-ins a
// minute from one address: newcomers get in through the mailed link).
const newcomers = {
  dora: { name: 'dora', email: 'dora@example.org', password: "dora's long password" },
  ella: { name: 'ella', email: 'ella@example.org', password: "ella's long password" },
  finn: { name: 'finn', email: 'finn@example.org', password: "finn's long password" },
};

let server, browser, mail, staffCookies;

before(async () => {
  server = await startServer({
    configFile: false,
    prepare: (env) => {
      for (const who of [staff, ...Object.values(people)]) {
        execFileSync(bin, ['user', 'add', who.name, '--email', who.email, '--password-stdin',
          ...(who === staff ? ['--admin'] : [])], { env, input: who.password + '\n', stdio: ['pipe', 'pipe', 'pipe'] });
      }
    },
  });
  mail = outbox(server.dataDir);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

// Helpers

async function submit(page, button) {
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response;
}

async function logIn(page, who) {
  await page.getByLabel('User name').fill(who.name);
  await page.getByLabel('Password').fill(who.password);
  return submit(page, page.locator('main').getByRole('button', { name: 'Log in' }));
}

/** A browser of its own: a context in `timezoneId` (UTC unless told). */
async function newPage(options = {}) {
  const context = await browser.newContext({ viewport, timezoneId: 'UTC', ...options });
  context.setDefaultTimeout(15000);
  return { context, page: await context.newPage() };
}

/**
 * A page logged in as `who` through the log-in form, after a first page
 * (so zone.js has told the site the browser's zone).
 */
async function loggedIn(who, options = {}) {
  const { context, page } = await newPage(options);
  await page.goto(`${server.base}/login`);
  const response = await logIn(page, who);
  assert.equal(response.status(), 200, `${who.name} is logged in`);
  return { context, page };
}

/** A newcomer signs up and follows the mailed link, which logs them in. */
async function signedUp(who, options = {}) {
  const { context, page } = await newPage(options);
  await page.goto(`${server.base}/signup`);
  await page.getByLabel('User name').fill(who.name);
  await page.getByLabel('Email address').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('checkbox', { name: /terms/ }).check();
  await submit(page, page.getByRole('button', { name: 'Create account' }));
  const letter = await mail.next(who.email);
  const link = letter.body.match(/https?:\/\/\S+\/verify\/[A-Za-z0-9_-]{43}/);
  assert.ok(link, `the mail to ${who.email} has a validation link:\n${letter.body}`);
  await page.goto(link[0]);
  assert.ok(await page.getByRole('heading', { level: 1, name: 'Your address is confirmed' }).isVisible());
  return { context, page };
}

/**
 * Staff, logged in (through the log-in form the first time, then with the
 * same session cookie; the zone cookie is left behind so the context's
 * own zone applies).
 */
async function asStaff(options = {}) {
  const storageState = staffCookies ? { cookies: staffCookies, origins: [] } : undefined;
  const { context, page } = await newPage({ ...options, storageState });
  await page.goto(`${server.base}/admin/users`);
  if (new URL(page.url()).pathname === '/login') {
    await logIn(page, staff);
    staffCookies = (await context.storageState()).cookies.filter((c) => c.name !== 'almanac_tz');
  }
  await page.reload();
  assert.equal(new URL(page.url()).pathname, '/admin/users', 'staff reach the staff pages');
  return { context, page };
}

/** The value next to a term in a page's facts list (`<dl class="facts">`). */
async function fact(page, term) {
  const value = page.locator(`xpath=//dl[contains(@class, "facts")]/dt[normalize-space()="${term}"]/following-sibling::dd[1]`);
  assert.equal(await value.count(), 1, `the page shows "${term}"`);
  return (await value.innerText()).trim();
}

/** The words of the page's <main>, spaces squeezed. */
async function mainText(page) {
  return (await page.locator('main').innerText()).replace(/\s+/g, ' ');
}

/** "YYYY-MM-DD HH:MM" of a moment in a zone. */
function clock(at, timeZone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** Whether `shown` ("YYYY-MM-DD HH:MM ZONE") is within `minutes` of now in `timeZone`. */
function isAboutNow(shown, timeZone, minutes = 3) {
  const now = Date.now();
  for (let m = -minutes; m <= minutes; m++) {
    if (shown.startsWith(clock(new Date(now + m * 60000), timeZone))) return true;
  }
  return false;
}

function accessLog() {
  return readdirSync(server.dataDir).filter((n) => n.startsWith('access'))
    .map((n) => readFileSync(join(server.dataDir, n), 'utf8')).join('');
}

async function waitForLog(pattern, timeout = 5000) {
  const end = Date.now() + timeout;
  for (;;) {
    const lines = accessLog().split('\n').filter((l) => pattern.test(l));
    if (lines.length) return lines;
    if (Date.now() > end) throw new Error(`no access-log line like ${pattern} in:\n${accessLog().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Days ("Monday 9 March") of the month grid that show an entry titled `title`. */
function daysWith(page, title) {
  return page.locator('table.month td').evaluateAll((cells, wanted) => cells
    .filter((cell) => [...cell.querySelectorAll('.entry .title')].some((t) => t.textContent.trim() === wanted))
    .map((cell) => cell.querySelector('.day-number').getAttribute('title')), title);
}

function entryOn(page, day, title) {
  return page.locator('table.month td').filter({ has: page.locator(`.day-number[title="${day}"]`) })
    .getByRole('link', { name: title, exact: true });
}

/** Makes a share link on the share page; gives its web address (shown once). */
async function makeLink(page, { lets = 'See events', label = '', until = '' } = {}) {
  const form = page.getByRole('region', { name: 'New link' });
  await form.getByLabel('The link lets people').selectOption({ label: lets });
  await form.getByLabel('Label (for you)').fill(label);
  if (until) await form.getByLabel(/^Works until/).fill(until);
  const response = await submit(page, form.getByRole('button', { name: 'Make the link' }));
  assert.equal(response.status(), 200, `the link "${label}" is made`);
  const shown = page.getByRole('status').filter({ hasText: 'Your new link' });
  return shown.getByRole('link').getAttribute('href');
}

function linkRow(page, label) {
  return page.locator('table tbody tr').filter({ has: page.locator('td:first-child', { hasText: label }) });
}

function dayAfter(isoDay, days) {
  const d = new Date(`${isoDay}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

// The tests

test('5. an answer to a Contact-form request has a Reply-To to support and one greeting', async () => {
  const visitor = await newPage();
  const page = visitor.page;
  await page.goto(server.base);
  await page.getByRole('contentinfo').getByRole('link', { name: 'Contact' }).click();
  assert.equal(new URL(page.url()).pathname, '/contact');
  // The support address, as the site itself gives it (the footer).
  const supportAddress = (await page.getByRole('contentinfo').locator('a[href^="mailto:"]').innerText()).trim();
  assert.match(supportAddress, /@/);
  await page.getByLabel('Your name').fill('Ida Visitor');
  await page.getByLabel('Your email address').fill('ida@example.net');
  await page.getByLabel('Subject').fill('Question about prices');
  await page.getByLabel('Message').fill('Is the service really free for families?');
  const sent = await submit(page, page.getByRole('button', { name: 'Send' }));
  assert.equal(sent.status(), 200);
  const number = (await mainText(page)).match(/request number is #(\d+)/);
  assert.ok(number, `the page gives the request's number: ${await mainText(page)}`);
  const ack = await mail.next('ida@example.net');
  assert.match(ack.headers.subject, new RegExp(`\\[Support #${number[1]}\\]`));
  await visitor.context.close();

  const { context, page: desk } = await asStaff();
  await desk.getByRole('navigation', { name: 'Staff pages' }).getByRole('link', { name: 'Support requests' }).click();
  await desk.getByRole('link', { name: 'Question about prices' }).click();
  assert.equal(new URL(desk.url()).pathname, `/admin/support/${number[1]}`);
  assert.ok((await mainText(desk)).includes('Is the service really free for families?'), 'staff read the question');
  const answer = desk.getByLabel('Answer to ida@example.net');
  const prefilled = await answer.inputValue();
  assert.match(prefilled, /^Hello Ida Visitor,\s*$/, 'the answer starts with a greeting the staff member can change');
  // The staff member writes below the greeting, as anyone would.
  await answer.fill(`${prefilled.trimEnd()}\n\nYes: the service is free for everyone, families too.\n\nThe support team`);
  await desk.screenshot({ path: join(shots, 'first-hour-more-support-answer.png'), fullPage: true });
  const answered = await submit(desk, desk.getByRole('button', { name: 'Send the answer' }));
  assert.equal(answered.status(), 200);
  assert.ok((await mainText(desk)).includes('families too'), 'the answer is in the request');
  await context.close();

  const reply = await mail.next('ida@example.net');
  assert.match(reply.headers.subject ?? '', new RegExp(`\\[Support #${number[1]}\\]`), 'the answer is in the thread');
  assert.ok(reply.headers['reply-to'], `the answer has a Reply-To header (headers: ${JSON.stringify(reply.headers)})`);
  assert.ok(reply.headers['reply-to'].includes(supportAddress),
    `answering the answer reaches support (${supportAddress}), Reply-To: ${reply.headers['reply-to']}`);
  const body = reply.body.replace(/\r\n/g, '\n');
  assert.ok(body.includes('Yes: the service is free for everyone, families too.'), body);
  const greetings = body.match(/^\s*(hello|hi|dear|good (morning|afternoon|evening))\b.*$/gim) ?? [];
  assert.deepEqual(greetings, ['Hello Ida Visitor,'], `one greeting, the staff member's:\n${body}`);
  assert.ok(body.trimStart().startsWith('Hello Ida Visitor,'), `the mail starts with the greeting:\n${body}`);
});

test('6. planned maintenance typed on the operations page in the staff member\'s zone shows on the status page as a window', async () => {
  const { context, page } = await asStaff({ timezoneId: 'Europe/Berlin' });
  await page.getByRole('navigation', { name: 'Staff pages' }).getByRole('link', { name: 'Operations' }).click();
  assert.equal(new URL(page.url()).pathname, '/admin/operations');
  const form = page.getByRole('region', { name: 'Incidents and planned maintenance' });
  const starts = form.getByLabel(/^Starts/);
  assert.match(await form.locator('label').filter({ hasText: /^Starts/ }).innerText(), /your time, Europe\/Berlin/,
    'the form says the times are in the staff member\'s own zone');
  await form.getByLabel('Kind').selectOption({ label: 'Planned maintenance' });
  await form.getByLabel('Title').fill('Database upgrade');
  await starts.fill('2099-03-02T07:00');
  await form.getByLabel(/^Ends/).fill('2099-03-02T07:30');
  await form.getByLabel('First update').fill('Writes pause for half an hour.');
  const published = await submit(page, form.getByRole('button', { name: 'Publish' }));
  assert.equal(published.status(), 200);
  assert.ok((await mainText(page)).includes('2099-03-02 07:00 CET to 2099-03-02 07:30 CET'),
    `the operations page lists it with its window: ${await mainText(page)}`);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Status' }).click();
  const planned = page.getByRole('region', { name: 'Database upgrade' });
  assert.ok(await planned.isVisible(), 'the status page shows the planned maintenance');
  assert.match(await planned.innerText(), /2099-03-02 07:00 CET to 2099-03-02 07:30 CET/, 'as a window, in Berlin');
  assert.match(await planned.innerText(), /Writes pause for half an hour\./);
  await page.screenshot({ path: join(shots, 'first-hour-more-status-window.png'), fullPage: true });

  // An end before the start is refused with words, not saved.
  await page.goto(`${server.base}/admin/operations`);
  await form.getByLabel('Kind').selectOption({ label: 'Planned maintenance' });
  await form.getByLabel('Title').fill('Backwards window');
  await form.getByLabel(/^Starts/).fill('2099-03-05T10:00');
  await form.getByLabel(/^Ends/).fill('2099-03-05T09:00');
  await form.getByLabel('First update').fill('x');
  const refused = await submit(page, form.getByRole('button', { name: 'Publish' }));
  assert.equal(refused.status(), 422);
  assert.ok((await mainText(page)).includes('The end must come after the start.'));
  await context.close();

  // Someone else, reading in UTC, sees the same hour in theirs.
  const reader = await newPage({ timezoneId: 'UTC' });
  await reader.page.goto(`${server.base}/status`);
  assert.match(await reader.page.getByRole('region', { name: 'Database upgrade' }).innerText(),
    /2099-03-02 06:00 UTC to 2099-03-02 06:30 UTC/);
  assert.equal(await reader.page.getByRole('region', { name: 'Backwards window' }).count(), 0);
  await reader.context.close();
});

test('7. the FAQ and Help say the right things, and an event saved as Private is private', async () => {
  const { context, page } = await loggedIn(people.olga);
  await page.goto(server.base);
  await page.getByRole('contentinfo').getByRole('link', { name: 'FAQ' }).click();
  const faq = await mainText(page);
  const deleting = faq.slice(faq.indexOf('What happens if I delete my account?'), faq.indexOf('Why does my app say'));
  assert.ok(deleting.length > 40, `the FAQ has the question:\n${faq}`);
  assert.ok(!/write to/i.test(deleting) && !deleting.includes('@'), `no "write to support" for deleting: ${deleting}`);
  assert.match(deleting, /Delete my account/, deleting);
  assert.doesNotMatch(faq, /Use the https:\/\/ address/, 'the FAQ does not demand https next to an http address');
  // Following the FAQ's link leads to the page that deletes the account.
  await page.locator('main p', { hasText: 'Delete my account' }).getByRole('link', { name: 'account page' }).click();
  assert.equal(new URL(page.url()).pathname, '/account');
  assert.ok(await page.getByRole('button', { name: 'Delete my account and all its data' }).isVisible());

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Help' }).click();
  const help = await mainText(page);
  assert.ok(server.base.startsWith('http://'));
  assert.doesNotMatch(help, /must start with https/i, 'Help does not demand https next to this http server');
  assert.match(help, new RegExp(`Is the address right\\? It must be ${server.base.replace(/[.:/]/g, '\\$&')}`),
    'Help names the address to use');

  await page.goto(`${server.base}/calendar/new?date=2026-03-03`);
  const privately = page.getByRole('checkbox', { name: /^Private/ });
  assert.ok(await privately.isVisible(), 'the event form has a Private choice');
  await page.getByLabel('Title').fill('Job interview');
  await page.locator('input[name="start_time"]').fill('10:00');
  await page.locator('input[name="end_time"]').fill('11:00');
  await privately.check();
  await submit(page, page.getByRole('button', { name: 'Save' }));
  assert.equal(await page.getByRole('status').innerText(), 'Saved.');

  // The calendar's export, downloaded as a person does.
  await page.goto(`${server.base}/calendar`);
  await page.getByRole('link', { name: 'Manage calendars, import, share' }).click();
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export (.ics)' }).click()]);
  const ics = readFileSync(await download.path(), 'utf8').replace(/\r?\n[ \t]/g, '');
  const event = ics.split('BEGIN:VEVENT').find((e) => e.includes('SUMMARY:Job interview'));
  assert.ok(event, `the export has the event:\n${ics}`);
  assert.match(event, /^CLASS:PRIVATE\r?$/m, `the stored event is private:\n${event}`);

  // Through a share link it shows only as busy.
  await page.goto(`${server.base}/calendar/calendars/calendar/share`);
  const web = await makeLink(page, { label: 'Family' });
  const guest = await newPage();
  await guest.page.goto(`${web}?view=week&date=2026-03-03`);
  const seen = await mainText(guest.page);
  assert.ok(!seen.includes('Job interview') && seen.includes('Busy'), `a link's visitor sees "Busy": ${seen}`);
  await guest.context.close();
  await context.close();
});

test('8. logging in lands on the calendar', async () => {
  const { context, page } = await newPage();
  await page.goto(server.base);
  await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Log in' }).click();
  const response = await logIn(page, people.lena);
  assert.equal(response.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/calendar', `log-in leads to the calendar, not ${page.url()}`);
  assert.ok(await page.getByRole('link', { name: 'New event', exact: true }).isVisible(), 'the calendar, ready for a first event');
  assert.equal(await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Calendar' })
    .getAttribute('aria-current'), 'page');
  await context.close();
});

test('9. a second calendar does not change the calendar new events and tasks go to', async () => {
  // The server's own views (what the grid falls back to without JavaScript).
  const { context, page } = await signedUp(newcomers.dora, { javaScriptEnabled: false });
  await page.goto(`${server.base}/calendar`);
  await page.getByRole('link', { name: 'Manage calendars, import, share' }).click();
  const create = page.getByRole('region', { name: 'New calendar' });
  await create.getByLabel('Name').fill('Anniversaries');
  await submit(page, create.getByRole('button', { name: 'Create' }));
  const names = await page.locator('main article h2').allInnerTexts();
  assert.deepEqual(names.map((n) => n.trim()).sort(), ['Anniversaries', 'Calendar'], 'two calendars now');

  await page.goto(`${server.base}/calendar?view=week&date=2026-03-02`);
  await page.getByRole('link', { name: 'New event', exact: true }).click();
  const calendar = page.locator('select[name="calendar"]');
  assert.ok(await calendar.isVisible(), 'the form asks which calendar');
  assert.equal((await calendar.locator('option:checked').innerText()).trim(), 'Calendar',
    'and still preselects the original one');
  await page.getByLabel('Title').fill('Dentist');
  await page.locator('input[name="start_time"]').fill('08:00');
  await page.locator('input[name="end_time"]').fill('09:00');
  await submit(page, page.getByRole('button', { name: 'Save' }));
  const href = await page.getByRole('link', { name: 'Dentist', exact: true }).getAttribute('href');
  assert.match(href, /^\/calendar\/events\/calendar\//, `the event went into "Calendar": ${href}`);

  await page.getByRole('link', { name: 'Tasks', exact: true }).click();
  const list = page.locator('select[name="calendar"]');
  assert.equal((await list.locator('option:checked').innerText()).trim(), 'Calendar', 'new tasks too');
  await context.close();
});

test('10. deleting and revoking ask first, then say what happened', async () => {
  // The forms and the server's views (the grid's own delete and undo are in grid.test.mjs).
  const { context, page } = await signedUp(newcomers.ella, { timezoneId: 'Europe/Berlin', javaScriptEnabled: false });
  await page.goto(`${server.base}/calendar/new?date=2026-03-02`);
  await page.getByLabel('Title').fill('Team sync');
  await page.getByLabel('Starts on').fill('2026-03-02');
  await page.locator('input[name="start_time"]').fill('09:30');
  await page.getByLabel('Ends on').fill('2026-03-02');
  await page.locator('input[name="end_time"]').fill('10:00');
  await page.locator('select[name="repeat"]').selectOption('weekly');
  await page.getByRole('checkbox', { name: 'Mon', exact: true }).check();
  await page.getByRole('checkbox', { name: 'Wed', exact: true }).check();
  await page.locator('select[name="ends"]').selectOption('count');
  await page.locator('input[name="count"]').fill('4');
  await submit(page, page.getByRole('button', { name: 'Save' }));
  assert.equal(await page.getByRole('status').innerText(), 'Saved.', 'saving says so');

  const month = `${server.base}/calendar?view=month&date=2026-03-01`;
  await page.goto(month);
  assert.deepEqual(await daysWith(page, 'Team sync'),
    ['Monday 2 March', 'Wednesday 4 March', 'Monday 9 March', 'Wednesday 11 March']);

  // One occurrence.
  await entryOn(page, 'Monday 9 March', 'Team sync').click();
  await page.getByRole('radio', { name: 'only this occurrence' }).check();
  const yes = page.getByRole('button', { name: 'Yes, delete' });
  assert.equal(await yes.isVisible(), false, 'nothing is deleted with one click: the button is behind a confirm step');
  await page.locator('details.confirm summary', { hasText: 'Delete…' }).click();
  assert.ok(await yes.isVisible(), 'the confirm step opens');
  assert.match(await page.locator('details.confirm').innerText(), /this occurrence only, this and the following ones, or the whole series/);
  await page.screenshot({ path: join(shots, 'first-hour-more-delete-confirm.png'), fullPage: true });
  await submit(page, yes);
  assert.equal(await page.getByRole('status').innerText(), 'Deleted.', 'deleting says so');
  await page.goto(month);
  assert.deepEqual(await daysWith(page, 'Team sync'), ['Monday 2 March', 'Wednesday 4 March', 'Wednesday 11 March']);

  // A change to the whole series.
  await entryOn(page, 'Monday 2 March', 'Team sync').click();
  await page.getByRole('radio', { name: 'the whole series' }).check();
  await page.getByLabel('Place').fill('Room 7');
  await submit(page, page.getByRole('button', { name: 'Save' }));
  assert.equal(await page.getByRole('status').innerText(), 'Saved.');

  // The whole series.
  await page.goto(month);
  await entryOn(page, 'Wednesday 11 March', 'Team sync').click();
  await page.getByRole('radio', { name: 'the whole series' }).check();
  assert.equal(await yes.isVisible(), false);
  await page.locator('details.confirm summary', { hasText: 'Delete…' }).click();
  await submit(page, yes);
  assert.equal(await page.getByRole('status').innerText(), 'Deleted.');
  await page.goto(month);
  assert.deepEqual(await daysWith(page, 'Team sync'), [], 'the series is gone');

  // Share links: revoke one, give another a new address.
  await page.goto(`${server.base}/calendar/calendars/calendar/share`);
  const flatmate = await makeLink(page, { label: 'Old flatmate' });
  const sitter = await makeLink(page, { label: 'Babysitter' });
  const revokeButton = linkRow(page, 'Old flatmate').getByRole('button', { name: 'Yes, revoke' });
  assert.equal(await revokeButton.isVisible(), false, 'revoking takes a confirm step');
  await linkRow(page, 'Old flatmate').locator('summary', { hasText: 'Revoke…' }).click();
  assert.ok(await revokeButton.isVisible());
  await submit(page, revokeButton);
  assert.match(await page.getByRole('status').innerText(), /The link is revoked/, 'revoking says so');
  assert.equal(await linkRow(page, 'Old flatmate').count(), 0);

  const renewButton = linkRow(page, 'Babysitter').getByRole('button', { name: 'Yes, make a new address' });
  assert.equal(await renewButton.isVisible(), false, 'a new address takes a confirm step');
  await linkRow(page, 'Babysitter').locator('summary', { hasText: 'New address…' }).click();
  await submit(page, renewButton);
  const banner = page.getByRole('status').filter({ hasText: 'Your new link' });
  assert.ok(await banner.isVisible(), 'the new address is shown');
  const renewed = await banner.getByRole('link').getAttribute('href');
  assert.notEqual(renewed, sitter);

  const guest = await newPage();
  for (const [address, status] of [[flatmate, 404], [sitter, 404], [renewed, 200]]) {
    const response = await guest.page.goto(address);
    assert.equal(response.status(), status, address);
    if (status === 404) {
      assert.ok(await guest.page.getByRole('heading', { level: 1, name: 'This link does not work' }).isVisible());
    }
  }
  assert.ok((await mainText(guest.page)).includes('ella shares this calendar with you by link.'), 'the new address works');
  await guest.context.close();
  await context.close();
});

test('11. share links: no duplicate on reload, expired links marked, whose calendar, trailing slash, tokens kept out of the log', async () => {
  const finn = newcomers.finn;
  const { context, page } = await signedUp(finn);
  await page.goto(`${server.base}/calendar/calendars`);
  await page.getByRole('link', { name: 'Share links' }).click();
  const until = page.getByRole('region', { name: 'New link' }).getByLabel(/^Works until/);
  assert.equal(await until.getAttribute('type'), 'date', 'the expiry is a date field');

  const [response] = await Promise.all([page.waitForNavigation(), (async () => {
    const form = page.getByRole('region', { name: 'New link' });
    await form.getByLabel('Label (for you)').fill('Once');
    await form.getByRole('button', { name: 'Make the link' }).click();
  })()]);
  assert.equal(response.request().method(), 'GET', 'the form answers with a redirect to the share page');
  assert.equal(response.request().redirectedFrom()?.method(), 'POST');
  const web = await page.getByRole('status').filter({ hasText: 'Your new link' }).getByRole('link').getAttribute('href');
  const token = web.match(/\/s\/([A-Za-z0-9_-]{43})$/)?.[1];
  assert.ok(token, web);
  await page.reload();
  assert.equal(await linkRow(page, 'Once').count(), 1, 'reloading makes no second link');
  assert.equal(await page.locator('table tbody tr').count(), 1);
  assert.ok(!(await page.content()).includes(token), 'and shows the address no more');

  // An expired link.
  const today = new Date().toISOString().slice(0, 10);
  const holiday = await makeLink(page, { label: 'Holiday trip', until: dayAfter(today, 2) });
  execFileSync('python3', ['-c', [
    'import sqlite3, sys, time',
    'db = sqlite3.connect(sys.argv[1], timeout=10)',
    'n = db.execute("UPDATE share_links SET expires_at = ? WHERE label = ?", (int(time.time()) - 60, sys.argv[2])).rowcount',
    'db.commit()',
    'assert n == 1, n',
  ].join('\n'), join(server.dataDir, 'almanac.db'), 'Holiday trip']);
  await page.reload();
  const expired = linkRow(page, 'Holiday trip');
  assert.equal(await expired.count(), 1);
  assert.match(await expired.locator('td').nth(3).innerText(), /^Expired\b/, 'the table says it has expired');
  assert.equal(await expired.locator('summary', { hasText: 'New address…' }).count(), 0, 'and offers no new address');
  assert.equal(await expired.locator('summary', { hasText: 'Revoke…' }).count(), 1, 'it can still be removed');
  assert.equal(await linkRow(page, 'Once').locator('summary', { hasText: 'New address…' }).count(), 1);
  await page.screenshot({ path: join(shots, 'first-hour-more-share-expired.png'), fullPage: true });

  // The visitor's page, at either spelling.
  const guest = await newPage();
  let shown = await guest.page.goto(web);
  assert.equal(shown.status(), 200);
  assert.ok((await mainText(guest.page)).includes(`${finn.name} shares this calendar with you by link.`),
    'the visitor sees whose calendar it is');
  shown = await guest.page.goto(`${web}/`);
  assert.equal(shown.status(), 200, 'the address with a trailing slash works');
  assert.ok((await mainText(guest.page)).includes(`${finn.name} shares this calendar with you by link.`));
  const gone = await guest.page.goto(holiday);
  assert.equal(gone.status(), 404, 'the expired link no longer opens');

  // Odd paths with a live token, in a browser with nothing cached (so the
  // pages' styles and scripts are fetched with the odd address as their
  // Referer): nothing of the token in the access log.
  const typo = await newPage();
  for (const odd of [`//s/${token}`, `//dav/s/${token}/`, `/dav//s/${token}/`]) {
    // (a browser may ask for a password on the last one, or refuse to show it: the request was made all the same)
    await typo.page.goto(server.base + odd).catch(() => null);
  }
  await typo.context.close();
  await waitForLog(/"GET \/dav\/\/s\//);
  await new Promise((r) => setTimeout(r, 300));
  const log = accessLog();
  for (const odd of ['"GET //s/', '"GET //dav/s/', '"GET /dav//s/']) {
    assert.ok(log.includes(odd), `the request to ${odd} is logged`);
  }
  const leaks = log.split('\n').filter((line) => line.includes(token));
  assert.deepEqual(leaks, [], 'the token is nowhere in the access log');
  assert.ok(!readFileSync(join(server.dataDir, 'server.log'), 'utf8').includes(token), 'nor in the server\'s own log');
  await guest.context.close();
  await context.close();
});

test('12. times are shown in the reader\'s zone (Tokyo)', async () => {
  const tokyo = { timezoneId: 'Asia/Tokyo' };
  const jst = /^\d{4}-\d\d-\d\d \d\d:\d\d JST$/;

  // The share table.
  const { context, page } = await loggedIn(people.tomo, tokyo);
  await page.goto(`${server.base}/calendar/calendars/calendar/share`);
  const todayInTokyo = clock(new Date(), 'Asia/Tokyo').slice(0, 10);
  const web = await makeLink(page, { label: 'Cousins', until: dayAfter(todayInTokyo, 3) });
  const guest = await newPage();
  await guest.page.goto(web);
  await guest.context.close();
  await page.reload();
  const cells = (await linkRow(page, 'Cousins').locator('td').allInnerTexts()).map((t) => t.trim());
  const [, , made, expires, lastUsed] = cells;
  assert.match(made, jst, `"Made" is in Tokyo time: ${cells}`);
  assert.ok(isAboutNow(made, 'Asia/Tokyo'), `and is now in Tokyo: ${made}`);
  assert.equal(expires, `${dayAfter(todayInTokyo, 4)} 00:00 JST`, 'the link works through the chosen day, in Tokyo');
  assert.match(lastUsed, jst);
  assert.ok(isAboutNow(lastUsed, 'Asia/Tokyo'), lastUsed);
  await page.screenshot({ path: join(shots, 'first-hour-more-share-tokyo.png'), fullPage: true });

  // The staff pages.
  const desk = await asStaff(tokyo);
  await desk.page.getByRole('searchbox', { name: 'Find by name or address' }).fill('tomo');
  await submit(desk.page, desk.page.getByRole('button', { name: 'Search' }));
  await desk.page.getByRole('link', { name: 'tomo', exact: true }).click();
  assert.equal(new URL(desk.page.url()).pathname, '/admin/users/tomo');
  const since = await fact(desk.page, 'Since');
  assert.match(since, jst, `"Since" is in Tokyo time: ${since}`);
  assert.ok(isAboutNow(since, 'Asia/Tokyo', 5), since);

  // Planned maintenance typed in Tokyo, read in Tokyo and in UTC.
  await desk.page.goto(`${server.base}/admin/operations`);
  const form = desk.page.getByRole('region', { name: 'Incidents and planned maintenance' });
  await form.getByLabel('Kind').selectOption({ label: 'Planned maintenance' });
  await form.getByLabel('Title').fill('Disk swap');
  await form.getByLabel(/^Starts/).fill('2099-03-02T07:00');
  await form.getByLabel(/^Ends/).fill('2099-03-02T07:30');
  await form.getByLabel('First update').fill('Ten minutes.');
  await submit(desk.page, form.getByRole('button', { name: 'Publish' }));
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Status' }).click();
  const swap = page.getByRole('region', { name: 'Disk swap' });
  assert.match(await swap.innerText(), /2099-03-02 07:00 JST to 2099-03-02 07:30 JST/, 'the status page, in Tokyo');
  assert.match((await swap.locator('time').first().innerText()).trim(), jst, 'the update\'s time too');
  await page.screenshot({ path: join(shots, 'first-hour-more-status-tokyo.png'), fullPage: true });
  const elsewhere = await newPage({ timezoneId: 'UTC' });
  await elsewhere.page.goto(`${server.base}/status`);
  assert.match(await elsewhere.page.getByRole('region', { name: 'Disk swap' }).innerText(),
    /2099-03-01 22:00 UTC to 2099-03-01 22:30 UTC/, 'the same window, in UTC');
  await elsewhere.context.close();

  // The maintenance banner's "Expected back by".
  try {
    await desk.page.goto(`${server.base}/admin/operations`);
    const switchOn = desk.page.getByRole('region', { name: 'Maintenance mode' });
    await switchOn.getByLabel('Message for people').fill('Moving house.');
    // Typed in the staff member's own time, as incidents are.
    await switchOn.getByLabel(/^Expected end \(your time, Asia\/Tokyo/).fill('2099-01-01T09:00');
    await submit(desk.page, switchOn.getByRole('button', { name: 'Switch maintenance mode on' }));
    for (const reader of [desk.page, page]) {
      await reader.goto(`${server.base}/calendar`);
      const banner = reader.locator('.maintenance-banner');
      assert.ok(await banner.isVisible(), 'maintenance is on');
      assert.match(await banner.innerText(), /Expected back by 2099-01-01 09:00 JST\./, await banner.innerText());
    }
    const utc = await newPage({ timezoneId: 'UTC' });
    await utc.page.goto(`${server.base}/`);
    assert.match(await utc.page.locator('.maintenance-banner').innerText(), /Expected back by 2099-01-01 00:00 UTC\./);
    await utc.context.close();
    await page.screenshot({ path: join(shots, 'first-hour-more-maintenance-tokyo.png') });
    await desk.page.goto(`${server.base}/admin/operations`);
    await submit(desk.page, desk.page.getByRole('button', { name: 'Switch maintenance mode off' }));
    assert.equal(await desk.page.locator('.maintenance-banner').count(), 0);
  } finally {
    execFileSync(bin, ['maintenance', 'off'], { env: server.env });
  }
  await desk.context.close();
  await context.close();
});

test('13. a fresh status page, staff and their own account, and the page for one user', async () => {
  // The status page of a server with no probe.
  const visitor = await newPage();
  await visitor.page.goto(`${server.base}/status`);
  const said = await visitor.page.locator('main .banner').first().innerText();
  assert.match(said, /not checked yet/, `visitors are told nothing is checked yet: ${said}`);
  assert.doesNotMatch(said, /have problems/);
  assert.doesNotMatch(said, /interval_seconds|probe/i, 'visitors get no operator instructions');

  // A newcomer who signs up and does not confirm yet.
  await visitor.page.goto(`${server.base}/signup`);
  await visitor.page.getByLabel('User name').fill('carl');
  await visitor.page.getByLabel('Email address').fill('carl@example.net');
  await visitor.page.getByLabel('Password').fill("carl's long password");
  await visitor.page.getByRole('checkbox', { name: /terms/ }).check();
  await submit(visitor.page, visitor.page.getByRole('button', { name: 'Create account' }));
  const first = await mail.next('carl@example.net');
  const firstLink = first.body.match(/https?:\/\/\S+\/verify\/[A-Za-z0-9_-]{43}/)?.[0];
  assert.ok(firstLink, first.body);

  const { context, page } = await asStaff();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Status' }).click();
  const toStaff = await page.locator('main .banner').first().innerText();
  assert.match(toStaff, /turn on the probe/, `staff are told how to turn on the probe: ${toStaff}`);
  assert.match(toStaff, /interval_seconds/);

  // Their own account: no lock, no delete.
  await page.goto(`${server.base}/admin/users`);
  await page.locator('main').getByRole('link', { name: staff.name, exact: true }).click();
  assert.equal(new URL(page.url()).pathname, `/admin/users/${staff.name}`);
  const own = page.getByRole('region', { name: staff.name });
  assert.ok(await own.isVisible());
  assert.equal(await own.getByRole('button', { name: /lock|delete/i }).count(), 0, 'no lock or delete button for oneself');
  assert.equal(await own.locator('summary', { hasText: /delete/i }).count(), 0);
  assert.match(await mainText(page), /You \(change your own account on your account page\)/);
  await own.getByRole('link', { name: 'your account page' }).click();
  assert.equal(new URL(page.url()).pathname, '/account');

  // Sam's page before and after he uses the web and an app.
  await page.goto(`${server.base}/admin/users/${people.sam.name}`);
  assert.equal(await page.getByRole('button', { name: 'Lock' }).count(), 1, 'someone else\'s page has the buttons');
  assert.equal(await page.locator('main summary', { hasText: 'Delete…' }).count(), 1);
  assert.equal(await fact(page, 'Last log-in on the web'), 'never');
  assert.equal(await fact(page, 'Last sync from a calendar app'), 'never');
  const emptyStorage = await fact(page, 'Storage used');
  const sam = await loggedIn(people.sam);
  await sam.context.close();
  const event = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//first hour//EN', 'BEGIN:VEVENT', 'UID:big@sam',
    'DTSTAMP:20260301T000000Z', 'DTSTART:20260302T090000Z', `SUMMARY:${'x'.repeat(3000)}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
  const put = await fetch(`${server.base}/dav/calendars/sam/calendar/big.ics`, {
    method: 'PUT', body: event, headers: {
      'Content-Type': 'text/calendar',
      Authorization: `Basic ${Buffer.from(`${people.sam.name}:${people.sam.password}`).toString('base64')}`,
    },
  });
  assert.equal(put.status, 201, 'the app saves an event');
  await page.reload();
  const storage = await fact(page, 'Storage used');
  assert.match(storage, /\d/, storage);
  assert.notEqual(storage, emptyStorage, `storage used grows with the event (${emptyStorage} → ${storage})`);
  assert.match(storage, /kB/, storage);
  const lastWeb = await fact(page, 'Last log-in on the web');
  // Syncs are written down in batches, about every second.
  let lastSync = await fact(page, 'Last sync from a calendar app');
  for (let i = 0; i < 50 && lastSync === 'never'; i++) {
    await new Promise((r) => setTimeout(r, 200));
    await page.reload();
    lastSync = await fact(page, 'Last sync from a calendar app');
  }
  assert.match(lastWeb, /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/, lastWeb);
  assert.ok(isAboutNow(lastWeb, 'UTC'), lastWeb);
  assert.match(lastSync, /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/, lastSync);
  assert.ok(isAboutNow(lastSync, 'UTC'), lastSync);
  await page.screenshot({ path: join(shots, 'first-hour-more-admin-user.png'), fullPage: true });

  // Carl's page offers to send his link again.
  await page.goto(`${server.base}/admin/users`);
  await page.getByRole('searchbox', { name: 'Find by name or address' }).fill('carl');
  await submit(page, page.getByRole('button', { name: 'Search' }));
  await page.getByRole('link', { name: 'carl', exact: true }).click();
  assert.equal(new URL(page.url()).pathname, '/admin/users/carl');
  assert.equal(await fact(page, 'State'), 'unconfirmed');
  const resent = await submit(page, page.getByRole('button', { name: 'Resend link' }));
  assert.equal(resent.status(), 200, 'resending ends on a page, not an error');
  const second = await mail.next('carl@example.net');
  const secondLink = second.body.match(/https?:\/\/\S+\/verify\/[A-Za-z0-9_-]{43}/)?.[0];
  assert.ok(secondLink && secondLink !== firstLink, 'a new link');
  const confirmed = await visitor.page.goto(secondLink);
  assert.equal(confirmed.status(), 200);
  assert.ok(await visitor.page.getByRole('heading', { level: 1, name: 'Your address is confirmed' }).isVisible());
  await page.reload();
  assert.equal(await page.getByRole('button', { name: 'Resend link' }).count(), 0, 'nothing to resend once confirmed');
  await visitor.context.close();
  await context.close();
});

test('14. a deleted account\'s name cannot be signed up again at once', async () => {
  const gina = people.gina;
  const { context, page } = await loggedIn(gina);
  await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: gina.name }).click();
  const deleting = page.getByRole('region', { name: 'Delete your account' });
  await deleting.getByLabel('Type your user name to confirm').fill(gina.name);
  await deleting.getByLabel('Your password').fill(gina.password);
  const gone = await submit(page, deleting.getByRole('button', { name: 'Delete my account and all its data' }));
  assert.equal(gone.status(), 200, 'the account is deleted');
  assert.ok(await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Log in' }).isVisible(),
    'and its session with it');

  await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Sign up free' }).click();
  await page.getByLabel('User name').fill(gina.name);
  await page.getByLabel('Email address').fill('stranger@example.net');
  await page.getByLabel('Password').fill("a stranger's password");
  await page.getByRole('checkbox', { name: /terms/ }).check();
  const refused = await submit(page, page.getByRole('button', { name: 'Create account' }));
  assert.equal(refused.status(), 422, 'the name is refused');
  const alert = await page.getByRole('alert').innerText();
  assert.match(alert, /This user name is taken/, alert);
  await page.screenshot({ path: join(shots, 'first-hour-more-name-taken.png'), fullPage: true });
  await assert.rejects(mail.next('stranger@example.net', { timeout: 800 }), 'and no mail goes out for it');
  await context.close();
});
