// The time grid of the web calendar (EventCalendar, vendored) as a person
// uses it, in headless Chromium (Debian's) in a Berlin browser: drag an
// event to move it, drag its bottom edge to make it longer, move one
// occurrence of a series, a change made elsewhere meanwhile, click or drag
// on empty time to make an event, the event popover (guests, reminders,
// Delete with Undo, Duplicate), all-day bars and overlapping events, the day
// view and the keys, reminders and "this and the following" in the form,
// what the feed and the changes refuse, dark mode and a phone. What the
// grid writes is read back over CalDAV, as another app would see it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { shots, startServer, launchBrowser, withAccount, logIn } from './support.mjs';

const zone = 'Europe/Berlin';
const gwen = { name: 'gwen', email: 'gwen@example.org', password: 'gwen drags her week about' };
const hal = { name: 'hal', email: 'hal@example.org', password: 'hal would like to peek' };
const viewport = { width: 1280, height: 1500 };
let server, browser, context, page;

before(async () => {
  server = await startServer({
    configFile: false,
    prepare: async (env, dir) => {
      withAccount(gwen)(env, dir);
      withAccount(hal)(env, dir);
    },
  });
  browser = await launchBrowser();
  context = await browser.newContext({ timezoneId: zone, viewport });
  page = await context.newPage();
  await logIn(page, server.base, gwen);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

// ---------------------------------------------------------------- CalDAV

function auth(who) {
  return 'Basic ' + Buffer.from(`${who.name}:${who.password}`).toString('base64');
}

function davUrl(who, name) {
  return `${server.base}/dav/calendars/${who.name}/calendar/${name}`;
}

/** A calendar object from lines written with \n: CRLF line ends. */
function ics(text) {
  return text.replace(/\r?\n/g, '\r\n');
}

async function put(who, name, body, { ifMatch } = {}) {
  const headers = { Authorization: auth(who), 'Content-Type': 'text/calendar; charset=utf-8' };
  if (ifMatch) headers['If-Match'] = ifMatch;
  const response = await fetch(davUrl(who, name), { method: 'PUT', headers, body: ics(body) });
  assert.ok([201, 204].includes(response.status), `PUT ${name}: ${response.status} ${await response.text()}`);
  return response.headers.get('etag');
}

async function read(who, name, as = who) {
  const response = await fetch(davUrl(who, name), { headers: { Authorization: auth(as) } });
  return { status: response.status, text: await response.text(), etag: response.headers.get('etag') };
}

/** The user's objects over CalDAV: { name: text }. */
async function objects(who) {
  const base = davUrl(who, '');
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
    out[decodeURIComponent(href.split('/').pop())] = await response.text();
  }
  return out;
}

/** The objects whose SUMMARY is `title`: [{ name, text }]. */
async function objectsTitled(who, title) {
  return Object.entries(await objects(who))
    .filter(([, text]) => lines(text).includes(`SUMMARY:${title}`))
    .map(([name, text]) => ({ name, text }));
}

/** The content lines of an object, unfolded. */
function lines(text) {
  return text.replace(/\r\n[ \t]/g, '').replace(/\n[ \t]/g, '').split(/\r?\n/).filter((l) => l !== '');
}

function nameOf(line) {
  return line.split(/[;:]/)[0].toUpperCase();
}

/** Each line with the components it is in: "VCALENDAR/VEVENT|DTSTART;TZID=...". */
function placed(text) {
  const stack = [];
  const out = [];
  for (const line of lines(text)) {
    if (/^BEGIN:/i.test(line)) stack.push(line.slice(6).toUpperCase());
    out.push({ path: stack.join('/'), line });
    if (/^END:/i.test(line)) stack.pop();
  }
  return out;
}

/** The top-level VEVENTs (with their alarms): arrays of lines. */
function vevents(text) {
  const out = [];
  let current = null;
  let depth = 0;
  for (const line of lines(text)) {
    if (/^BEGIN:/i.test(line)) depth++;
    if (depth === 2 && /^BEGIN:VEVENT$/i.test(line)) current = [];
    if (current) current.push(line);
    if (depth === 2 && /^END:VEVENT$/i.test(line)) { out.push(current); current = null; }
    if (/^END:/i.test(line)) depth--;
  }
  return out;
}

/** The value of a property in a list of lines (the first), with its parameters: { params, value }. */
function prop(eventLines, name) {
  const line = eventLines.find((l) => nameOf(l) === name && !/^(BEGIN|END):/i.test(l));
  if (!line) return null;
  const colon = line.search(/:(?=(?:[^"]*"[^"]*")*[^"]*$)/);
  return { line, params: line.slice(name.length, colon), value: line.slice(colon + 1) };
}

/** Lines of the events themselves that change on every write. */
const volatile = ['DTSTAMP', 'SEQUENCE', 'LAST-MODIFIED'];

/**
 * Asserts that `after` is `before` with only the VEVENT's `changed`
 * properties (and DTSTAMP, SEQUENCE, LAST-MODIFIED) different.
 */
function assertOnly(before, after, changed, what, { exact = true } = {}) {
  const skip = new Set([...volatile, ...changed]);
  const keep = (text, tidy = (l) => l) => placed(text)
    .filter(({ path, line }) => !(path.endsWith('/VEVENT') && skip.has(nameOf(line))))
    .map(({ path, line }) => `${path}| ${tidy(line)}`);
  // First the meaning (a parameter quoted or not is the same value), then
  // (unless `exact` is false, for a caller that checks it last) the lines
  // as they were written.
  assert.deepEqual(keep(after, unquoted), keep(before, unquoted), `${what}: every other property stays, with the same value`);
  if (exact) assert.deepEqual(keep(after), keep(before), `${what}: every other line stays as it was, byte for byte`);
}

/** A line with needless quotes around parameter values taken away. */
function unquoted(line) {
  const colon = line.search(/:(?=(?:[^"]*"[^"]*")*[^"]*$)/);
  const head = line.slice(0, colon).replace(/="([^";:,]*)"/g, '=$1');
  return head + line.slice(colon);
}

function sequence(eventLines) {
  return Number(prop(eventLines, 'SEQUENCE')?.value ?? 0);
}

// ------------------------------------------------------------ the pages

function calendarUrl(view, date) {
  return `${server.base}/calendar?view=${view}&date=${date}&tz=${encodeURIComponent(zone)}`;
}

/** Opens a view of the grid and waits for its events (or the empty feed). */
async function openGrid(p, view, date, { events = true } = {}) {
  const fed = p.waitForResponse((r) => r.url().includes('/calendar/feed'));
  const response = await p.goto(calendarUrl(view, date));
  assert.equal(response.status(), 200, `the ${view} view of ${date}`);
  await fed;
  if (events) await p.waitForSelector('#grid .ec-event');
  await p.waitForTimeout(150);
}

/** Clicks and waits for the page it leads to. */
async function submit(p, target) {
  const [response] = await Promise.all([p.waitForNavigation(), target.click()]);
  return response;
}

/** The feed, as the grid reads it, from inside the page (the page's session). */
async function feed(p, start, end, tz = zone) {
  return p.evaluate(async ([s, e, z]) => {
    const response = await fetch(`/calendar/feed?start=${s}&end=${e}&tz=${encodeURIComponent(z)}&show=`);
    return { status: response.status, json: await response.json().catch(() => null) };
  }, [start, end, tz]);
}

/** A POST from inside the page, as the grid's script sends it. */
async function postForm(p, path, fields) {
  return p.evaluate(async ([to, f]) => {
    const response = await fetch(to, { method: 'POST', body: new URLSearchParams(f), credentials: 'same-origin' });
    return { status: response.status, text: await response.text() };
  }, [path, fields]);
}

/**
 * Where things are on the time grid, in the page's coordinates: the column
 * of a date, the y of a wall time, the height of a slot.
 */
async function grid(p) {
  const g = await p.evaluate(() => {
    const main = document.querySelector('#grid .ec-main');
    const slot = parseFloat(getComputedStyle(main).getPropertyValue('--ec-slot-height'));
    const body = document.querySelector('#grid .ec-body .ec-grid').getBoundingClientRect();
    const columns = {};
    for (const head of document.querySelectorAll('#grid .ec-col-head')) {
      const time = head.querySelector('time');
      const r = head.getBoundingClientRect();
      if (time) columns[time.getAttribute('datetime').slice(0, 10)] = { x: r.x, width: r.width };
    }
    return { slot, top: body.top, columns };
  });
  return {
    ...g,
    x(date) {
      assert.ok(g.columns[date], `a column for ${date} (columns: ${Object.keys(g.columns).join(', ')})`);
      return g.columns[date].x + g.columns[date].width / 2;
    },
    y(time) {
      const [h, m] = time.split(':').map(Number);
      return g.top + ((h * 60 + m) / 30) * g.slot;
    },
  };
}

/** The grid's event with this title (the one on `date`, if given). */
function gridEvent(p, title, date) {
  let events = p.locator('#grid .ec-event').filter({ has: p.locator('.ec-event-title', { hasText: new RegExp(`^${title}$`) }) });
  if (date) events = events.filter({ has: p.locator(`time.ec-event-time[datetime^="${date}"]`) });
  return events;
}

/** A drag with the mouse, in small steps, as a hand would. */
async function drag(p, from, to) {
  await p.mouse.move(from.x, from.y);
  await p.mouse.down();
  await p.mouse.move(from.x + 2, from.y + 3, { steps: 2 });
  await p.mouse.move(to.x, to.y, { steps: 15 });
  await p.waitForTimeout(100);
  await p.mouse.up();
}

async function statusText(p, pattern) {
  const status = p.locator('#grid-status');
  await status.waitFor({ state: 'visible' });
  await p.waitForFunction(([re, flags]) => new RegExp(re, flags).test(document.querySelector('#grid-status span').textContent),
    [pattern.source, pattern.flags], { timeout: 10000 }).catch(() => {});
  return (await status.locator('span').innerText()).trim();
}

/** Seconds since the epoch of a wall time in Berlin in winter (+01:00). */
function berlinWinter(date, time) {
  return Date.parse(`${date}T${time}:00+01:00`) / 1000;
}

function berlinToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

const NEW_YORK = `BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
`;

const BERLIN = `BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
`;

function simple(uid, title, start, end, extra = '') {
  return `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Grid test//EN
${BERLIN}BEGIN:VEVENT
UID:${uid}
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Berlin:${start}
DTEND;TZID=Europe/Berlin:${end}
SUMMARY:${title}
${extra}END:VEVENT
END:VCALENDAR
`;
}

// ---------------------------------------------------------------- tests

test('an event dragged a day later and two hours down keeps its own zone and every other line', async () => {
  const body = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Other App//Grid test//EN
CALSCALE:GREGORIAN
${NEW_YORK}BEGIN:VEVENT
UID:call-new-york@example.org
DTSTAMP:20261101T000000Z
CREATED:20261101T000000Z
LAST-MODIFIED:20261101T000000Z
SEQUENCE:2
DTSTART;TZID=America/New_York:20261208T040000
DTEND;TZID=America/New_York:20261208T050000
SUMMARY:Call with New York
LOCATION:Video room 3
DESCRIPTION:A long description that another app wrote and that is long enough to be folded over more than one line when it is stored and read back.
ORGANIZER;CN=Olga Organizer:mailto:olga@example.org
ATTENDEE;CN=Ann Example;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:ann@example.org
ATTENDEE;CN=Dan Example;PARTSTAT=DECLINED:mailto:dan@example.org
X-MOZ-GENERATION:7
X-OTHER-APP;X-FLAG=yes:kept as it is
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Call soon
TRIGGER:-PT15M
X-WR-ALARMUID:alarm-1
END:VALARM
END:VEVENT
END:VCALENDAR
`;
  await put(gwen, 'call-new-york.ics', body);
  const before = await read(gwen, 'call-new-york.ics');

  await openGrid(page, 'week', '2026-12-07');
  assert.equal(await page.locator('.calendar-static').isVisible(), false, 'the server\'s own view is hidden under JavaScript');
  const event = gridEvent(page, 'Call with New York');
  assert.equal(await event.count(), 1);
  // 04:00 in New York is 10:00 in Berlin.
  assert.equal((await event.locator('.ec-event-time').innerText()).replace(/\s+/g, ' '), '10:00 – 11:00',
    'the event shows at 10:00–11:00 Berlin time');
  const g = await grid(page);
  const box = await event.boundingBox();
  assert.ok(Math.abs(box.y - g.y('10:00')) < 3, `the event's top is at 10:00 on the grid (${box.y} vs ${g.y('10:00')})`);
  assert.ok(Math.abs(box.x + box.width / 2 - g.x('2026-12-08')) < g.columns['2026-12-08'].width / 2, 'on Tuesday');

  const inNewYork = await feed(page, '2026-12-07', '2026-12-14', 'America/New_York');
  assert.deepEqual(inNewYork.json.filter((e) => e.title === 'Call with New York').map((e) => [e.start, e.end]),
    [['2026-12-08T04:00:00', '2026-12-08T05:00:00']], 'the feed gives wall times in the zone asked for');

  const from = { x: box.x + box.width / 2, y: box.y + 12 };
  await drag(page, from, { x: from.x + g.columns['2026-12-08'].width, y: from.y + 4 * g.slot });
  const said = await statusText(page, /Saved/);
  assert.equal(said, 'Saved: “Call with New York” now at 2026-12-09 12:00.', 'the status says where it went');

  const after = await read(gwen, 'call-new-york.ics');
  const [old] = vevents(before.text);
  const [moved] = vevents(after.text);
  assert.equal(prop(moved, 'DTSTART').line, 'DTSTART;TZID=America/New_York:20261209T060000',
    'the start is still written in New York time: Wednesday 12:00 in Berlin is 06:00 there');
  assert.equal(prop(moved, 'DTEND').line, 'DTEND;TZID=America/New_York:20261209T070000', 'the end likewise');
  assert.ok(sequence(moved) > sequence(old), 'SEQUENCE goes up');
  assert.notEqual(prop(moved, 'LAST-MODIFIED').value, prop(old, 'LAST-MODIFIED').value, 'LAST-MODIFIED is renewed');
  assertOnly(before.text, after.text, ['DTSTART', 'DTEND'], 'the drag', { exact: false });
  assert.notEqual(after.etag, before.etag, 'a new ETag');

  // The grid shows it where it was dropped, after the feed is read again.
  await openGrid(page, 'week', '2026-12-07');
  const now = gridEvent(page, 'Call with New York');
  assert.equal(await now.count(), 1);
  assert.equal(await now.locator('.ec-event-time').getAttribute('datetime'), '2026-12-09T12:00:00');

  // Last, the lines as the other app wrote them: not even re-quoted.
  assertOnly(before.text, after.text, ['DTSTART', 'DTEND'], 'the drag');
});

test('dragging the bottom edge an hour down changes only the end', async () => {
  const body = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Grid test//EN
BEGIN:VEVENT
UID:review-utc@example.org
DTSTAMP:20261101T000000Z
DTSTART:20261214T080000Z
DTEND:20261214T090000Z
SUMMARY:Design review
X-KEEP:yes
END:VEVENT
END:VCALENDAR
`;
  await put(gwen, 'review.ics', body);
  const before = await read(gwen, 'review.ics');
  await openGrid(page, 'week', '2026-12-14');
  const event = gridEvent(page, 'Design review');
  assert.equal(await event.locator('.ec-event-time').getAttribute('datetime'), '2026-12-14T09:00:00', '09:00 in Berlin');
  const g = await grid(page);
  await event.hover();
  const resizer = event.locator('.ec-resizer');
  assert.equal(await resizer.count(), 1, 'the event has a bottom edge to drag');
  const edge = await resizer.boundingBox();
  const from = { x: edge.x + edge.width / 2, y: edge.y + edge.height / 2 };
  await drag(page, from, { x: from.x, y: from.y + 2 * g.slot });
  assert.equal(await statusText(page, /Saved/), 'Saved: “Design review” now at 2026-12-14 09:00.');
  const after = await read(gwen, 'review.ics');
  const [moved] = vevents(after.text);
  assert.equal(prop(moved, 'DTSTART').line, 'DTSTART:20261214T080000Z', 'the start stays (in UTC, as it was written)');
  assert.equal(prop(moved, 'DTEND').line, 'DTEND:20261214T100000Z', 'the end is an hour later');
  assertOnly(before.text, after.text, ['DTEND'], 'the resize');
});

test('one occurrence of a weekly series dragged: an override, the series and the others stay', async () => {
  const body = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Grid test//EN
BEGIN:VEVENT
UID:weekly-standup@example.org
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Berlin:20261207T140000
DTEND;TZID=Europe/Berlin:20261207T143000
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Weekly standup
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Standup
TRIGGER:-PT5M
END:VALARM
END:VEVENT
END:VCALENDAR
`;
  await put(gwen, 'standup.ics', body);
  const before = await read(gwen, 'standup.ics');
  await openGrid(page, 'week', '2026-12-14');
  const event = gridEvent(page, 'Weekly standup');
  assert.equal(await event.count(), 1, 'one occurrence in this week');
  const g = await grid(page);
  const box = await event.boundingBox();
  const from = { x: box.x + box.width / 2, y: box.y + 8 };
  // Monday 14:00 → Tuesday 15:00.
  await drag(page, from, { x: from.x + g.columns['2026-12-14'].width, y: from.y + 2 * g.slot });
  assert.equal(await statusText(page, /Saved/), 'Saved: “Weekly standup” now at 2026-12-15 15:00.');

  const after = await read(gwen, 'standup.ics');
  const events = vevents(after.text);
  assert.equal(events.length, 2, 'the series and one override');
  const master = events.find((e) => !prop(e, 'RECURRENCE-ID'));
  const override = events.find((e) => prop(e, 'RECURRENCE-ID'));
  assert.ok(master && override);
  assert.equal(prop(override, 'RECURRENCE-ID').line, 'RECURRENCE-ID;TZID=Europe/Berlin:20261214T140000',
    'the override names the occurrence it replaces');
  assert.equal(prop(override, 'DTSTART').line, 'DTSTART;TZID=Europe/Berlin:20261215T150000');
  assert.equal(prop(override, 'DTEND').line, 'DTEND;TZID=Europe/Berlin:20261215T153000');
  assert.equal(prop(override, 'RRULE'), null, 'the override has no rule of its own');
  const [oldMaster] = vevents(before.text);
  const keep = (e) => e.filter((l) => !volatile.includes(nameOf(l)));
  assert.deepEqual(keep(master), keep(oldMaster), 'the series itself is unchanged (its DTSTART too)');

  const { status, json } = await feed(page, '2026-12-07', '2027-01-04');
  assert.equal(status, 200);
  const starts = json.filter((e) => e.title === 'Weekly standup').map((e) => e.start).sort();
  assert.deepEqual(starts, ['2026-12-07T14:00:00', '2026-12-15T15:00:00', '2026-12-21T14:00:00', '2026-12-28T14:00:00'],
    'the other occurrences stay at 14:00 on Mondays');
  const moved = json.find((e) => e.start === '2026-12-15T15:00:00');
  assert.equal(moved.extendedProps.occurrence, berlinWinter('2026-12-14', '14:00'), 'its occurrence is the original start');
  assert.equal(moved.extendedProps.recurring, true);
});

test('a drag of an event changed elsewhere meanwhile is refused, and the other change is kept', async () => {
  const body = simple('stale@example.org', 'Budget meeting', '20261216T100000', '20261216T110000', 'LOCATION:Room 1\n');
  const etag = await put(gwen, 'budget.ics', body);
  await openGrid(page, 'week', '2026-12-14');
  const event = gridEvent(page, 'Budget meeting');
  assert.equal(await event.count(), 1);

  // Another app changes the place while the grid is open.
  const elsewhere = body.replace('LOCATION:Room 1', 'LOCATION:Room 9 (changed in another app)');
  await put(gwen, 'budget.ics', elsewhere, { ifMatch: etag });
  const changed = await read(gwen, 'budget.ics');

  const g = await grid(page);
  const box = await event.boundingBox();
  const from = { x: box.x + box.width / 2, y: box.y + 12 };
  await drag(page, from, { x: from.x, y: from.y + 4 * g.slot });
  const said = await statusText(page, /changed meanwhile/);
  assert.ok(said.startsWith('The event changed meanwhile (perhaps in another app)'), `the status says why: "${said}"`);
  const now = await read(gwen, 'budget.ics');
  assert.equal(now.text, changed.text, 'the other app\'s change is kept, not overwritten');
  assert.equal(now.etag, changed.etag);
  await page.waitForTimeout(500);
  const shown = gridEvent(page, 'Budget meeting');
  assert.equal(await shown.count(), 1);
  assert.equal(await shown.locator('.ec-event-time').getAttribute('datetime'), '2026-12-16T10:00:00',
    'the event snaps back to 10:00');
  const inGrid = await page.evaluate(() => document.getElementById('grid').calendar.getEvents()
    .filter((e) => e.title === 'Budget meeting').map((e) => e.extendedProps.location));
  assert.deepEqual(inGrid, ['Room 9 (changed in another app)'], 'the grid now shows the event as it is');
});

test('a click on empty time makes a one-hour event; a drag across three slots makes a 90-minute one', async () => {
  await openGrid(page, 'week', '2027-01-11', { events: false });
  let g = await grid(page);
  await page.mouse.click(g.x('2027-01-14'), g.y('11:00') + g.slot / 3);
  const dialog = page.locator('#grid-create');
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await dialog.getByRole('heading', { name: 'New event' }).count(), 1);
  assert.equal(await dialog.locator('.create-when').innerText(), '2027-01-14 11:00 – 12:00', 'an hour from the clicked slot');
  const more = new URL(await dialog.getByRole('link', { name: 'More options' }).getAttribute('href'), server.base);
  assert.equal(more.pathname, '/calendar/new');
  assert.equal(more.searchParams.get('date'), '2027-01-14');
  assert.equal(more.searchParams.get('start'), '11:00');
  assert.equal(more.searchParams.get('end'), '12:00');
  assert.ok(await dialog.getByRole('button', { name: 'Cancel' }).isVisible());
  await dialog.getByLabel('Title').fill('Dentist');
  const response = await submit(page, dialog.getByRole('button', { name: 'Save' }));
  assert.equal(response.status(), 200);
  const address = new URL(page.url());
  assert.equal(address.pathname, '/calendar');
  assert.equal(address.searchParams.get('view'), 'week');
  assert.equal(address.searchParams.get('date'), '2027-01-14');
  assert.equal(address.searchParams.get('done'), 'saved');
  let made = await objectsTitled(gwen, 'Dentist');
  assert.equal(made.length, 1, 'the event is stored, seen over CalDAV');
  let [event] = vevents(made[0].text);
  assert.equal(prop(event, 'DTSTART').line, 'DTSTART;TZID=Europe/Berlin:20270114T110000', 'at 11:00');
  assert.equal(prop(event, 'DTEND').line, 'DTEND;TZID=Europe/Berlin:20270114T120000', 'for an hour');

  // A drag across 13:00, 13:30 and 14:00 on Friday.
  await openGrid(page, 'week', '2027-01-11');
  g = await grid(page);
  const x = g.x('2027-01-15');
  await drag(page, { x, y: g.y('13:00') + g.slot / 3 }, { x, y: g.y('14:00') + g.slot / 3 });
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await dialog.locator('.create-when').innerText(), '2027-01-15 13:00 – 14:30', 'the dragged range');
  await dialog.getByLabel('Title').fill('Workshop');
  await submit(page, dialog.getByRole('button', { name: 'Save' }));
  made = await objectsTitled(gwen, 'Workshop');
  assert.equal(made.length, 1);
  [event] = vevents(made[0].text);
  assert.equal(prop(event, 'DTSTART').line, 'DTSTART;TZID=Europe/Berlin:20270115T130000');
  assert.equal(prop(event, 'DTEND').line, 'DTEND;TZID=Europe/Berlin:20270115T143000', '90 minutes');

  // Cancel closes the dialog and makes nothing.
  await openGrid(page, 'week', '2027-01-11');
  g = await grid(page);
  await page.mouse.click(g.x('2027-01-12'), g.y('16:00') + g.slot / 3);
  await dialog.waitFor({ state: 'visible' });
  await dialog.getByLabel('Title').fill('Never saved');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await objectsTitled(gwen, 'Never saved')).length, 0);
});

test('the popover shows guests and reminders; Delete and Undo, for an event and for one occurrence', async () => {
  const body = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Grid test//EN
${BERLIN}BEGIN:VEVENT
UID:party@example.org
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Berlin:20270120T180000
DTEND;TZID=Europe/Berlin:20270120T200000
SUMMARY:Launch party
LOCATION:Roof terrace
DESCRIPTION:Bring snacks.
ORGANIZER;CN=Olga Organizer:mailto:olga@example.org
ATTENDEE;CN=Ann Example;PARTSTAT=ACCEPTED:mailto:ann@example.org
ATTENDEE;CN=Dan Example;PARTSTAT=DECLINED:mailto:dan@example.org
ATTENDEE;CN=Mia Example;PARTSTAT=TENTATIVE:mailto:mia@example.org
ATTENDEE;CN=Nat Example;PARTSTAT=NEEDS-ACTION:mailto:nat@example.org
X-KEEP:party
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Party
TRIGGER:-PT15M
END:VALARM
BEGIN:VALARM
ACTION:EMAIL
SUMMARY:Party over
DESCRIPTION:Party over
ATTENDEE:mailto:gwen@example.org
TRIGGER;RELATED=END:PT1H
END:VALARM
END:VEVENT
END:VCALENDAR
`;
  await put(gwen, 'party.ics', body);
  const before = await read(gwen, 'party.ics');
  await openGrid(page, 'week', '2027-01-18');
  await gridEvent(page, 'Launch party').click();
  const popover = page.locator('#event-popover');
  await popover.waitFor({ state: 'visible' });
  assert.equal(await popover.locator('#popover-title').innerText(), 'Launch party');
  assert.match(await popover.locator('.popover-time').innerText(), /2027-01-20 18:00/, 'the time');
  assert.match(await popover.locator('.popover-calendar').innerText(), /^Calendar: \S/, 'the calendar\'s name');
  assert.equal(await popover.locator('.popover-location').innerText(), 'Where: Roof terrace');
  assert.equal(await popover.locator('.popover-description').innerText(), 'Bring snacks.');
  const guests = popover.locator('div').filter({ has: page.getByRole('heading', { name: 'Guests' }) }).locator('li');
  assert.deepEqual(await guests.allInnerTexts(), [
    'Olga Organizer — organizer', 'Ann Example — accepted', 'Dan Example — declined', 'Mia Example — maybe',
    'Nat Example — not answered yet',
  ], 'the guests with their answers');
  const reminders = popover.locator('div').filter({ has: page.getByRole('heading', { name: 'Reminders' }) }).locator('li');
  assert.deepEqual(await reminders.allInnerTexts(), ['15 minutes before', '1 hour after the end (by email)'], 'the reminders in words');
  const { json: items } = await feed(page, '2027-01-18', '2027-01-25');
  const item = items.find((e) => e.title === 'Launch party');
  assert.deepEqual(Object.keys(item).sort(), ['allDay', 'backgroundColor', 'durationEditable', 'editable', 'end', 'extendedProps', 'id', 'start', 'startEditable', 'title']);
  assert.deepEqual(Object.keys(item.extendedProps).sort(), ['calendar', 'calendar_name', 'description', 'edit', 'etag', 'item',
    'kind', 'location', 'occurrence', 'people', 'recurring', 'reminders', 'time']);
  assert.deepEqual([item.start, item.end, item.allDay, item.editable], ['2027-01-20T18:00:00', '2027-01-20T20:00:00', false, true]);
  const props = item.extendedProps;
  assert.deepEqual([props.kind, props.calendar, props.item, props.occurrence, props.recurring], ['event', 'calendar', 'party.ics', null, false]);
  assert.equal(props.etag, before.etag, 'the ETag the grid writes back with (as CalDAV gives it)');
  assert.deepEqual(props.people.slice(0, 2), [{ name: 'Olga Organizer', answer: 'organizer' }, { name: 'Ann Example', answer: 'accepted' }]);
  const edit = popover.getByRole('link', { name: 'Edit' });
  assert.equal(decodeURIComponent(new URL(await edit.getAttribute('href'), server.base).pathname), '/calendar/events/calendar/party.ics');
  for (const name of ['Duplicate', 'Delete', 'Close']) assert.ok(await popover.getByRole('button', { name, exact: true }).isVisible(), name);
  await shotOf(page, 'grid-popover');

  // Delete asks nothing, and Undo puts it back.
  await popover.getByRole('button', { name: 'Delete', exact: true }).click();
  assert.equal(await statusText(page, /Deleted/), 'Deleted “Launch party”.');
  const undo = page.locator('#grid-status').getByRole('button', { name: 'Undo' });
  assert.ok(await undo.isVisible(), 'with Undo');
  assert.equal((await read(gwen, 'party.ics')).status, 404, 'gone over CalDAV');
  await page.waitForFunction(() => !document.getElementById('grid').calendar.getEvents().some((e) => e.title === 'Launch party'));
  await undo.click();
  assert.equal(await statusText(page, /Put back/), 'Put back “Launch party”.');
  const back = await read(gwen, 'party.ics');
  assert.equal(back.status, 200, 'back over CalDAV');
  assert.deepEqual(lines(back.text).map(unquoted), lines(before.text).map(unquoted), 'with the same content');
  await gridEvent(page, 'Launch party').waitFor();

  // One occurrence of a series: "Delete this occurrence" adds an EXDATE, Undo takes it away.
  const series = `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Grid test//EN
${BERLIN}BEGIN:VEVENT
UID:yoga@example.org
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Berlin:20270112T073000
DTEND;TZID=Europe/Berlin:20270112T083000
RRULE:FREQ=WEEKLY;COUNT=3
SUMMARY:Yoga
END:VEVENT
END:VCALENDAR
`;
  await put(gwen, 'yoga.ics', series);
  const seriesBefore = await read(gwen, 'yoga.ics');
  await openGrid(page, 'week', '2027-01-18');
  // 07:30 is above 08:00, where the grid starts: scroll it into view.
  const yoga = gridEvent(page, 'Yoga');
  await yoga.scrollIntoViewIfNeeded();
  await yoga.click();
  await popover.waitFor({ state: 'visible' });
  assert.match(await popover.locator('.popover-time').innerText(), /2027-01-19 07:30/);
  const remove = popover.getByRole('button', { name: 'Delete this occurrence' });
  assert.ok(await remove.isVisible(), 'for a series the button says "Delete this occurrence"');
  await remove.click();
  assert.equal(await statusText(page, /Deleted/), 'Deleted “Yoga”.');
  const without = await read(gwen, 'yoga.ics');
  assert.equal(without.status, 200, 'the series stays');
  const [master] = vevents(without.text);
  assert.match(prop(master, 'EXDATE')?.line ?? '', /20270119T073000/, 'an EXDATE for that occurrence');
  let { json } = await feed(page, '2027-01-11', '2027-02-01');
  assert.deepEqual(json.filter((e) => e.title === 'Yoga').map((e) => e.start.slice(0, 10)), ['2027-01-12', '2027-01-26'],
    'the other occurrences stay');
  await page.locator('#grid-status').getByRole('button', { name: 'Undo' }).click();
  assert.equal(await statusText(page, /Put back/), 'Put back “Yoga”.');
  const restored = await read(gwen, 'yoga.ics');
  assert.equal(prop(vevents(restored.text)[0], 'EXDATE'), null, 'the EXDATE goes again');
  assert.deepEqual(lines(restored.text).map(unquoted), lines(seriesBefore.text).map(unquoted), 'the series is as it was');
  ({ json } = await feed(page, '2027-01-11', '2027-02-01'));
  assert.deepEqual(json.filter((e) => e.title === 'Yoga').map((e) => e.start.slice(0, 10)), ['2027-01-12', '2027-01-19', '2027-01-26']);
});

async function shotOf(p, name) {
  await p.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

test('Duplicate in the popover makes a copy with a new UID at the same time, and opens it', async () => {
  await put(gwen, 'retro.ics', simple('retro@example.org', 'Sprint retro', '20270126T150000', '20270126T160000', 'LOCATION:Room 2\n'));
  await openGrid(page, 'week', '2027-01-25');
  await gridEvent(page, 'Sprint retro').click();
  const popover = page.locator('#event-popover');
  await popover.waitFor({ state: 'visible' });
  const response = await submit(page, popover.getByRole('button', { name: 'Duplicate' }));
  assert.equal(response.status(), 200);
  const path = decodeURIComponent(new URL(page.url()).pathname);
  assert.match(path, /^\/calendar\/events\/calendar\/[^/]+\.ics$/, 'the copy\'s form');
  assert.notEqual(path, '/calendar/events/calendar/retro.ics', 'not the original\'s');
  assert.equal(await page.getByRole('status').first().innerText(), 'This is the copy: change what you need and save.');
  assert.equal(await page.getByLabel('Title').inputValue(), 'Sprint retro');
  assert.equal(await page.getByRole('button', { name: 'Duplicate this event' }).count(), 1, 'the form has "Duplicate this event" too');
  const copies = await objectsTitled(gwen, 'Sprint retro');
  assert.equal(copies.length, 2, 'two objects now');
  const [a, b] = copies.map((c) => vevents(c.text)[0]);
  assert.notEqual(prop(a, 'UID').value, prop(b, 'UID').value, 'different UIDs');
  assert.equal(prop(a, 'DTSTART').line, prop(b, 'DTSTART').line, 'the same start');
  assert.equal(prop(a, 'DTSTART').line, 'DTSTART;TZID=Europe/Berlin:20270126T150000');
  assert.equal(prop(a, 'DTEND').line, prop(b, 'DTEND').line, 'the same end');
  assert.ok(copies.some((c) => c.name === path.split('/').pop()), 'the form is the copy\'s');
});

test('the status line and the popover show only what applies: nothing on arrival, Undo only after a delete, no Delete for a task', async () => {
  await put(gwen, 'check.ics', simple('check@example.org', 'Quick check', '20270316T100000', '20270316T110000'));
  await put(gwen, 'plants.ics', `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Grid test//EN
BEGIN:VTODO
UID:plants@example.org
DTSTAMP:20261101T000000Z
DUE;VALUE=DATE:20270317
SUMMARY:Water plants
STATUS:NEEDS-ACTION
END:VTODO
END:VCALENDAR
`);
  await openGrid(page, 'week', '2027-03-15');
  const status = page.locator('#grid-status');
  const undo = status.getByRole('button', { name: 'Undo' });
  const seen = {};
  const expected = {};
  const note = async (name, value, wanted) => { seen[name] = await value; expected[name] = wanted; };
  await note('on arrival: the status line shows', status.isVisible(), false);
  await note('on arrival: an Undo button shows', undo.isVisible(), false);

  // A task's popover: it opens the task list, and has nothing to delete or copy.
  const task = page.locator('#grid .ec-event').filter({ hasText: 'Task: Water plants' });
  await note('the task is in the all-day row', page.locator('#grid .ec-all-day .ec-event').filter({ hasText: 'Task: Water plants' }).count(), 1);
  // Dragging the task a day on asks the server for nothing and leaves it on its day.
  const asked = [];
  const listen = (request) => { if (request.url().includes('/calendar/api/')) asked.push(request.url()); };
  page.on('request', listen);
  const before = await task.boundingBox();
  const columns = (await grid(page)).columns;
  await drag(page, { x: before.x + 20, y: before.y + before.height / 2 },
    { x: before.x + 20 + columns['2027-03-17'].width, y: before.y + before.height / 2 });
  await page.waitForTimeout(700);
  page.off('request', listen);
  await note('a drag of the task: requests to change it', asked.length, 0);
  await note('a drag of the task: the status line says', status.locator('span').textContent(), '');
  const after = await task.boundingBox();
  await note('a drag of the task: it stays on its day', Math.abs(after.x - before.x) < 2, true);
  await page.keyboard.press('Escape');
  await page.locator('#event-popover').evaluate((d) => d.open && d.close());
  await task.click();
  const popover = page.locator('#event-popover');
  await popover.waitFor({ state: 'visible' });
  await note('task popover: title', popover.locator('#popover-title').innerText(), 'Task: Water plants');
  const open = popover.getByRole('link', { name: 'Open tasks' });
  await note('task popover: "Open tasks" link', open.getAttribute('href'), '/calendar/tasks');
  await note('task popover: a Delete button shows', popover.getByRole('button', { name: /^Delete/ }).isVisible(), false);
  await note('task popover: a Duplicate button shows', popover.getByRole('button', { name: 'Duplicate' }).isVisible(), false);
  await note('task popover: a Guests heading shows', popover.getByRole('heading', { name: 'Guests' }).isVisible(), false);
  await note('task popover: a Where line shows', popover.locator('.popover-location').isVisible(), false);
  await popover.getByRole('button', { name: 'Close' }).click();
  await popover.waitFor({ state: 'hidden' });

  // A resize says "Saved" and has nothing to undo.
  const g = await grid(page);
  const event = gridEvent(page, 'Quick check');
  await event.hover();
  const edge = await event.locator('.ec-resizer').boundingBox();
  await drag(page, { x: edge.x + edge.width / 2, y: edge.y + edge.height / 2 }, { x: edge.x + edge.width / 2, y: edge.y + edge.height / 2 + g.slot });
  await note('after a resize: the status', statusText(page, /Saved/), 'Saved: “Quick check” now at 2027-03-16 10:00.');
  await note('after a resize: an Undo button shows', undo.isVisible(), false);
  assert.equal(prop(vevents((await read(gwen, 'check.ics')).text)[0], 'DTEND').line, 'DTEND;TZID=Europe/Berlin:20270316T113000');

  // A delete has Undo.
  await event.click();
  await popover.waitFor({ state: 'visible' });
  await popover.getByRole('button', { name: 'Delete', exact: true }).click();
  await note('after a delete: the status', statusText(page, /Deleted/), 'Deleted “Quick check”.');
  await note('after a delete: an Undo button shows', undo.isVisible(), true);
  await undo.click();
  await note('after Undo: the status', statusText(page, /Put back/), 'Put back “Quick check”.');
  await note('after Undo: an Undo button shows', undo.isVisible(), false);
  assert.equal((await read(gwen, 'check.ics')).status, 200, 'the event is back');
  assert.deepEqual(seen, expected, 'what the page shows');
});

test('a three-day event is one bar in the all-day row and in the month; overlapping events sit side by side', async () => {
  await put(gwen, 'trip.ics', `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Grid test//EN
BEGIN:VEVENT
UID:trip@example.org
DTSTAMP:20261101T000000Z
DTSTART;VALUE=DATE:20270202
DTEND;VALUE=DATE:20270205
SUMMARY:Trip to Lisbon
END:VEVENT
END:VCALENDAR
`);
  await put(gwen, 'one.ics', simple('one@example.org', 'Interview', '20270201T100000', '20270201T110000'));
  await put(gwen, 'two.ics', simple('two@example.org', 'Lunch talk', '20270201T103000', '20270201T113000'));
  await put(gwen, 'rent.ics', `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Grid test//EN
BEGIN:VTODO
UID:rent@example.org
DTSTAMP:20261101T000000Z
DUE;VALUE=DATE:20270203
SUMMARY:Pay rent
STATUS:NEEDS-ACTION
END:VTODO
END:VCALENDAR
`);
  await openGrid(page, 'week', '2027-02-01');
  await shotOf(page, 'grid-week');
  const g = await grid(page);
  const trip = page.locator('#grid .ec-all-day .ec-event').filter({ hasText: 'Trip to Lisbon' });
  assert.equal(await trip.count(), 1, 'one bar, not one per day');
  const bar = await trip.boundingBox();
  const tue = g.columns['2027-02-02'];
  const thu = g.columns['2027-02-04'];
  const where = JSON.stringify({ bar, tue, thu });
  assert.ok(Math.abs(bar.x - tue.x) < 8, `from Tuesday ${where}`);
  const right = bar.x + bar.width;
  assert.ok(right > thu.x + thu.width / 2 && right <= thu.x + thu.width + 2, `to Thursday ${where}`);
  const task = page.locator('#grid .ec-all-day .ec-event').filter({ hasText: 'Task: Pay rent' });
  assert.equal(await task.count(), 1, 'an open task shows on its due day in the all-day row');
  const { json } = await feed(page, '2027-02-01', '2027-02-08');
  const taskItem = json.find((e) => e.title === 'Task: Pay rent');
  assert.equal(taskItem.allDay, true);
  assert.equal(taskItem.editable, false, 'a task cannot be dragged');
  assert.equal(taskItem.extendedProps.kind, 'task');
  const tripItem = json.find((e) => e.title === 'Trip to Lisbon');
  assert.deepEqual([tripItem.start, tripItem.end, tripItem.allDay], ['2027-02-02', '2027-02-05', true]);

  const one = await gridEvent(page, 'Interview').boundingBox();
  const two = await gridEvent(page, 'Lunch talk').boundingBox();

  await openGrid(page, 'month', '2027-02-01');
  const monthTrip = page.locator('#grid .ec-event').filter({ hasText: 'Trip to Lisbon' });
  assert.equal(await monthTrip.count(), 1, 'one bar in the month too');
  const monthBar = await monthTrip.boundingBox();
  const cellWidth = await page.locator('#grid .ec-day').first().evaluate((e) => e.getBoundingClientRect().width);
  assert.ok(monthBar.width > 2.5 * cellWidth, `the bar spans the three days (${monthBar.width} vs a day ${cellWidth})`);

  // Last: Interview 10:00–11:00 and Lunch talk 10:30–11:30 on Monday.
  assert.ok(one.y < two.y + two.height && two.y < one.y + one.height, 'their times overlap');
  assert.notEqual(one.x, two.x, 'they do not start at the same x');
  const apart = one.x + one.width <= two.x + 1 || two.x + two.width <= one.x + 1;
  assert.ok(apart, `side by side, not on top of each other (${JSON.stringify(one)} / ${JSON.stringify(two)})`);
});

test('the keys: d shows one day, w the week again, t today, j and k move', async () => {
  await openGrid(page, 'week', '2027-02-01');
  const nav = page.getByRole('navigation', { name: 'Dates and views' });
  const keys = Object.fromEntries(await nav.locator('a[aria-keyshortcuts]').evaluateAll((links) =>
    links.map((a) => [a.textContent.trim(), a.getAttribute('aria-keyshortcuts')])));
  assert.deepEqual(keys, { '‹ Earlier': 'k p', Today: 't', 'Later ›': 'j n', Month: 'm', Week: 'w', Day: 'd', Agenda: 'a', 'New event': 'c' },
    'the nav says its keys');
  const params = () => new URL(page.url()).searchParams;
  const press = async (key, { gridded = true } = {}) => {
    const fed = gridded && page.waitForResponse((r) => r.url().includes('/calendar/feed'));
    await Promise.all([page.waitForNavigation(), page.keyboard.press(key)]);
    await fed;
    await page.waitForTimeout(150);
  };
  const columns = () => page.locator('#grid .ec-body .ec-day').count();
  assert.equal(await columns(), 7, 'the week has seven day columns');
  assert.equal(await page.locator('#grid .ec-col-head').first().locator('time').getAttribute('datetime'), '2027-02-01',
    'the week starts on Monday');

  await press('d');
  assert.equal(params().get('view'), 'day');
  assert.equal(params().get('date'), '2027-02-01');
  assert.equal(await columns(), 1, 'd: one day column');
  await page.waitForSelector('#grid .ec-event');
  assert.deepEqual((await page.locator('#grid .ec-body .ec-event-title').allInnerTexts()).sort(), ['Interview', 'Lunch talk'],
    'that day\'s events');
  assert.equal(await page.evaluate(() => document.getElementById('grid').calendar.getView().type), 'timeGridDay');

  await press('j');
  assert.equal(params().get('date'), '2027-02-02', 'j: the next day');
  await press('k');
  assert.equal(params().get('date'), '2027-02-01', 'k: back');
  await press('w');
  assert.equal(params().get('view'), 'week');
  assert.equal(await columns(), 7, 'w: seven columns again');
  await press('t');
  assert.equal(params().get('view'), 'week');
  assert.equal(params().get('date'), berlinToday(), 't: today');
  const today = berlinToday();
  const shown = await page.locator('#grid .ec-col-head time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime').slice(0, 10)));
  assert.ok(shown.includes(today), `the week of today (${today}) is shown: ${shown.join(', ')}`);
  await press('m');
  assert.equal(params().get('view'), 'month', 'm: the month');
  assert.equal(await page.evaluate(() => document.getElementById('grid').calendar.getView().type), 'dayGridMonth');
  await press('a', { gridded: false });
  assert.equal(params().get('view'), 'agenda', 'a: the agenda');
  await press('c', { gridded: false });
  assert.equal(new URL(page.url()).pathname, '/calendar/new', 'c: a new event');
});

test('the week grid is 720px tall, in 30-minute slots, scrolled to 08:00', async () => {
  await openGrid(page, 'week', '2027-02-01');
  const box = await page.locator('#grid .ec').boundingBox();
  assert.ok(Math.abs(box.height - 720) < 2, `720px tall (${box.height})`);
  const g = await grid(page);
  const labels = await page.locator('#grid .ec-body .ec-sidebar time').evaluateAll((ts) => ts.map((t) => t.textContent.trim()));
  assert.equal(labels.length, 24, 'an hour label per hour');
  const hourHeight = await page.locator('#grid .ec-body .ec-sidebar .ec-slot').nth(1).evaluate((e) => e.getBoundingClientRect().height);
  assert.ok(Math.abs(hourHeight - 2 * g.slot) < 1, 'two slots an hour: 30 minutes each');
  const interview = await gridEvent(page, 'Interview').boundingBox();
  assert.ok(Math.abs(interview.height - 2 * g.slot) < 3, 'a one-hour event is two slots tall');
  const visible = await page.evaluate(() => {
    const main = document.querySelector('#grid .ec-main');
    const header = document.querySelector('#grid .ec-header').getBoundingClientRect();
    const view = main.getBoundingClientRect();
    const at = (hh) => [...document.querySelectorAll('#grid .ec-body .ec-sidebar time')]
      .find((t) => t.textContent.trim() === hh).parentElement.getBoundingClientRect();
    return { top: Math.max(view.top, header.bottom), bottom: view.bottom, eight: at('08:00'), six: at('06:00') };
  });
  assert.ok(visible.eight.top >= visible.top - visible.eight.height / 2 && visible.eight.top < visible.top + visible.eight.height,
    `08:00 is at the top of the visible grid (${JSON.stringify(visible)})`);
  assert.ok(visible.six.bottom <= visible.top + 1, '06:00 is scrolled out of sight');
});

test('reminders set in the form, and reminders the form cannot say kept as set', async () => {
  await put(gwen, 'dentist-reminder.ics', simple('remind@example.org', 'Physio', '20270209T090000', '20270209T100000',
    `ATTENDEE;CN=Ann Example;PARTSTAT=ACCEPTED:mailto:ann@example.org
ATTENDEE;CN=Dan Example;PARTSTAT=NEEDS-ACTION:mailto:dan@example.org
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Physio
TRIGGER:-PT10M
END:VALARM
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Physio
TRIGGER:-PT1H
END:VALARM
`));
  await page.goto(`${server.base}/calendar/events/calendar/dentist-reminder.ics`);
  const select = page.getByLabel('Reminder');
  const options = await select.locator('option').allInnerTexts();
  assert.ok(options[0].startsWith('Keep as set: '), `two alarms: "Keep as set: …" first (${options[0]})`);
  assert.deepEqual(options.slice(1), ['No reminder', 'At the start', '5 minutes before', '10 minutes before', '15 minutes before',
    '30 minutes before', '1 hour before', '2 hours before', '1 day before', '2 days before', '1 week before'], 'the choices');
  assert.equal(await select.inputValue(), 'keep');
  const values = await select.locator('option').evaluateAll((os) => os.map((o) => o.value));
  assert.equal(values[1], 'none', 'No reminder is "none"');
  const guests = page.locator('.guests');
  assert.equal(await guests.getByRole('heading', { name: 'Guests' }).count(), 1, 'a Guests heading');
  assert.deepEqual((await guests.locator('li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ')),
    ['Ann Example — accepted', 'Dan Example — not answered yet']);

  await select.selectOption({ label: '15 minutes before' });
  await submit(page, page.getByRole('button', { name: 'Save', exact: true }));
  assert.equal(new URL(page.url()).searchParams.get('done'), 'saved');
  const saved = await read(gwen, 'dentist-reminder.ics');
  const alarms = saved.text.match(/BEGIN:VALARM[\s\S]*?END:VALARM/g) ?? [];
  assert.equal(alarms.length, 1, 'one VALARM replaces the old ones');
  assert.ok(lines(alarms[0]).includes('TRIGGER:-PT15M'), alarms[0]);
  assert.ok(lines(alarms[0]).includes('ACTION:DISPLAY'), alarms[0]);
  await page.goto(`${server.base}/calendar/events/calendar/dentist-reminder.ics`);
  assert.equal(await page.getByLabel('Reminder').inputValue(), '-PT15M', 'the form shows the choice again');

  // A sound alarm from another app: "Keep as set", and it stays on save.
  const audio = `BEGIN:VALARM
ACTION:AUDIO
TRIGGER:-PT20M
ATTACH;VALUE=URI:Chord
X-APPLE-DEFAULT-ALARM:FALSE
END:VALARM
`;
  await put(gwen, 'audio.ics', simple('audio@example.org', 'Piano lesson', '20270210T170000', '20270210T180000', audio));
  const before = await read(gwen, 'audio.ics');
  await page.goto(`${server.base}/calendar/events/calendar/audio.ics`);
  assert.equal(await page.getByLabel('Reminder').inputValue(), 'keep', '"Keep as set" is chosen');
  assert.match(await page.getByLabel('Reminder').locator('option:checked').innerText(), /^Keep as set: 20 minutes before/);
  await page.getByLabel('Title').fill('Piano lesson (Ms Ray)');
  await submit(page, page.getByRole('button', { name: 'Save', exact: true }));
  const after = await read(gwen, 'audio.ics');
  const keptAlarm = after.text.match(/BEGIN:VALARM[\s\S]*?END:VALARM/g) ?? [];
  assert.equal(keptAlarm.length, 1);
  assert.deepEqual(lines(keptAlarm[0]), lines(before.text.match(/BEGIN:VALARM[\s\S]*?END:VALARM/)[0]), 'the sound alarm is kept as it was');
  assert.ok(lines(after.text).includes('SUMMARY:Piano lesson (Ms Ray)'));
});

test('"this and the following occurrences" from the 3rd of five splits the series; Delete… with it ends the series', async () => {
  await put(gwen, 'course.ics', `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Grid test//EN
BEGIN:VEVENT
UID:course@example.org
DTSTAMP:20261101T000000Z
DTSTART;TZID=Europe/Berlin:20270208T090000
DTEND;TZID=Europe/Berlin:20270208T100000
RRULE:FREQ=WEEKLY;COUNT=5
SUMMARY:Spanish course
END:VEVENT
END:VCALENDAR
`);
  // The third, on Monday 22 February, opened from the grid's popover.
  await openGrid(page, 'week', '2027-02-22');
  await gridEvent(page, 'Spanish course').click();
  const popover = page.locator('#event-popover');
  await popover.waitFor({ state: 'visible' });
  const edit = popover.getByRole('link', { name: 'Edit' });
  const href = new URL(await edit.getAttribute('href'), server.base);
  assert.equal(href.searchParams.get('occurrence'), String(berlinWinter('2027-02-22', '09:00')), 'Edit opens this occurrence');
  await submit(page, edit);
  const repeats = page.getByRole('group', { name: 'This event repeats. Change' });
  for (const name of ['only this occurrence', 'this and the following occurrences', 'the whole series']) {
    assert.equal(await repeats.getByRole('radio', { name }).count(), 1, name);
  }
  await repeats.getByRole('radio', { name: 'this and the following occurrences' }).check();
  await page.getByLabel('Title').fill('Spanish course B1');
  await submit(page, page.getByRole('button', { name: 'Save', exact: true }));
  assert.equal(new URL(page.url()).searchParams.get('done'), 'saved');

  const old = await read(gwen, 'course.ics');
  const [master] = vevents(old.text);
  const rule = prop(master, 'RRULE').value;
  assert.match(rule, /UNTIL=/, `the old series ends (${rule})`);
  assert.doesNotMatch(rule, /COUNT=/, 'COUNT goes');
  assert.equal(prop(master, 'SUMMARY').value, 'Spanish course', 'the old series keeps its title');
  assert.equal(prop(master, 'DTSTART').line, 'DTSTART;TZID=Europe/Berlin:20270208T090000');
  const fresh = await objectsTitled(gwen, 'Spanish course B1');
  assert.equal(fresh.length, 1, 'a new object');
  const [split] = vevents(fresh[0].text);
  assert.notEqual(prop(split, 'UID').value, 'course@example.org', 'with a new UID');
  assert.equal(prop(split, 'DTSTART').line, 'DTSTART;TZID=Europe/Berlin:20270222T090000', 'from that occurrence');
  let { json } = await feed(page, '2027-02-01', '2027-03-29');
  const titled = (t) => json.filter((e) => e.title === t).map((e) => e.start.slice(0, 10));
  assert.deepEqual(titled('Spanish course'), ['2027-02-08', '2027-02-15'], 'the old series has two occurrences');
  assert.equal(titled('Spanish course B1')[0], '2027-02-22', 'the new title from the 22nd');

  // Delete… with "this and the following" on the new series' second occurrence.
  await openGrid(page, 'week', '2027-03-01');
  await gridEvent(page, 'Spanish course B1').click();
  await popover.waitFor({ state: 'visible' });
  await submit(page, popover.getByRole('link', { name: 'Edit' }));
  await page.getByRole('group', { name: 'This event repeats. Change' })
    .getByRole('radio', { name: 'this and the following occurrences' }).check();
  await page.getByText('Delete…').click();
  await submit(page, page.getByRole('button', { name: 'Yes, delete' }));
  assert.equal(new URL(page.url()).searchParams.get('done'), 'deleted');
  ({ json } = await feed(page, '2027-02-01', '2027-03-29'));
  assert.deepEqual(titled('Spanish course B1'), ['2027-02-22'], 'the new series now ends before 1 March');
  assert.deepEqual(titled('Spanish course'), ['2027-02-08', '2027-02-15']);
  const ended = await read(gwen, fresh[0].name);
  assert.match(prop(vevents(ended.text)[0], 'RRULE').value, /UNTIL=/);
});

test('the feed refuses a long range; another account and a missing token change nothing', async () => {
  await openGrid(page, 'week', '2027-03-08', { events: false });
  const long = await feed(page, '2027-01-01', '2027-04-11');
  assert.equal(long.status, 400, 'a 100-day range is refused');
  assert.equal(typeof long.json?.error, 'string', 'with {"error": "..."}');
  assert.ok(long.json.error.length > 0);
  const backwards = await feed(page, '2027-03-08', '2027-03-01');
  assert.equal(backwards.status, 400, 'an end before the start too');
  assert.equal((await feed(page, '2027-03-01', '2027-05-02')).status, 200, '62 days are fine');

  const body = simple('private@example.org', 'Private matter', '20270309T110000', '20270309T120000', 'LOCATION:Secret place\n');
  await put(gwen, 'private.ics', body);
  const before = await read(gwen, 'private.ics');

  // Hal, logged in in another browser, has his own calendar named "calendar" too.
  const halContext = await browser.newContext({ timezoneId: zone, viewport });
  const halPage = await halContext.newPage();
  await logIn(halPage, server.base, hal);
  await openGrid(halPage, 'week', '2027-03-08', { events: false });
  const halFeed = await feed(halPage, '2027-03-08', '2027-03-15');
  assert.equal(halFeed.status, 200);
  assert.deepEqual(halFeed.json.filter((e) => e.title === 'Private matter'), [], 'hal\'s feed does not show gwen\'s event');
  assert.equal(await halPage.locator('#grid .ec-event').count(), 0);
  const halCsrf = await halPage.locator('#grid').getAttribute('data-csrf');
  const attempt = {
    csrf: halCsrf, calendar: 'calendar', item: 'private.ics', etag: before.etag.replace(/"/g, ''), occurrence: '',
    all_day: '', start: '2027-03-10T11:00', end: '2027-03-10T12:00', tz: zone,
  };
  const { json: gwenFeed } = await feed(page, '2027-03-08', '2027-03-15');
  const etagInFeed = gwenFeed.find((e) => e.title === 'Private matter').extendedProps.etag;
  for (const etag of [attempt.etag, etagInFeed, before.etag]) {
    const tried = await postForm(halPage, '/calendar/api/reschedule', { ...attempt, etag });
    assert.ok([403, 404, 409].includes(tried.status), `hal's reschedule of gwen's event is refused (${tried.status} ${tried.text})`);
  }
  for (const calendar of ['gwen/calendar', '../gwen/calendar', '/dav/calendars/gwen/calendar/']) {
    const tried = await postForm(halPage, '/calendar/api/reschedule', { ...attempt, calendar, etag: etagInFeed });
    assert.ok([400, 403, 404, 409].includes(tried.status), `with calendar=${calendar}: refused (${tried.status})`);
  }
  const deleted = await postForm(halPage, '/calendar/api/delete', { ...attempt, etag: etagInFeed });
  assert.ok([403, 404, 409].includes(deleted.status), `hal's delete is refused (${deleted.status})`);
  const form = await halPage.goto(`${server.base}/calendar/events/calendar/private.ics`);
  assert.equal(form.status(), 404, 'hal cannot open gwen\'s event by its name');
  assert.ok(!(await halPage.content()).includes('Private matter'));
  const overDav = await read(gwen, 'private.ics', hal);
  assert.ok([403, 404].includes(overDav.status), `hal cannot read it over CalDAV either (${overDav.status})`);
  assert.ok(!overDav.text.includes('Secret place'));
  await halContext.close();
  let now = await read(gwen, 'private.ics');
  assert.equal(now.text, before.text, 'gwen\'s event is unchanged');
  assert.equal(now.etag, before.etag);

  // Gwen's own change without the page's token, or with a wrong one.
  const csrf = await page.locator('#grid').getAttribute('data-csrf');
  assert.ok(csrf && csrf.length >= 16, 'the grid carries the form token');
  const own = { ...attempt, csrf, etag: etagInFeed };
  const { csrf: _, ...noToken } = own;
  assert.equal((await postForm(page, '/calendar/api/reschedule', noToken)).status, 403, 'no token: 403');
  assert.equal((await postForm(page, '/calendar/api/reschedule', { ...own, csrf: 'f'.repeat(csrf.length) })).status, 403, 'a wrong token: 403');
  assert.equal((await postForm(page, '/calendar/api/delete', { ...own, csrf: 'nope' })).status, 403, 'delete with a wrong token: 403');
  now = await read(gwen, 'private.ics');
  assert.equal(now.text, before.text, 'still unchanged');
  // With the token it works (the same request, so the refusals were about the token).
  const done = await postForm(page, '/calendar/api/reschedule', own);
  assert.equal(done.status, 200, done.text);
  assert.equal(prop(vevents((await read(gwen, 'private.ics')).text)[0], 'DTSTART').line, 'DTSTART;TZID=Europe/Berlin:20270310T110000');
});

test('dark mode: the grid is dark; on a 390px phone the week and month do not scroll sideways', async () => {
  await put(gwen, 'long.ics', simple('long@example.org', 'Quarterly planning with the whole regional team and guests',
    '20270203T140000', '20270203T150000'));
  const dark = await browser.newContext({ timezoneId: zone, viewport: { width: 1280, height: 1100 }, colorScheme: 'dark' });
  await dark.addCookies(await context.cookies());
  const darkPage = await dark.newPage();
  await openGrid(darkPage, 'week', '2027-02-01');
  const background = async (p) => p.evaluate(() => {
    let element = document.querySelector('#grid .ec-body .ec-day');
    while (element) {
      const colour = getComputedStyle(element).backgroundColor;
      const parts = colour.match(/[\d.]+/g).map(Number);
      if (parts.length < 4 || parts[3] > 0.5) return parts.slice(0, 3);
      element = element.parentElement;
    }
    return [255, 255, 255];
  });
  const luminance = ([r, g, b]) => (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  const darkBackground = await background(darkPage);
  assert.ok(luminance(darkBackground) < 0.25, `the grid's background is dark (rgb ${darkBackground})`);
  const ink = await darkPage.locator('#grid .ec-col-head').first().evaluate((e) => getComputedStyle(e).color);
  const inkLevel = luminance(ink.match(/[\d.]+/g).map(Number).slice(0, 3));
  assert.ok(inkLevel > 0.6, `its day names are light (${ink})`);
  await darkPage.screenshot({ path: join(shots, 'grid-week-dark.png'), fullPage: true });
  const lightBackground = await background(page);
  assert.ok(luminance(lightBackground) > 0.75, `in light mode it is light (rgb ${lightBackground})`);
  await dark.close();

  const phone = await browser.newContext({ timezoneId: zone, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await phone.addCookies(await context.cookies());
  const phonePage = await phone.newPage();
  const sideways = () => phonePage.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, width: document.documentElement.clientWidth,
    wide: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
      && getComputedStyle(e).visibility !== 'hidden' && !e.closest('[hidden], dialog:not([open])')).slice(0, 5).map((e) => e.tagName + '.' + e.className),
  }));
  for (const view of ['week', 'month']) {
    await openGrid(phonePage, view, '2027-02-01');
    const s = await sideways();
    assert.ok(s.scroll <= s.width, `${view}: the page does not scroll sideways (${s.scroll} > ${s.width}; ${s.wide.join(', ')})`);
  }
  // In the month view, the event titles stay on one line each.
  const titles = await phonePage.locator('#grid .ec-event-title').evaluateAll((ts) => ts.map((t) => {
    const style = getComputedStyle(t);
    const line = style.lineHeight === 'normal' ? parseFloat(style.fontSize) * 1.3 : parseFloat(style.lineHeight);
    return { text: t.textContent, height: t.getBoundingClientRect().height, line };
  }));
  assert.ok(titles.length >= 3, 'the month shows the events');
  for (const t of titles) assert.ok(t.height <= t.line * 1.5, `"${t.text}" stays on one line (${t.height}px, a line is ${t.line}px)`);
  await phonePage.screenshot({ path: join(shots, 'grid-month-phone.png'), fullPage: true });
  await phone.close();
});
