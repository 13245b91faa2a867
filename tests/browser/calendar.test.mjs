// The web calendar as a person uses it, in headless Chromium (Debian's)
// driven by Playwright: a weekly event made from the week view, one of its
// occurrences moved, the month, week and agenda views; tasks; calendars
// (create, rename, import, export); a read-only share link opened by a
// visitor without an account, then revoked; the same views and the event
// form with JavaScript turned off. Screenshots go to artifacts/screenshots/
// and every page's HTML (as the server sent it) must pass the W3C Nu HTML
// checker.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, shots, startServer, launchBrowser, nuErrors } from './support.mjs';

const viewport = { width: 1200, height: 900 };
const zone = 'Europe/Berlin';
const carol = { name: 'carol', email: 'c@example.org', password: 'correct horse battery' };
/** Pages whose HTML the Nu checker must see (also the screenshots' names). */
const expectedPages = [
  'calendar-month', 'calendar-week', 'calendar-agenda', 'event-form-new', 'event-form-occurrence',
  'calendar-tasks', 'calendar-calendars', 'share-links-created', 'share-visitor-month', 'share-revoked-404',
  'nojs-calendar-month', 'nojs-calendar-week', 'nojs-calendar-agenda', 'nojs-event-form-new',
];

let server, browser, htmlDir;
/** The owner's browser, logged in, kept from test to test. */
let owner, ownerPage;
const kept = new Map();

before(async () => {
  server = await startServer({
    config: (base) => `[site]
base_url = "${base}"
[rate_limits]
login_per_minute = 1000
signup_per_hour = 1000
reset_per_hour = 1000
contact_per_hour = 1000
`,
    prepare: (env) => {
      execFileSync(bin, ['user', 'add', carol.name, '--email', carol.email, '--password-stdin'],
        { env, input: carol.password + '\n', stdio: ['pipe', 'pipe', 'pipe'] });
    },
  });
  htmlDir = join(server.dataDir, 'html');
  mkdirSync(htmlDir, { recursive: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** Keeps the HTML the server sent, for the Nu checker. */
async function keepHtml(name, response) {
  const file = join(htmlDir, `${name}.html`);
  writeFileSync(file, await response.text());
  kept.set(name, file);
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function keep(page, name, response) {
  await keepHtml(name, response);
  await shot(page, name);
}

/** Clicks and waits for the page it leads to: the last response (after redirects). */
async function submit(page, target) {
  const [response] = await Promise.all([page.waitForNavigation(), target.click()]);
  return response;
}

function url(page) {
  const u = new URL(page.url());
  return { path: u.pathname, query: Object.fromEntries(u.searchParams) };
}

function heading(page) {
  return page.getByRole('heading', { level: 1 });
}

/** Logs in, landing on the account page so that each test opens the calendar itself. */
async function login(page) {
  await page.goto(`${server.base}/login?next=/account`);
  await page.getByLabel('User name').fill(carol.name);
  await page.getByLabel('Password').fill(carol.password);
  const response = await submit(page, page.locator('main').getByRole('button', { name: 'Log in' }));
  assert.equal(response.status(), 200, 'logging in');
  assert.equal(url(page).path, '/account', 'logging in leads where next= says');
}

/**
 * The first calendar page a context opens: the browser's zone ends up in the
 * almanac_tz cookie (zone.js on an earlier page, or /static/calendar/calendar.js,
 * which then reloads the page once).
 */
async function firstCalendarVisit(context, page, address) {
  const known = (await context.cookies()).some((c) => c.name === 'almanac_tz');
  const loads = [];
  const listener = (response) => {
    if (response.request().isNavigationRequest() && response.frame() === page.mainFrame()) loads.push(response);
  };
  page.on('response', listener);
  await page.goto(address);
  for (let i = 0; i < 100 && loads.length < (known ? 1 : 2); i++) await page.waitForTimeout(50);
  await page.waitForLoadState('load');
  await page.waitForTimeout(300);
  page.off('response', listener);
  const cookie = (await context.cookies()).find((c) => c.name === 'almanac_tz');
  assert.ok(cookie, 'the site\'s scripts set the almanac_tz cookie');
  assert.equal(decodeURIComponent(cookie.value), zone, 'the cookie holds the browser\'s zone');
  // zone.js on any earlier page already told the site; otherwise calendar.js
  // reloads the first calendar page once to show it in the reader's zone.
  assert.equal(loads.length, known ? 1 : 2, known ? 'no reload: the zone was known' : 'calendar.js reloads the page once (and only once)');
}

/** A day of the week or agenda view, by its label ("Monday 1 March"). */
function daySection(page, label) {
  return page.locator('section.day').filter({ has: page.getByRole('heading', { level: 2, name: new RegExp(`^${label}\\b`) }) });
}

/** A cell of the month view, by its day's label ("Monday 1 March"). */
function monthCell(page, label) {
  return page.locator('table.month td').filter({ has: page.locator(`span.day-number[title="${label}"]`) });
}

/** The entries (li) in a day, and their titles as text. */
async function titlesIn(day) {
  return day.locator('.entry .title').allInnerTexts();
}

function entry(day, title) {
  return day.locator('li').filter({ has: day.page().locator('.title', { hasText: new RegExp(`^${title}$`) }) });
}

test('a weekly event from the week view, one occurrence moved, in the month, week and agenda views', async () => {
  const firstVisit = await browser.newContext({ viewport, timezoneId: zone });
  const firstPage = await firstVisit.newPage();
  await login(firstPage);
  await firstCalendarVisit(firstVisit, firstPage, `${server.base}/calendar?view=week&date=2027-03-01`);
  // From here on the server's own views: what the grid (grid.test.mjs)
  // falls back to without JavaScript, in the same logged-in browser.
  owner = await browser.newContext({ viewport, timezoneId: zone, javaScriptEnabled: false });
  await owner.addCookies(await firstVisit.cookies());
  await firstVisit.close();
  ownerPage = await owner.newPage();
  const page = ownerPage;

  let response = await page.goto(`${server.base}/calendar?view=week&date=2027-03-01`);
  assert.equal(response.status(), 200, 'the week view');
  assert.match(await heading(page).innerText(), /^Your calendar:/, 'the heading starts "Your calendar:"');
  const nav = page.getByRole('navigation', { name: 'Dates and views' });
  for (const name of ['‹ Earlier', 'Today', 'Later ›', 'Month', 'Week', 'Agenda', 'New event']) {
    assert.equal(await nav.getByRole('link', { name, exact: true }).count(), 1, `a "${name}" link`);
  }
  assert.equal(await page.locator('section.day').count(), 7, 'the week view shows seven days');
  assert.equal(await page.getByRole('link', { name: 'New event on Monday 1 March' }).count(), 1,
    'a "+" link "New event on Monday 1 March"');
  assert.equal(new URL(await page.getByRole('link', { name: 'New event on Wednesday 3 March' }).getAttribute('href'), page.url()).search,
    '?date=2027-03-03', 'the "+" link of a day gives its date');

  response = await submit(page, nav.getByRole('link', { name: 'New event', exact: true }));
  assert.equal(response.status(), 200, 'the new event form');
  assert.deepEqual(url(page), { path: '/calendar/new', query: { date: '2027-03-01' } }, '"New event" leads to /calendar/new?date=...');
  assert.equal(await page.getByRole('heading', { level: 1, name: 'New event' }).count(), 1);
  assert.equal(await page.locator('input[name=start_date]').inputValue(), '2027-03-01', 'the form starts on the week\'s date');
  assert.equal(await page.getByLabel('Time zone').inputValue(), zone, 'the form\'s zone is the browser\'s (from the cookie)');
  assert.equal(await page.getByRole('button', { name: 'Delete' }).count(), 0, 'no Delete button for a new event');
  await keepHtml('event-form-new', response);

  await page.getByLabel('Title').fill('Team sync');
  await page.locator('input[name=start_time]').fill('09:30');
  await page.locator('input[name=end_date]').fill('2027-03-01');
  await page.locator('input[name=end_time]').fill('10:00');
  await page.getByLabel('Place').fill('Room 4');
  await page.getByLabel('Description').fill('Weekly planning.');
  await page.locator('select[name=repeat]').selectOption('weekly');
  await page.locator('input[name=day_mo]').check();
  await page.locator('select[name=ends]').selectOption('count');
  await page.getByLabel('Times', { exact: true }).fill('4');
  await shot(page, 'event-form-new');

  response = await submit(page, page.getByRole('button', { name: 'Save' }));
  assert.equal(response.status(), 200, 'the event is saved');
  assert.deepEqual(url(page), { path: '/calendar', query: { view: 'week', date: '2027-03-01', done: 'saved' } },
    'saving leads to the week view of the start date');
  assert.equal(await page.locator('p.notice').innerText(), 'Saved.', 'which says the event is saved');
  const monday = daySection(page, 'Monday 1 March');
  assert.deepEqual(await titlesIn(monday), ['Team sync'], 'Team sync on Monday 1 March');
  const first = entry(monday, 'Team sync');
  assert.equal(await first.locator('.time').innerText(), '09:30–10:00', 'at 09:30–10:00 Berlin time');
  assert.ok((await first.innerText()).includes('↻'), 'a recurring entry shows ↻');
  assert.ok((await first.innerText()).includes('Room 4'), 'the place shows');
  const href = new URL(await first.locator('a.title').getAttribute('href'), page.url());
  assert.match(href.pathname, /^\/calendar\/events\/[^/]+\/[^/]+$/, 'the entry links to /calendar/events/{cal}/{item}');
  assert.match(href.searchParams.get('occurrence') ?? '', /^\d+$/, 'with ?occurrence=');
  for (const other of ['Tuesday 2 March', 'Wednesday 3 March', 'Sunday 7 March']) {
    assert.deepEqual(await titlesIn(daySection(page, other)), [], `nothing on ${other}`);
  }

  response = await submit(page, nav.getByRole('link', { name: 'Later ›' }));
  assert.deepEqual(url(page).query, { view: 'week', date: '2027-03-08' }, '"Later ›" goes a week on');
  const eighth = daySection(page, 'Monday 8 March');
  assert.deepEqual(await titlesIn(eighth), ['Team sync'], 'the second occurrence on 8 March');
  response = await submit(page, entry(eighth, 'Team sync').locator('a.title'));
  assert.equal(response.status(), 200, 'the occurrence\'s form');
  assert.equal(url(page).path, href.pathname, 'the same event');
  assert.ok(url(page).query.occurrence && url(page).query.occurrence !== href.searchParams.get('occurrence'),
    'another occurrence');
  assert.equal(await page.getByRole('heading', { level: 1, name: 'Edit event' }).count(), 1);
  const repeats = page.getByRole('group', { name: 'This event repeats. Change' });
  assert.ok(await repeats.isVisible(), 'the fieldset "This event repeats. Change"');
  assert.ok(await repeats.getByLabel('only this occurrence').isChecked(), '"only this occurrence" is the default');
  assert.equal(await repeats.getByLabel('the whole series').isChecked(), false);
  assert.equal(await page.getByLabel('Title').inputValue(), 'Team sync');
  assert.equal(await page.locator('input[name=start_date]').inputValue(), '2027-03-08', 'the form shows the occurrence\'s date');
  assert.equal(await page.locator('input[name=start_time]').inputValue(), '09:30');
  assert.equal(await page.locator('input[name=end_time]').inputValue(), '10:00');
  assert.equal(await page.getByLabel('Time zone').inputValue(), zone);
  assert.equal(await page.locator('select[name=repeat]').inputValue(), 'weekly', 'the series\' rule shows');
  assert.ok(await page.locator('input[name=day_mo]').isChecked(), 'on Monday');
  assert.equal(await page.locator('select[name=ends]').inputValue(), 'count');
  assert.equal(await page.getByLabel('Times', { exact: true }).inputValue(), '4');
  assert.equal(await page.getByRole('button', { name: 'Yes, delete' }).count(), 0, 'deleting needs a second step');
  assert.equal(await page.locator('details.confirm summary').innerText(), 'Delete…', 'behind "Delete…"');
  await keep(page, 'event-form-occurrence', response);

  await page.locator('input[name=start_date]').fill('2027-03-09');
  await page.locator('input[name=start_time]').fill('14:00');
  await page.locator('input[name=end_date]').fill('2027-03-09');
  await page.locator('input[name=end_time]').fill('15:00');
  response = await submit(page, page.getByRole('button', { name: 'Save' }));
  assert.equal(response.status(), 200, 'the moved occurrence is saved');
  assert.deepEqual(url(page), { path: '/calendar', query: { view: 'week', date: '2027-03-09', done: 'saved' } },
    'saving leads to the week view of the new start date');
  assert.deepEqual(await titlesIn(daySection(page, 'Monday 8 March')), [], 'nothing left on Monday 8 March');
  const tuesday = daySection(page, 'Tuesday 9 March');
  assert.deepEqual(await titlesIn(tuesday), ['Team sync'], 'Team sync on Tuesday 9 March');
  assert.equal(await entry(tuesday, 'Team sync').locator('.time').innerText(), '14:00–15:00', 'at 14:00–15:00');
  await keep(page, 'calendar-week', response);

  response = await submit(page, nav.getByRole('link', { name: 'Month', exact: true }));
  assert.deepEqual(url(page).query, { view: 'month', date: '2027-03-09' });
  assert.equal(await heading(page).innerText(), 'Your calendar: March 2027');
  for (const label of ['Monday 1 March', 'Tuesday 9 March', 'Monday 15 March', 'Monday 22 March']) {
    assert.deepEqual(await titlesIn(monthCell(page, label)), ['Team sync'], `Team sync on ${label}`);
  }
  for (const label of ['Monday 8 March', 'Monday 29 March', 'Tuesday 2 March', 'Tuesday 16 March']) {
    assert.deepEqual(await titlesIn(monthCell(page, label)), [], `nothing on ${label}`);
  }
  assert.equal(await page.locator('table.month .title', { hasText: 'Team sync' }).count(), 4, 'four times in all (COUNT=4)');
  await keep(page, 'calendar-month', response);

  response = await submit(page, nav.getByRole('link', { name: 'Agenda', exact: true }));
  assert.equal(response.status(), 200);
  response = await page.goto(`${server.base}/calendar?view=agenda&date=2027-03-01`);
  const agenda = await page.locator('section.day').evaluateAll((days) => days.map((d) => [
    d.getAttribute('aria-label'), [...d.querySelectorAll('.entry')].map((e) => e.querySelector('.time').textContent + ' ' + e.querySelector('.title').textContent),
  ]));
  assert.deepEqual(agenda, [
    ['Monday 1 March', ['09:30–10:00 Team sync']],
    ['Tuesday 9 March', ['14:00–15:00 Team sync']],
    ['Monday 15 March', ['09:30–10:00 Team sync']],
    ['Monday 22 March', ['09:30–10:00 Team sync']],
  ], 'the agenda lists the days with events only');
  await keep(page, 'calendar-agenda', response);

  // What the sync clients get: the series in Berlin time and one override.
  const exported = await owner.request.get(`${server.base}/calendar/calendars/calendar/export.ics`);
  assert.equal(exported.status(), 200, 'the export');
  const ics = (await exported.text()).replace(/\r?\n[ \t]/g, '');
  assert.match(ics, /DTSTART;TZID=Europe\/Berlin:20270301T093000/, 'the series starts 1 March 09:30 Berlin');
  assert.match(ics, /RRULE:[^\r\n]*FREQ=WEEKLY/, 'weekly');
  assert.match(ics, /RRULE:[^\r\n]*COUNT=4/, '4 times');
  assert.match(ics, /RECURRENCE-ID;TZID=Europe\/Berlin:20270308T093000/, 'the override of 8 March');
  assert.match(ics, /DTSTART;TZID=Europe\/Berlin:20270309T140000/, 'moved to 9 March 14:00');
});

test('a read-only share link: a visitor sees the calendar, then the link is revoked', async () => {
  const page = ownerPage;
  let response = await page.goto(`${server.base}/calendar/calendars`);
  assert.equal(response.status(), 200);
  const calendar = page.locator('article').filter({ has: page.getByRole('heading', { level: 2, name: 'Calendar' }) });
  response = await submit(page, calendar.getByRole('link', { name: 'Share links' }));
  assert.equal(response.status(), 200, 'the share page');
  assert.equal(url(page).path, '/calendar/calendars/calendar/share');
  assert.ok(await page.getByText('No links yet.').isVisible(), 'no links yet');

  await page.getByLabel('The link lets people').selectOption({ label: 'See events' });
  assert.equal(await page.getByLabel('The link lets people').inputValue(), 'read');
  await page.getByLabel('Label (for you)').fill('Family');
  const lastDay = new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10);
  await page.getByLabel(/^Works until/).fill(lastDay);
  response = await submit(page, page.getByRole('button', { name: 'Make the link' }));
  assert.ok([200, 201].includes(response.status()), `the link is made (status ${response.status()})`);
  assert.equal(response.headers()['cache-control'], 'no-store', 'the page with the token is not cached');
  const shown = page.getByRole('status');
  const facts = await shown.locator('dl').evaluate((dl) => Object.fromEntries(
    [...dl.querySelectorAll('dt')].map((dt) => [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()])));
  const escaped = server.base.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  assert.match(facts['Web page'] ?? '', new RegExp(`^${escaped}/s/[A-Za-z0-9_-]{43}$`), '"Web page": the link');
  const web = facts['Web page'];
  const token = web.split('/s/')[1];
  assert.equal(await shown.getByRole('link', { name: web }).getAttribute('href'), web, 'the web address is a link');
  assert.equal(facts['Subscribe (webcal)'], `webcal://127.0.0.1:${server.port}/s/${token}/calendar.ics`, '"Subscribe (webcal)"');
  assert.equal(facts['CalDAV address for apps'], `${server.base}/dav/s/${token}/`, '"CalDAV address for apps"');
  const row = page.locator('table tbody tr');
  assert.equal(await row.count(), 1, 'one link in the table');
  assert.ok((await row.innerText()).includes('Family') && (await row.innerText()).includes('See events'), 'its label and rights');
  assert.equal(await row.getByRole('button', { name: 'Yes, revoke' }).count(), 0, 'revoking needs a second step');
  assert.deepEqual(await row.locator('details.confirm summary').allInnerTexts(), ['Revoke…', 'New address…']);
  await keep(page, 'share-links-created', response);

  const visitor = await browser.newContext({ viewport, timezoneId: zone });
  const guest = await visitor.newPage();
  await firstCalendarVisit(visitor, guest, web);
  assert.match(await heading(guest).innerText(), /^Calendar: /, 'the visitor sees the calendar\'s name');
  response = await guest.goto(`${web}?view=month&date=2027-03-01`);
  assert.equal(response.status(), 200, 'the shared month view');
  assert.equal(await heading(guest).innerText(), 'Calendar: March 2027');
  for (const label of ['Monday 1 March', 'Tuesday 9 March', 'Monday 15 March', 'Monday 22 March']) {
    assert.deepEqual(await titlesIn(monthCell(guest, label)), ['Team sync'], `the visitor sees Team sync on ${label}`);
  }
  assert.deepEqual(await titlesIn(monthCell(guest, 'Monday 8 March')), [], 'and not on 8 March');
  assert.equal(await guest.locator('a.title').count(), 0, 'no links to edit events');
  assert.equal(await guest.locator('main a[href*="/events/"], main a[href*="/new"]').count(), 0, 'no edit or new-event links');
  assert.equal(await guest.getByRole('link', { name: 'New event' }).count(), 0, 'no "New event" link');
  assert.equal(await guest.getByRole('link', { name: /^New event on / }).count(), 0, 'no "+" links');
  assert.equal(await guest.locator('form[method=post]').count(), 0, 'no form that changes anything');
  for (const label of ['Month', 'Week', 'Agenda']) {
    assert.equal(await guest.getByRole('navigation', { name: 'Dates and views' }).getByRole('link', { name: label, exact: true }).count(), 1,
      `the visitor has the "${label}" view`);
  }
  const occurrence = new URL(href(await ownerFirstEntry()), server.base);
  const refused = await visitor.request.get(`${web}/events/${occurrence.pathname.split('/').slice(3).join('/')}${occurrence.search}`);
  assert.equal(refused.status(), 404, 'a read-only link cannot open the event form');
  assert.equal((await visitor.request.get(`${web}/new?date=2027-03-01`)).status(), 404, 'nor the new event form');
  await keep(guest, 'share-visitor-month', response);

  response = await guest.goto(`${web}?view=week&date=2027-03-08`);
  assert.deepEqual(await titlesIn(daySection(guest, 'Tuesday 9 March')), ['Team sync'], 'the shared week view');
  response = await guest.goto(`${web}?view=agenda&date=2027-03-01`);
  assert.equal(await guest.locator('section.day').count(), 4, 'the shared agenda view');

  await page.goto(`${server.base}/calendar/calendars/calendar/share`);
  assert.equal(await page.getByText(web).count(), 0, 'the token is shown only once');
  await page.locator('table tbody tr').getByText('Revoke…').click();
  response = await submit(page, page.locator('table tbody tr').getByRole('button', { name: 'Yes, revoke' }));
  assert.equal(url(page).path, '/calendar/calendars/calendar/share', 'revoking leads back to the share page');
  assert.equal(await page.getByRole('status').innerText(), 'The link is revoked: its addresses no longer work.');
  assert.ok(await page.getByText('No links yet.').isVisible(), 'the link is gone from the table');

  response = await guest.reload();
  assert.equal(response.status(), 404, 'a revoked link is a 404');
  assert.equal(await heading(guest).innerText(), 'This link does not work');
  assert.equal(await guest.getByText('Team sync').count(), 0, 'nothing of the calendar shows');
  await keep(guest, 'share-revoked-404', response);
  await visitor.close();
});

/** The link of the first Team sync in the owner's month view of March 2027. */
async function ownerFirstEntry() {
  const response = await owner.request.get(`${server.base}/calendar?view=month&date=2027-03-01`);
  const match = (await response.text()).match(/<a class="title" href="([^"]+)">Team sync</);
  assert.ok(match, 'the owner\'s month view links to Team sync');
  return match[1];
}

function href(text) {
  return text.replaceAll('&amp;', '&');
}

test('tasks: add one with a due date, tick it off', async () => {
  const page = ownerPage;
  let response = await page.goto(`${server.base}/calendar/tasks`);
  assert.equal(response.status(), 200, '/calendar/tasks');
  await page.getByLabel('New task').fill('Book the room');
  await page.getByLabel('Due', { exact: true }).fill('2027-03-05');
  response = await submit(page, page.getByRole('button', { name: 'Add' }));
  assert.equal(url(page).path, '/calendar/tasks', 'adding a task leads back to the tasks');
  const task = page.locator('ul.tasks li').filter({ hasText: 'Book the room' });
  assert.equal(await task.count(), 1, 'the task is listed');
  assert.ok((await task.innerText()).includes('due'), 'with its due date');
  await page.getByLabel('New task').fill('Send the minutes');
  await submit(page, page.getByRole('button', { name: 'Add' }));
  response = await submit(page, task.getByRole('button', { name: 'Mark Book the room as done' }));
  assert.equal(response.status(), 200);
  assert.ok((await task.innerText()).includes('(done)'), '✓ marks it done');
  assert.equal(await task.getByRole('button', { name: 'Mark Book the room as not done' }).count(), 1, 'it can be opened again');
  assert.equal(await task.getByRole('button', { name: 'Mark Book the room as not done' }).innerText(), 'Not done',
    'the button says what it does');
  await keep(page, 'calendar-tasks', response);

  // A task past its due date says so in words; one done is not overdue.
  await page.getByLabel('New task').fill('Renew the passport');
  await page.getByLabel('Due', { exact: true }).fill('2020-01-31');
  await submit(page, page.getByRole('button', { name: 'Add' }));
  const late = page.locator('ul.tasks li').filter({ hasText: 'Renew the passport' });
  assert.match(await late.innerText(), /overdue: due 2020-01-31/);
  assert.doesNotMatch(await task.innerText(), /overdue/, 'a done task is not overdue');

  // Deleting asks first.
  const yes = late.getByRole('button', { name: 'Delete Renew the passport' });
  assert.equal(await yes.isVisible(), false, 'no one-click delete');
  await late.getByText('Delete…').click();
  await submit(page, yes);
  assert.equal(await page.locator('ul.tasks li').filter({ hasText: 'Renew the passport' }).count(), 0, 'deleted');

  // Open tasks with a due date show on their day in the calendar.
  await page.getByLabel('New task').fill('Water the plants');
  await page.getByLabel('Due', { exact: true }).fill('2028-06-14');
  await submit(page, page.getByRole('button', { name: 'Add' }));
  for (const view of ['month', 'week', 'agenda']) {
    await page.goto(`${server.base}/calendar?view=${view}&date=2028-06-14`);
    const shown = page.locator('main').getByText('Water the plants');
    assert.equal(await shown.count(), 1, `the task is on 14 June in the ${view} view`);
  }
  await page.goto(`${server.base}/calendar?view=month&date=2027-03-05`);
  assert.equal(await page.locator('main').getByText('Book the room').count(), 0, 'a done task is not');
});

test('calendars: a new one, renamed, an .ics file imported into it, the export', async () => {
  const page = ownerPage;
  let response = await page.goto(`${server.base}/calendar/calendars`);
  assert.equal(response.status(), 200);
  const fresh = page.locator('section').filter({ has: page.getByRole('heading', { level: 2, name: 'New calendar' }) });
  await fresh.getByLabel('Name').fill('Work');
  await fresh.getByLabel('Colour').fill('#8e24aa');
  response = await submit(page, fresh.getByRole('button', { name: 'Create' }));
  assert.equal(url(page).path, '/calendar/calendars');
  let work = page.locator('article').filter({ has: page.getByRole('heading', { level: 2, name: 'Work' }) });
  assert.equal(await work.count(), 1, 'the new calendar is listed');

  await work.getByLabel('Name').fill('Work projects');
  response = await submit(page, work.getByRole('button', { name: 'Save' }));
  work = page.locator('article').filter({ has: page.getByRole('heading', { level: 2, name: 'Work projects' }) });
  assert.equal(await work.count(), 1, 'the calendar is renamed');
  assert.equal(await work.getByLabel('Colour').inputValue(), '#8e24aa', 'with its colour');

  const ics = [
    'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Test//Browser tests//EN',
    'BEGIN:VEVENT', 'UID:quarterly-review@example.org', 'DTSTAMP:20260101T000000Z',
    'DTSTART;TZID=Europe/Berlin:20270317T110000', 'DTEND;TZID=Europe/Berlin:20270317T120000',
    'SUMMARY:Quarterly review', 'END:VEVENT', 'END:VCALENDAR', '',
  ].join('\r\n');
  await work.getByLabel('Import an .ics file').setInputFiles({ name: 'review.ics', mimeType: 'text/calendar', buffer: Buffer.from(ics) });
  response = await submit(page, work.getByRole('button', { name: 'Import', exact: true }));
  assert.equal(response.status(), 200, 'the import');
  assert.match(await page.getByRole('status').innerText(), /Imported 1 event/, 'the page says what was imported');
  assert.equal(await page.getByRole('alert').count(), 0, 'no errors');
  await keep(page, 'calendar-calendars', response);

  const exported = await owner.request.get(`${server.base}${await work.getByRole('link', { name: 'Export (.ics)' }).getAttribute('href')}`);
  assert.equal(exported.status(), 200, 'Export (.ics)');
  assert.match(exported.headers()['content-type'], /^text\/calendar/);
  assert.match(await exported.text(), /SUMMARY:Quarterly review/, 'the export has the imported event');

  await page.goto(`${server.base}/calendar?view=month&date=2027-03-01`);
  assert.deepEqual(await titlesIn(monthCell(page, 'Wednesday 17 March')), ['Quarterly review'], 'the imported event is in the month view');
});

test('without JavaScript: the month, week and agenda views, and the event form', async (t) => {
  const context = await browser.newContext({ viewport, timezoneId: zone, javaScriptEnabled: false });
  const page = await context.newPage();
  await login(page);
  let response = await page.goto(`${server.base}/calendar?view=month&date=2027-03-01&tz=${encodeURIComponent(zone)}`);
  assert.equal(response.status(), 200);
  assert.equal((await context.cookies()).some((c) => c.name === 'almanac_tz'), false, 'no zone cookie without the script');
  assert.equal(await heading(page).innerText(), 'Your calendar: March 2027');
  const cell = monthCell(page, 'Monday 1 March');
  assert.deepEqual(await titlesIn(cell), ['Team sync']);
  assert.equal(await entry(cell, 'Team sync').locator('.time').innerText(), '09:30', 'Berlin time from ?tz= (the month grid shows start times)');
  assert.deepEqual(await titlesIn(monthCell(page, 'Monday 8 March')), []);
  await keep(page, 'nojs-calendar-month', response);

  const nav = page.getByRole('navigation', { name: 'Dates and views' });
  response = await submit(page, nav.getByRole('link', { name: 'Week', exact: true }));
  assert.deepEqual(url(page).query, { view: 'week', date: '2027-03-01', tz: zone }, 'the view links keep the zone');
  assert.equal(await entry(daySection(page, 'Monday 1 March'), 'Team sync').locator('.time').innerText(), '09:30–10:00');
  await keep(page, 'nojs-calendar-week', response);

  response = await submit(page, nav.getByRole('link', { name: 'Agenda', exact: true }));
  assert.deepEqual(url(page).query, { view: 'agenda', date: '2027-03-01', tz: zone });
  assert.equal(await page.locator('section.day').count(), 5, 'four Team syncs and the Quarterly review');
  await keep(page, 'nojs-calendar-agenda', response);

  await submit(page, nav.getByRole('link', { name: 'Week', exact: true }));
  response = await submit(page, page.getByRole('link', { name: 'New event on Wednesday 3 March' }));
  assert.equal(response.status(), 200, 'the event form without JavaScript');
  assert.equal(url(page).path, '/calendar/new');
  assert.equal(await page.locator('input[name=start_date]').inputValue(), '2027-03-03', 'the "+" link\'s date');
  const formZone = await page.getByLabel('Time zone').inputValue();
  await keepHtml('nojs-event-form-new', response);
  await page.getByLabel('Title').fill('Dentist');
  await page.locator('input[name=start_time]').fill('11:00');
  await page.locator('input[name=end_time]').fill('11:45');
  await page.getByLabel('Time zone').fill(zone);
  await page.getByLabel('Place').fill('Main street 1');
  if (await page.getByLabel('Calendar').count()) {
    await page.getByLabel('Calendar').selectOption({ label: 'Calendar' });
  }
  await shot(page, 'nojs-event-form-new');
  response = await submit(page, page.getByRole('button', { name: 'Save' }));
  assert.equal(response.status(), 200, 'the event is saved without JavaScript');
  assert.equal(url(page).path, '/calendar');
  assert.equal(url(page).query.view, 'week');
  assert.equal(url(page).query.date, '2027-03-03');
  assert.deepEqual(await titlesIn(daySection(page, 'Wednesday 3 March')), ['Dentist'], 'the new event in the week view');

  await page.goto(`${server.base}/calendar?view=week&date=2027-03-03&tz=${encodeURIComponent(zone)}`);
  const dentist = entry(daySection(page, 'Wednesday 3 March'), 'Dentist');
  assert.equal(await dentist.locator('.time').innerText(), '11:00–11:45', 'at 11:00–11:45 Berlin time');
  assert.equal((await dentist.innerText()).includes('↻'), false, 'not recurring');

  // Delete it again, still without JavaScript.
  response = await submit(page, dentist.locator('a.title'));
  assert.equal(await page.getByLabel('Title').inputValue(), 'Dentist');
  assert.equal(await page.locator('input[name=start_time]').inputValue(), '11:00', 'the form shows the event\'s own zone\'s times');
  assert.equal(await page.getByLabel('Time zone').inputValue(), zone);
  assert.equal(await page.getByRole('group', { name: 'This event repeats. Change' }).count(), 0, 'no series choice for a single event');
  await page.getByText('Delete…').click();
  response = await submit(page, page.getByRole('button', { name: 'Yes, delete' }));
  assert.equal(response.status(), 200, 'the event is deleted');
  assert.equal(await page.locator('p.notice').innerText(), 'Deleted.', 'and the calendar says so');
  assert.deepEqual(await titlesIn(daySection(page, 'Wednesday 3 March')), [], 'the event is gone');
  await context.close();
  // Not part of the contract; for the report.
  if (formZone !== zone) t.diagnostic(`note: without JavaScript the "New event" form's Time zone was ${JSON.stringify(formZone)}, not ${zone}`);
});

test('every calendar page passes the Nu HTML checker', () => {
  const missing = expectedPages.filter((name) => !kept.has(name));
  const errors = nuErrors([...kept.values()]);
  assert.deepEqual({ errors, missing }, { errors: [], missing: [] });
});
