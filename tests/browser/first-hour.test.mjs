// The first hour of a default install (issue "A default install that
// works"), in headless Chromium driven by Playwright: `almanac serve` on a
// random port with no configuration file at all, a new person signing up
// and following the mailed link exactly as mailed, the addresses the site
// shows, and staff reading the dashboard and its CSV downloads with their
// web session.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repo, bin, shots, startServer, launchBrowser, outbox } from './support.mjs';

const viewport = { width: 1200, height: 900 };
const newcomer = { name: 'nina', email: 'nina@example.org', password: 'my first calendar' };
const staff = { name: 'boss', email: 'boss@example.org', password: 'the staff password' };

let server, browser, mail;

before(async () => {
  server = await startServer({
    configFile: false,
    prepare: (env, dir) => {
      execFileSync(bin, ['user', 'add', staff.name, '--email', staff.email, '--admin', '--password-stdin'],
        { env, input: staff.password + '\n', stdio: ['pipe', 'pipe', 'pipe'] });
      const log = join(dir, 'sample.log');
      execFileSync('python3', [join(repo, '../shared/tools/genlog.py'), '--lines', '5000', '--days', '30', '--users', '50', '--seed', '3', '-o', log]);
      execFileSync(bin, ['metrics', 'collect', log], { env });
    },
  });
  mail = outbox(server.dataDir);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function submit(page, button) {
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response;
}

async function logIn(page, who) {
  await page.getByLabel('User name').fill(who.name);
  await page.getByLabel('Password').fill(who.password);
  return submit(page, page.locator('main').getByRole('button', { name: 'Log in' }));
}

test('with no configuration, the mailed link and every address point at the server that sent them', async () => {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${server.base}/signup`);
  await page.getByLabel('User name').fill(newcomer.name);
  await page.getByLabel('Email address').fill(newcomer.email);
  await page.getByLabel('Password').fill(newcomer.password);
  await page.getByRole('checkbox', { name: /terms/ }).check();
  await submit(page, page.getByRole('button', { name: 'Create account' }));

  const letter = await mail.next(newcomer.email);
  const link = letter.body.match(/https?:\/\/\S+\/verify\/[A-Za-z0-9_-]{43}/);
  assert.ok(link, `the mail has a validation link:\n${letter.body}`);
  assert.ok(link[0].startsWith(`${server.base}/verify/`), `the link names this server (${server.base}): ${link[0]}`);
  const response = await page.goto(link[0]);
  assert.equal(response.status(), 200, 'the link, followed exactly as mailed');
  assert.ok(await page.getByRole('heading', { level: 1, name: 'Your address is confirmed' }).isVisible());
  await page.screenshot({ path: join(shots, 'first-hour-confirmed.png'), fullPage: true });

  // The link logged her in: no second log-in right after confirming.
  assert.equal(await page.locator('header').getByRole('link', { name: newcomer.name, exact: true }).count(), 1);
  await page.goto(`${server.base}/help`);
  assert.ok((await page.locator('main').innerText()).includes(`${server.base}/dav/`), 'Help shows this server\'s CalDAV address');
  await page.goto(`${server.base}/account`);
  assert.ok((await page.locator('main').innerText()).includes(`${server.base}/dav/`), 'the account page too');

  await page.goto(`${server.base}/calendar/calendars/calendar/share`);
  await page.getByLabel('The link lets people').selectOption({ label: 'See events' });
  await submit(page, page.getByRole('button', { name: 'Make the link' }));
  const shown = await page.getByRole('status').innerText();
  assert.match(shown, new RegExp(`${server.base.replace(/[.:/]/g, '\\$&')}/s/[A-Za-z0-9_-]{43}`), 'the share link names this server');
  assert.ok(shown.includes(`webcal://127.0.0.1:${server.port}/s/`), 'so does its webcal address');

  for (const [path, expected] of [['/sitemap.xml', `<loc>${server.base}/blog</loc>`], ['/blog/feed.atom', `<id>${server.base}/blog</id>`],
    ['/status/feed.atom', `${server.base}/status`]]) {
    const text = await (await fetch(server.base + path)).text();
    assert.ok(text.includes(expected), `${path} links to this server:\n${text.slice(0, 400)}`);
  }
  await context.close();
});

test('staff read the dashboard and download its CSV with their web session; others are sent to log in', async () => {
  const visitor = await browser.newContext({ viewport });
  const page = await visitor.newPage();
  let response = await page.goto(`${server.base}/dashboard`);
  assert.equal(new URL(page.url()).pathname, '/login', 'a visitor is sent to the log-in page, not a password dialog');
  assert.equal(response.status(), 200);
  response = await logIn(page, staff);
  assert.equal(new URL(page.url()).pathname, '/dashboard', 'and comes back to the dashboard after logging in');
  assert.equal(response.status(), 200);
  const hits = page.locator('section[aria-labelledby="m-hits"]');
  const href = await hits.getByText('Download as CSV').getAttribute('href');
  const csv = await page.request.get(server.base + href);
  assert.equal(csv.status(), 200, `the CSV link works with the web session (${href})`);
  const rows = (await csv.text()).trim().split('\n');
  assert.equal(rows[0], 'date,value');
  const total = rows.slice(1).reduce((sum, row) => sum + Number(row.split(',')[1]), 0);
  assert.equal(total, 5000, 'every line of the log is a hit');
  await page.screenshot({ path: join(shots, 'first-hour-dashboard-staff.png') });
  await visitor.close();

  const member = await browser.newContext({ viewport });
  const memberPage = await member.newPage();
  await memberPage.goto(`${server.base}/login`);
  await logIn(memberPage, newcomer);
  response = await memberPage.goto(`${server.base}/dashboard`);
  assert.equal(response.status(), 403, 'someone who is not staff is told the dashboard is not for them');
  assert.ok(await memberPage.getByRole('heading', { level: 1, name: 'For staff only' }).isVisible());
  const api = await memberPage.request.get(`${server.base}/api/v1/metrics/hits.csv`);
  assert.equal(api.status(), 403, 'and so is the API');
  const anonymous = await fetch(`${server.base}/api/v1/metrics/hits.csv`);
  assert.equal(anonymous.status, 401, 'scripts without credentials still get the Basic challenge');
  assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic/);
  await member.close();
});

test('during maintenance every page says so, and a refused event form comes back with what was typed', async () => {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${server.base}/login`);
  await logIn(page, newcomer);
  execFileSync(bin, ['maintenance', 'on', '--message', 'Upgrading the database; back within the hour.'], { env: server.env });
  try {
    for (const path of ['/', '/calendar', '/account', '/help']) {
      await page.goto(server.base + path);
      const banner = page.locator('.maintenance-banner');
      assert.ok(await banner.isVisible(), `${path} shows the maintenance banner`);
      assert.match(await banner.innerText(), /Upgrading the database/);
    }
    await page.goto(`${server.base}/calendar/new?date=2026-03-03`);
    await page.getByLabel('Title').fill('Plans typed during maintenance');
    await page.getByLabel('Description').fill('A long description nobody wants to type twice.');
    const response = await submit(page, page.getByRole('button', { name: 'Save' }));
    assert.equal(response.status(), 503, 'nothing is saved during maintenance');
    assert.equal(await page.getByLabel('Title').inputValue(), 'Plans typed during maintenance', 'the title is kept');
    assert.equal(await page.getByLabel('Description').inputValue(), 'A long description nobody wants to type twice.');
    assert.ok(await page.getByText('What you typed is kept below').isVisible());
    await page.screenshot({ path: join(shots, 'first-hour-maintenance-form-kept.png'), fullPage: true });
    execFileSync(bin, ['maintenance', 'off'], { env: server.env });
    const saved = await submit(page, page.getByRole('button', { name: 'Save' }));
    assert.equal(new URL(page.url()).pathname, '/calendar', 'saved once maintenance is over');
    assert.equal(saved.status(), 200);
    assert.equal(await page.locator('.maintenance-banner').count(), 0, 'and the banner is gone');
  } finally {
    execFileSync(bin, ['maintenance', 'off'], { env: server.env });
    await context.close();
  }
});

test('on a 390 px phone no page scrolls sideways and no word in the month view is broken', async () => {
  const phone = { width: 390, height: 844 };
  const desk = await browser.newContext({ viewport });
  const setup = await desk.newPage();
  await setup.goto(`${server.base}/login`);
  await logIn(setup, newcomer);
  for (const [title, time] of [['Team standup with everyone on the project', '15:30'], ['Dentist', '08:00']]) {
    await setup.goto(`${server.base}/calendar/new?date=2026-03-04`);
    await setup.getByLabel('Title').fill(title);
    await setup.locator('input[name="start_time"]').fill(time);
    await setup.locator('input[name="end_time"]').fill(time.replace(/^(\d\d)/, (h) => String(Number(h) + 1).padStart(2, '0')));
    await submit(setup, setup.getByRole('button', { name: 'Save' }));
  }
  await desk.close();

  const pages = {
    [newcomer.name]: ['/', '/blog', '/status', '/help', '/faq', '/clients', '/clients/davx5', '/addresses', '/about', '/contact',
      '/account', '/calendar?view=month&date=2026-03-04', '/calendar?view=week&date=2026-03-04',
      '/calendar?view=agenda&date=2026-03-01', '/calendar/new', '/calendar/tasks', '/calendar/calendars',
      '/calendar/calendars/calendar/share'],
    [staff.name]: ['/admin/users', '/admin/support', '/admin/operations', '/dashboard'],
  };
  for (const [who, paths] of Object.entries(pages)) {
    const context = await browser.newContext({ viewport: phone, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${server.base}/login`);
    await logIn(page, who === staff.name ? staff : newcomer);
    for (const path of paths) {
      const response = await page.goto(server.base + path);
      assert.equal(response.status(), 200, path);
      const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      assert.ok(scroll <= width, `${path} is ${scroll - width} px wider than a 390 px phone`);
      const name = `phone-${path.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'home'}`;
      await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    }
    if (who === newcomer.name) {
      // With JavaScript the grid draws the month; without it, the server's table.
      const cookies = await context.cookies();
      const plain = await browser.newContext({ viewport: phone, isMobile: true, hasTouch: true, javaScriptEnabled: false });
      await plain.addCookies(cookies);
      const plainPage = await plain.newPage();
      for (const [view, selector] of [[page, '#grid .ec-event-title'], [plainPage, 'table.month .entry .title']]) {
        await view.goto(`${server.base}/calendar?view=month&date=2026-03-04`);
        const titles = view.locator(selector);
        if (selector.startsWith('#grid')) await titles.first().waitFor();
        const count = await titles.count();
        assert.ok(count >= 2, `the events are in the month (${selector})`);
        for (let i = 0; i < count; i++) {
          const lines = await titles.nth(i).evaluate((e) => e.getClientRects().length);
          assert.equal(lines, 1, `a title keeps to one line, cut with an ellipsis, not broken mid-word (${selector})`);
        }
      }
      await plainPage.goto(`${server.base}/calendar?view=week&date=2026-03-04`);
      for (const time of await plainPage.locator('.entry .time').all()) {
        assert.equal(await time.evaluate((e) => e.getClientRects().length), 1, 'a time is never split');
      }
      await plain.close();
    }
    await context.close();
  }
});
