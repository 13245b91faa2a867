// Finding and entering in the web calendar (issue "A web calendar people
// would choose"): quick add in plain English, search across all of a
// person's calendars (the database's text index), tasks edited in full, and
// axe-core on every calendar page (0 serious or critical violations), with
// and without the time grid.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launchBrowser, withAccount, logIn, here, shots } from './support.mjs';

const person = { name: 'fay', email: 'fay@example.org', password: 'fay finds everything' };
const other = { name: 'gus', email: 'gus@example.org', password: 'gus has secrets too' };
const zone = 'Europe/Berlin';
let server, browser, context, page;

before(async () => {
  server = await startServer({
    configFile: false,
    prepare: async (env, dir) => {
      withAccount(person)(env, dir);
      withAccount(other)(env, dir);
    },
  });
  browser = await launchBrowser();
  context = await browser.newContext({ timezoneId: zone, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  await logIn(page, server.base, person);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

function auth(who) {
  return 'Basic ' + Buffer.from(`${who.name}:${who.password}`).toString('base64');
}

/** The user's objects over CalDAV: { name: text }. */
async function objects(who) {
  const base = `${server.base}/dav/calendars/${who.name}/calendar/`;
  const listing = await fetch(base, {
    method: 'PROPFIND',
    headers: { Authorization: auth(who), Depth: '1', 'Content-Type': 'application/xml' },
    body: '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>',
  });
  assert.equal(listing.status, 207);
  const hrefs = [...(await listing.text()).matchAll(/<(?:\w+:)?href>([^<]+\.ics)<\/(?:\w+:)?href>/g)].map((m) => m[1]);
  const out = {};
  for (const href of hrefs) {
    const response = await fetch(new URL(href, server.base), { headers: { Authorization: auth(who) } });
    out[href.split('/').pop()] = await response.text();
  }
  return out;
}

function unfolded(text) {
  return text.replace(/\r\n[ \t]/g, '');
}

async function put(who, name, ics) {
  const response = await fetch(`${server.base}/dav/calendars/${who.name}/calendar/${name}`, {
    method: 'PUT',
    headers: { Authorization: auth(who), 'Content-Type': 'text/calendar; charset=utf-8' },
    body: ics.replace(/\n/g, '\r\n'),
  });
  assert.ok([201, 204].includes(response.status), `PUT ${name}: ${response.status}`);
}

function event(uid, summary, start, extra = '') {
  return `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:${uid}
DTSTAMP:20261101T000000Z
DTSTART:${start}
DURATION:PT1H
SUMMARY:${summary}
${extra}END:VEVENT
END:VCALENDAR
`;
}

async function submit(target) {
  const [response] = await Promise.all([page.waitForNavigation(), target.click()]);
  return response;
}

/** The local date `days` from today in Berlin, as YYYY-MM-DD. */
function berlinDay(days) {
  const now = new Date(Date.now() + days * 86400000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

test('quick add: "Lunch with Ana tomorrow 1pm" becomes that event, shown on its day', async () => {
  await page.goto(`${server.base}/calendar?view=week`);
  await page.getByLabel('Quick add').fill('Lunch with Ana tomorrow 1pm');
  const response = await submit(page.getByRole('button', { name: 'Add', exact: true }));
  assert.equal(response.status(), 200);
  const tomorrow = berlinDay(1);
  const address = new URL(page.url());
  assert.equal(address.searchParams.get('view'), 'day', 'the day view of the new event follows');
  assert.equal(address.searchParams.get('date'), tomorrow);
  await page.waitForSelector('#grid .ec-event');
  assert.deepEqual(await page.locator('#grid .ec-event-title').allInnerTexts(), ['Lunch with Ana']);
  const stored = Object.values(await objects(person)).map(unfolded).find((t) => t.includes('SUMMARY:Lunch with Ana'));
  assert.ok(stored, 'the event is stored, seen over CalDAV');
  const compact = tomorrow.replaceAll('-', '');
  assert.match(stored, new RegExp(`DTSTART;TZID=${zone}:${compact}T130000`), 'at 13:00 Berlin time, tomorrow');
  assert.match(stored, new RegExp(`DTEND;TZID=${zone}:${compact}T140000`), 'for an hour');
});

test('quick add without JavaScript, and a line that says no title', async () => {
  const plain = await browser.newContext({ timezoneId: zone, javaScriptEnabled: false });
  await plain.addCookies(await context.cookies());
  const p = await plain.newPage();
  await p.goto(`${server.base}/calendar?view=week&tz=${encodeURIComponent(zone)}`);
  await p.getByLabel('Quick add').fill('Dentist fri 8:30-9:15');
  await Promise.all([p.waitForNavigation(), p.getByRole('button', { name: 'Add', exact: true }).click()]);
  assert.equal(await p.getByRole('status').first().innerText(), 'Added: the event is below.');
  assert.match(await p.locator('.calendar-static').innerText(), /08:30–09:15\s+Dentist/);

  await p.goto(`${server.base}/calendar?view=week`);
  await p.getByLabel('Quick add').fill('tomorrow 3pm');
  const [response] = await Promise.all([p.waitForNavigation(), p.getByRole('button', { name: 'Add', exact: true }).click()]);
  assert.equal(response.status(), 422, 'nothing to call the event');
  assert.match(await p.locator('main').innerText(), /Say what the event is/);
  await plain.close();
});

test('search finds events by title, place and notes across calendars, and never another person\'s', async () => {
  await page.goto(`${server.base}/calendar/calendars`);
  await page.locator('#new-calendar').locator('..').getByLabel('Name').fill('Family');
  await submit(page.getByRole('button', { name: 'Create' }));
  await put(person, 'review.ics', event('review-1', 'Quarterly review', '20270115T090000Z', 'LOCATION:Café Müller\nDESCRIPTION:Bring the budget figures\n'));
  await put(person, 'weekly.ics', event('weekly-1', 'Piano lesson', '20261201T150000Z', 'RRULE:FREQ=WEEKLY\n'));
  await put(other, 'secret.ics', event('secret-1', 'Quarterly secret', '20270115T090000Z'));
  const home = await fetch(`${server.base}/dav/calendars/${person.name}/`, {
    method: 'PROPFIND',
    headers: { Authorization: auth(person), Depth: '1', 'Content-Type': 'application/xml' },
    body: '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><displayname/></prop></propfind>',
  });
  const second = [...(await home.text()).matchAll(/<(?:\w+:)?href>([^<]+)<\/(?:\w+:)?href>/g)].map((m) => m[1])
    .find((h) => h.split('/').length > 5 && !h.endsWith('/calendar/'));
  assert.ok(second, 'the Family calendar is in the calendar home');
  const family = await fetch(new URL(`${second}birthday.ics`, server.base), {
    method: 'PUT',
    headers: { Authorization: auth(person), 'Content-Type': 'text/calendar' },
    body: event('bday-1', 'Grandma birthday', '20270301T100000Z').replace(/\n/g, '\r\n'),
  });
  assert.equal(family.status, 201, 'an event in the second calendar');

  await page.goto(`${server.base}/calendar?view=month`);
  await page.locator('body').press('/');
  const box = page.getByRole('searchbox', { name: 'Search' });
  assert.ok(await box.evaluate((e) => e === document.activeElement), '"/" puts the cursor in the search box');
  await page.keyboard.type('quarter');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  const results = page.locator('.search-results li');
  assert.deepEqual(await results.locator('a').allInnerTexts(), ['Quarterly review'], 'a word\'s start finds it; gus\'s event is not found');
  assert.match(await results.first().innerText(), /Café Müller/);
  await page.screenshot({ path: join(shots, 'search-results.png'), fullPage: true });

  for (const [query, expected] of [['muller', ['Quarterly review']], ['budget', ['Quarterly review']], ['grandma', ['Grandma birthday']],
    ['piano', ['Piano lesson']], ['lunch ana', ['Lunch with Ana']], ['nothing-like-this', []], ['" OR * (', []]]) {
    await page.goto(`${server.base}/calendar/search?q=${encodeURIComponent(query)}`);
    assert.deepEqual(await page.locator('.search-results li a').allInnerTexts(), expected, `search "${query}"`);
  }
  await page.goto(`${server.base}/calendar/search?q=piano`);
  const piano = await page.locator('.search-results li a').getAttribute('href');
  assert.match(piano, /\?occurrence=\d+$/, 'a repeating event links to its next occurrence');
  assert.match(await page.locator('.search-results li').innerText(), /Piano lesson · \w{3} \d+ \w{3} \d{4}, 16:00/, 'in the reader\'s zone');

  await page.goto(`${server.base}/calendar/search?q=nothing-like-this`);
  assert.match(await page.getByRole('status').innerText(), /Nothing in your calendars matches/);

  // A changed title is found by its new words only.
  await put(person, 'review.ics', event('review-1', 'Annual review', '20270115T090000Z'));
  await page.goto(`${server.base}/calendar/search?q=quarterly`);
  assert.deepEqual(await page.locator('.search-results li a').allInnerTexts(), []);
  await page.goto(`${server.base}/calendar/search?q=annual`);
  assert.deepEqual(await page.locator('.search-results li a').allInnerTexts(), ['Annual review']);
});

test('tasks: title, due date, notes and priority edited; the task shows on its day', async () => {
  await page.goto(`${server.base}/calendar/tasks`);
  await page.getByLabel('New task').fill('Buy milk');
  await submit(page.getByRole('button', { name: 'Add' }));
  const row = page.locator('ul.tasks li', { hasText: 'Buy milk' });
  await row.locator('summary', { hasText: 'Edit…' }).click();
  await row.getByLabel('Title').fill('Buy oat milk');
  await row.getByLabel('Due').fill('2027-02-03');
  await row.getByLabel('Notes').fill('The barista one');
  await row.getByLabel('Priority').selectOption('high');
  await submit(row.getByRole('button', { name: 'Save Buy milk' }));
  const edited = page.locator('ul.tasks li', { hasText: 'Buy oat milk' });
  assert.match(await edited.innerText(), /due 2027-02-03/);
  assert.match(await edited.innerText(), /high priority/);
  assert.match(await edited.innerText(), /The barista one/);
  const stored = Object.values(await objects(person)).map(unfolded).find((t) => t.includes('VTODO'));
  assert.match(stored, /SUMMARY:Buy oat milk/);
  assert.match(stored, /DUE;VALUE=DATE:20270203/);
  assert.match(stored, /DESCRIPTION:The barista one/);
  assert.match(stored, /PRIORITY:1/);

  await page.goto(`${server.base}/calendar?view=week&date=2027-02-03`);
  await page.waitForSelector('#grid .ec-event');
  const titles = await page.locator('#grid .ec-event-title').allInnerTexts();
  assert.deepEqual(titles.filter((t) => t.startsWith('Task')), ['Task: Buy oat milk'], 'on its day in the grid');
});

test('axe-core finds no serious or critical problem on any calendar page', async () => {
  const axe = readFileSync(join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');
  // An event's own form, and what a share link's visitor sees (read-write).
  await page.goto(`${server.base}/calendar/search?q=review`);
  const eventForm = await page.locator('.search-results li a').first().getAttribute('href');
  await page.goto(`${server.base}/calendar/calendars/calendar/share`);
  const newLink = page.getByRole('region', { name: 'New link' });
  await newLink.getByLabel('The link lets people').selectOption({ label: 'See and edit events' });
  await newLink.getByLabel('Label (for you)').fill('Family');
  await submit(newLink.getByRole('button', { name: 'Make the link' }));
  const shared = new URL(await page.getByRole('status').filter({ hasText: 'Your new link' }).getByRole('link').getAttribute('href'), server.base).pathname;
  const pages = ['/calendar?view=month&date=2027-01-15', '/calendar?view=week&date=2027-01-15', '/calendar?view=day&date=2027-01-15',
    '/calendar?view=agenda&date=2027-01-01', '/calendar/new', eventForm, '/calendar/tasks', '/calendar/calendars',
    '/calendar/search?q=review', '/account/reminders', `${shared}?date=2027-01-15`, `${shared}/new`];
  const problems = [];
  for (const [scheme, script] of [['light', true], ['dark', true], ['light', false]]) {
    // bypassCSP: the test injects axe itself (the site allows only its own
    // scripts). The pages without JavaScript: the site's scripts are not
    // loaded, so the server's own views stay (axe itself needs JavaScript).
    const ctx = await browser.newContext({ timezoneId: zone, colorScheme: scheme, bypassCSP: true });
    await ctx.addCookies(await context.cookies());
    if (!script) await ctx.route('**/static/calendar/*.js', (route) => route.abort());
    const p = await ctx.newPage();
    for (const path of pages) {
      await p.goto(server.base + path);
      if (script && /view=(month|week|day)/.test(path)) await p.waitForSelector('#grid .ec-body');
      await p.addScriptTag({ content: axe });
      const result = await p.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }));
      for (const v of result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))) {
        problems.push(`${scheme}${script ? '' : ' no-js'} ${path}: ${v.id} (${v.impact}) ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
      }
    }
    await ctx.close();
  }
  assert.deepEqual(problems, []);
});
