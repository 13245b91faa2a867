// The site's pages as a person sees them: headless Chromium (Debian's) driven
// by Playwright, screenshots kept in artifacts/screenshots/, and every page
// checked by the W3C Nu HTML checker (vnu-jar, on the machine's Java).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repo, bin, shots, startServer, launchBrowser, nuErrors } from './support.mjs';

const password = 'a long enough password';
const pages = ['/', '/blog', '/blog/welcome', '/status', '/dashboard', '/dashboard?period=week&days=365', '/nothing-here',
  '/about', '/terms', '/privacy', '/help', '/faq', '/clients', '/clients/apple-macos', '/clients/ios', '/clients/thunderbird',
  '/clients/evolution', '/clients/gnome-calendar', '/clients/davx5', '/clients/outlook'];

let server, base, browser, dataDir;

before(async () => {
  server = await startServer({
    config: () => '[metrics]\npublic = true\n',
    prepare: (env, dir) => {
      execFileSync(bin, ['user', 'add', 'alice', '--email', 'a@example.org', '--password-stdin'], { env, input: password + '\n' });
      const log = join(dir, 'sample.log');
      execFileSync('python3', [join(repo, '../shared/tools/genlog.py'), '--lines', '20000', '--days', '60', '--users', '120', '--seed', '5', '-o', log]);
      execFileSync(bin, ['metrics', 'collect', log], { env });
    },
  });
  ({ base, dataDir } = server);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test('every page renders in the site look, and passes the Nu HTML checker', async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const files = [];
  for (const path of pages) {
    const response = await page.goto(base + path);
    assert.equal(response.status(), path === '/nothing-here' ? 404 : 200, path);
    assert.ok(await page.locator('header.site .brand').isVisible(), `${path} has the site header`);
    assert.ok(await page.locator('footer.site').isVisible(), `${path} has the footer`);
    const name = path === '/' ? 'home' : path.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '');
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
    const file = join(dataDir, `${name}.html`);
    writeFileSync(file, await response.text());
    files.push(file);
  }
  assert.deepEqual(nuErrors(files), []);
});

test('the dashboard draws every metric and its CSV downloads are valid CSV', async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${base}/dashboard?days=3650`);
  const listed = await (await fetch(`${base}/api/v1/metrics`)).json();
  const plain = listed.filter((m) => !m.name.includes(':'));
  assert.equal(await page.locator('svg.chart').count(), plain.length);
  assert.ok(await page.locator('svg.chart polyline').count() > 10, 'graphs with lines');
  const hits = page.locator('section[aria-labelledby="m-hits"]');
  const csvUrl = await hits.getByText('Download as CSV').getAttribute('href');
  const csv = await (await fetch(base + csvUrl)).text();
  const rows = csv.trim().split('\n');
  assert.equal(rows[0], 'date,value');
  assert.ok(rows.length > 30, 'sixty days of hits');
  for (const row of rows.slice(1)) assert.match(row, /^\d{4}-\d{2}-\d{2},\d+(\.\d+)?$/);
  const total = rows.slice(1).reduce((sum, row) => sum + Number(row.split(',')[1]), 0);
  assert.equal(total, 20000, 'every line of the log is a hit');
});

test('the status page answers, with its feed linked', async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/status`);
  assert.equal(await page.locator('h1').textContent(), 'Service status');
  assert.equal(await page.locator('tbody tr').count(), 5);
  const feed = await (await fetch(`${base}/status/feed.atom`)).text();
  assert.match(feed, /<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">/);
});
