// The metrics dashboard for management (issue 13), in headless Chromium
// driven by Playwright: a generated log (../shared/tools/genlog.py) up to
// Sunday 28 April 2024, then four whole weeks and a running week of
// hand-written lines in the server's own format, so that the period, the
// core figures, their change against the weeks before, the ranked shares
// and the retention cohort asserted here are right by construction.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repo, bin, shots, startServer, launchBrowser, nuErrors } from './support.mjs';

const staff = { name: 'boss', email: 'boss@example.org', password: 'the staff password' };
const desktop = { width: 1280, height: 900 };
const phone = { width: 390, height: 844 };

const DAVX5 = 'DAVx5/4.4.2-ose (2024/01/01; dav4jvm; okhttp/4.12) Android/14';
const THUNDERBIRD = 'Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.10.1';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A line in the server's format on `date` (UTC, YYYY-MM-DD). */
function line(date, { user = '-', method = 'GET', path = '/', status = 200, bytes = 1000, agent, auth = 'none', bodyIn = 0, extra = '' }) {
  const [y, m, d] = date.split('-').map(Number);
  const stamp = `${String(d).padStart(2, '0')}/${MONTHS[m - 1]}/${y}:10:00:00 +0000`;
  return `203.0.113.7 - ${user} [${stamp}] "${method} ${path} HTTP/1.1" ${status} ${bytes} "-" "${agent}" dur_us=900 auth=${auth} in=${bodyIn}${extra}\n`;
}

function addDays(date, n) {
  const t = new Date(`${date}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + n);
  return t.toISOString().slice(0, 10);
}

const sync = (date, user, agent) => line(date, { user, method: 'PROPFIND', path: `/dav/calendars/${user}/calendar/`, status: 207, agent, auth: 'password', bodyIn: 250 });
const signup = (date, name) => line(date, { user: name, method: 'POST', path: '/signup', status: 303, agent: FIREFOX, extra: ' ev=signup' });

/**
 * The hand-written log. The four weeks 29 Apr – 26 May 2024: each week six
 * DAVx5 requests by ana (one of them a change), two Thunderbird requests by
 * ben and two Firefox requests (sign-ups, and the home page when a week has
 * one sign-up): 40 requests, DAVx5 60 %, 5 sign-ups, 40 kB sent and 8 kB
 * received. The four weeks before hold 4 more sign-ups; the week of 27 May
 * (running: the data stops on Wednesday 29 May) three requests and a
 * sign-up that no figure may count. Four people sign up in the week of
 * 1 January; two of them use the web calendar 31 days later.
 */
function handLog() {
  let log = '';
  for (const [i, date] of ['2024-01-02', '2024-01-02', '2024-01-03', '2024-01-03'].entries()) log += signup(date, `early${i}`);
  for (const i of [0, 1]) log += line('2024-02-03', { user: `early${i}`, path: '/calendar', agent: FIREFOX, auth: 'session' });
  for (const [i, date] of ['2024-04-03', '2024-04-10', '2024-04-17', '2024-04-24'].entries()) log += signup(date, `april${i}`);
  for (let week = 0; week < 4; week++) {
    const monday = addDays('2024-04-29', 7 * week);
    for (let day = 0; day < 5; day++) log += sync(addDays(monday, day), 'ana', DAVX5);
    log += line(addDays(monday, 5), { user: 'ana', method: 'PUT', path: '/dav/calendars/ana/calendar/e.ics', status: 204, agent: DAVX5, auth: 'password', bodyIn: 250, extra: ' item=event ev=sync_write' });
    log += sync(addDays(monday, 1), 'ben', THUNDERBIRD) + sync(addDays(monday, 3), 'ben', THUNDERBIRD);
    log += signup(addDays(monday, 2), `may${week}`);
    log += week === 3 ? signup(addDays(monday, 4), 'may4') : line(addDays(monday, 4), { agent: FIREFOX });
  }
  log += sync('2024-05-27', 'ana', DAVX5) + signup('2024-05-28', 'late') + sync('2024-05-29', 'ana', DAVX5);
  return log;
}

let server, browser, generated;

before(async () => {
  server = await startServer({
    prepare: (env, dir) => {
      execFileSync(bin, ['user', 'add', staff.name, '--email', staff.email, '--admin', '--password-stdin'],
        { env, input: staff.password + '\n', stdio: ['pipe', 'pipe', 'pipe'] });
      const sample = join(dir, 'sample.log');
      // 119 days from Monday 1 January 2024: the last is Sunday 28 April.
      execFileSync('python3', [join(repo, '../shared/tools/genlog.py'), '--lines', '20000', '--days', '119', '--users', '200', '--seed', '5', '-o', sample]);
      generated = readFileSync(sample, 'utf8');
      const hand = join(dir, 'hand.log');
      writeFileSync(hand, handLog());
      execFileSync(bin, ['metrics', 'collect', sample, hand], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function staffPage(options = {}) {
  const context = await browser.newContext({ viewport: desktop, ...options });
  const page = await context.newPage();
  await page.goto(`${server.base}/dashboard`);
  assert.equal(new URL(page.url()).pathname, '/login', 'a visitor is sent to log in');
  await page.getByLabel('User name').fill(staff.name);
  await page.getByLabel('Password').fill(staff.password);
  await Promise.all([page.waitForNavigation(), page.locator('main').getByRole('button', { name: 'Log in' }).click()]);
  assert.equal(new URL(page.url()).pathname, '/dashboard');
  return { context, page };
}

const tile = (page, title) => page.locator('.tile').filter({ has: page.getByRole('heading', { level: 3, name: title, exact: true }) });

/** Generated lines in the four weeks 1 – 28 April (every line is a request). */
function generatedInApril() {
  return generated.split('\n').filter((l) => /\[(0[1-9]|1\d|2[0-8])\/Apr\/2024:/.test(l)).length;
}

test('the period is whole dated weeks; the core figures compare with the weeks before, the running week is left out', async () => {
  const { context, page } = await staffPage();
  assert.equal(await page.locator('#period-heading').innerText(), 'The last 12 whole weeks: 4 Mar – 26 May 2024', 'the default: 12 weeks');
  await Promise.all([page.waitForNavigation(), page.getByRole('navigation', { name: 'Period' }).getByRole('link', { name: '4 weeks' }).click()]);
  assert.equal(await page.locator('#period-heading').innerText(), 'The last 4 whole weeks: 29 Apr – 26 May 2024');
  const period = await page.locator('section.period').innerText();
  assert.match(period, /compare them with the 4 weeks before: 1 – 28 Apr 2024\./);
  assert.match(period, /The week of 27 May – 2 Jun 2024 is still being counted \(the data reaches Wed 29 May 2024\): it is left out of the figures and comparisons/);

  const signups = tile(page, 'Sign-ups');
  assert.equal(await signups.locator('.figure').innerText(), '5', 'five sign-ups in the four weeks (not the one of the running week)');
  assert.equal(await signups.locator('.delta').innerText(), '+25 %', '5 against 4');
  assert.match(await signups.locator('.change').innerText(), /vs 4 in the 4 weeks before/);
  const requests = tile(page, 'Requests');
  assert.equal(await requests.locator('.figure').innerText(), '40');
  const before = generatedInApril() + 4;
  const change = Math.round((40 - before) / before * 100);
  assert.equal(await requests.locator('.delta').innerText(), `${change < 0 ? '−' : '+'}${Math.abs(change)} %`);
  assert.match(await requests.locator('.change').innerText(), new RegExp(`vs ${before.toLocaleString('en-US')} in the 4 weeks before`));
  assert.equal(await tile(page, 'Data transferred').locator('.figure').innerText(), '48 kB', '40 kB sent, 8 kB received');
  assert.equal(await tile(page, 'Changes to events and tasks').locator('.figure').innerText(), '4');
  assert.equal(await tile(page, 'Sync app users').locator('.figure').innerText(), '2', 'ana and ben, each week');
  assert.match(await tile(page, 'Sync app users').innerText(), /people a week, on average/);

  // Every sparkline says its dates and its scale.
  const sparks = page.locator('.spark-box');
  assert.ok(await sparks.count() >= 8);
  for (const spark of await sparks.all()) {
    for (const part of ['.from', '.to', '.hi', '.lo']) assert.ok((await spark.locator(part).innerText()).trim().length > 0, part);
  }
  assert.equal(await signups.locator('.spark-box .to').innerText(), '20 May', 'the last whole week');
  assert.equal(await signups.locator('.spark-box .from').innerText(), '1 Apr', 'after the 4 weeks before');
  const csv = await page.request.get(server.base + await signups.getByRole('link', { name: /CSV/ }).getAttribute('href'));
  const rows = (await csv.text()).trim().split('\n');
  assert.equal(rows[0], 'date,value');
  assert.equal(rows.slice(1).reduce((sum, row) => sum + Number(row.split(',')[1]), 0), 9, 'the tile\'s CSV: its 8 weeks, 4 + 5 sign-ups');

  // The weeks before, and back.
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: '← The 4 weeks before' }).click()]);
  assert.equal(await page.locator('#period-heading').innerText(), '4 weeks: 1 – 28 Apr 2024');
  assert.equal(await tile(page, 'Sign-ups').locator('.figure').innerText(), '4');
  assert.equal(await page.locator('section.period .running').count(), 0, 'no running week in a past period');
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'The 4 weeks after →' }).click()]);
  assert.equal(await page.locator('#period-heading').innerText(), 'The last 4 whole weeks: 29 Apr – 26 May 2024');
  await context.close();
});

test('people, growth, retention, traffic and clients read in plain words, with shares right by construction', async () => {
  const { context, page } = await staffPage();
  await page.goto(`${server.base}/dashboard?weeks=4`);
  for (const name of ['Overview', 'People', 'Growth & retention', 'Traffic', 'Clients & platforms', 'All metrics']) {
    assert.ok(await page.getByRole('heading', { level: 2, name, exact: true }).isVisible(), `the ${name} section`);
  }
  const people = page.locator('section[aria-labelledby="chart-people-title"]');
  assert.equal(await people.locator('svg.graph').count(), 1, 'one stacked chart of the profiles');
  for (const profile of ['Sync app users', 'Web users who also sync', 'Web-only users', 'Users of other apps (interop)', 'Casual collaborators']) {
    assert.ok(await people.locator('ul.legend').getByText(profile, { exact: true }).isVisible(), profile);
  }
  assert.equal(await people.locator('svg.graph rect[fill-opacity]').count() > 0, true, 'the running week is drawn lighter');
  assert.match(await people.locator('svg.graph').getAttribute('aria-label'), /people a week/);

  const ranking = (title) => page.locator('section.graph-card').filter({ has: page.getByRole('heading', { level: 3, name: title, exact: true }) });
  const first = (title) => ranking(title).locator('ol.ranked li').first();
  assert.equal(await first('Apps').locator('.name').innerText(), 'DAVx5');
  assert.equal(await first('Apps').locator('.pct').innerText(), '60 %', '24 of the 40 requests');
  assert.equal(await first('Apps').locator('.count').innerText(), '24');
  assert.match(await ranking('Apps').innerText(), /Share of the 40 requests in these 4 weeks/);
  assert.equal(await first('Platforms').locator('.name').innerText(), 'Android');
  assert.equal(await first('Platforms').locator('.pct').innerText(), '60 %');
  assert.equal(await first('Sync app users by platform').locator('.pct').innerText(), '50 %', 'ana on Android of the 2 sync users a week');
  assert.equal(await ranking('App versions').locator('ol.ranked li').count(), 3);
  const countries = await ranking('Countries').innerText();
  assert.match(countries, /No IP-to-country database is configured/);
  assert.ok(countries.includes('country_database = "/path/to/GeoLite2-Country.mmdb"'), countries);

  const heat = page.locator('table.heat');
  const cohort = heat.locator('tbody tr').filter({ has: page.getByRole('rowheader', { name: '1 Jan 2024' }) });
  const cells = await cohort.locator('td').allInnerTexts();
  assert.deepEqual(cells.map((c) => c.trim()), ['4', '50 %', '0 %', '0 %', '', ''], 'four signed up, two came back after 30 days; too young for 180 and 360');
  assert.match(await cohort.locator('td').nth(1).getAttribute('class'), /^heat-\d$/, 'a shade for the share');
  assert.equal(await cohort.locator('td').nth(4).getAttribute('class'), 'heat-none');

  const traffic = page.locator('#traffic');
  assert.ok(await traffic.getByRole('heading', { name: 'Requests a day, 7-day average' }).isVisible());
  assert.match(await traffic.locator('section[aria-labelledby="chart-daily-title"] svg.graph').getAttribute('aria-label'), /requests a day/);
  assert.match(await traffic.locator('section[aria-labelledby="chart-data-title"] svg.graph').innerHTML(), />\d+ (B|kB|MB)</, 'data in readable units');

  // Plain words: no log jargon and no raw metric names as titles.
  const text = await page.locator('main').innerText();
  for (const jargon of ['ev=', 'auth=', 'per_key', 'hits_by']) assert.ok(!text.includes(jargon), `no "${jargon}" on the page`);
  for (const heading of await page.locator('main h2, main h3, main summary').allInnerTexts()) {
    assert.doesNotMatch(heading.trim(), /^[a-z0-9]+(_[a-z0-9]+)+$/, `a human title, not an identifier: ${heading}`);
  }
  await context.close();
});

test('all metrics are grouped and collapsed; the 7-day mean is per day; cohort figures are not empty', async () => {
  const { context, page } = await staffPage();
  await page.goto(`${server.base}/dashboard?weeks=12&period=week`);
  const groups = page.locator('#all details.group');
  assert.ok(await groups.count() >= 6);
  for (const group of await groups.all()) assert.equal(await group.getAttribute('open'), null, 'collapsed');
  const listed = await (await page.request.get(`${server.base}/api/v1/metrics`)).json();
  assert.equal(await page.locator('#all svg.chart').count(), listed.filter((m) => !m.name.includes(':')).length, 'a chart for every metric');
  const mean = page.locator('section[aria-labelledby="m-hits_7d_mean"]');
  assert.equal(await mean.locator('h3').textContent(), 'Requests a day, 7-day average');
  assert.match(await mean.textContent(), /Unit: requests a day\./, 'a mean per day, even in the weekly view');
  const retention = page.locator('section[aria-labelledby="m-retention_30d"]');
  assert.equal(await retention.locator('h3').textContent(), 'Still active after 30 days');
  assert.ok(await retention.locator('svg.chart polyline, svg.chart circle').count() > 0, 'retention is drawn per sign-up week');
  assert.ok(await page.locator('section[aria-labelledby="m-signup_cohort_size"] svg.chart polyline').count() > 0);
  await page.locator('#group-retention > summary').click();
  assert.ok(await retention.isVisible(), 'a group opens without JavaScript (details)');
  await context.close();
});

test('every chart\'s CSV link answers with the staff session', async () => {
  const { context, page } = await staffPage();
  await page.goto(`${server.base}/dashboard?weeks=4`);
  const links = await page.locator('main a[href^="/api/v1/metrics"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(links.length > 60, `${links.length} CSV links`);
  for (const chart of await page.locator('main section.graph-card, main section.metric, main .tile').all()) {
    const title = await chart.locator('h3').textContent();
    if (title === 'Countries') continue; // no database: nothing to download
    assert.equal(await chart.locator('a[href^="/api/v1/metrics"]').count(), 1, `${title} has its CSV link`);
  }
  for (const href of links) {
    const answer = await page.request.get(server.base + href);
    assert.equal(answer.status(), 200, href);
    assert.match(answer.headers()['content-type'], /^text\/csv/, href);
    assert.match((await answer.text()).split('\n')[0], /^date,/, href);
  }
  const apps = await page.request.get(server.base + await page.locator('section[aria-labelledby="rank-apps-title"] a').getAttribute('href'));
  const table = (await apps.text()).trim().split('\n');
  assert.deepEqual(table[0].split(','), ['date', 'hits_by_client:DAVx5', 'hits_by_client:Firefox', 'hits_by_client:Thunderbird']);
  await context.close();
});

test('without JavaScript the picker works; screenshots at 1280 and 390 px, no sideways scroll on a phone, valid HTML', async () => {
  const { context, page } = await staffPage({ javaScriptEnabled: false });
  await page.getByLabel('Length').selectOption('26');
  await page.getByLabel('Ending with the week of').fill('2024-03-06');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Show' }).click()]);
  assert.equal(await page.locator('#period-heading').innerText(), '26 weeks: 11 Sep 2023 – 10 Mar 2024');
  assert.match(await page.locator('section.period').innerText(), /The data starts on Mon 1 Jan 2024: these weeks are empty before it\./);
  assert.match(await tile(page, 'Requests').locator('.change').innerText(), /no full 26 weeks before in the data to compare with/);
  await context.close();

  const files = [];
  for (const [name, viewport, options] of [['dashboard-desktop', desktop, {}], ['dashboard-phone', phone, { isMobile: true, hasTouch: true }]]) {
    const { context: shot, page: view } = await staffPage({ viewport, ...options });
    const response = await view.goto(`${server.base}/dashboard?weeks=4`);
    assert.equal(response.status(), 200);
    const file = join(server.dataDir, `${name}.html`);
    writeFileSync(file, await response.text());
    files.push(file);
    const scroll = () => view.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    let [width, inner] = await scroll();
    assert.ok(width <= inner, `${name} is ${width - inner} px wider than its ${inner} px window`);
    await view.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    // Opened, every table and chart still fits.
    await view.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
    [width, inner] = await scroll();
    assert.ok(width <= inner, `${name}, all opened, is ${width - inner} px wider than its window`);
    await shot.close();
  }
  assert.deepEqual(nuErrors(files), []);
});
