// The site's pages as a person sees them: headless Chromium (Debian's) driven
// by Playwright, screenshots kept in artifacts/screenshots/, and every page
// checked by the W3C Nu HTML checker (vnu-jar, on the machine's Java).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const bin = process.env.ALMANAC_BIN ?? join(repo, 'target/debug/almanac');
const shots = join(repo, 'artifacts/screenshots');
const password = 'a long enough password';
const pages = ['/', '/blog', '/blog/welcome', '/status', '/dashboard', '/dashboard?period=week&days=365', '/nothing-here',
  '/about', '/terms', '/privacy', '/help', '/faq', '/clients', '/clients/apple-macos', '/clients/ios', '/clients/thunderbird',
  '/clients/evolution', '/clients/gnome-calendar', '/clients/davx5', '/clients/outlook'];

let server, base, browser, dataDir;

function freePort() {
  return new Promise((ok) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'almanac-browser-'));
  const config = join(dataDir, 'almanac.toml');
  writeFileSync(config, `content_dir = "${join(repo, 'content')}"\n[metrics]\npublic = true\n`);
  const env = { ...process.env, ALMANAC_CONFIG: config, ALMANAC_DATA_DIR: dataDir };
  execFileSync(bin, ['user', 'add', 'alice', '--email', 'a@example.org', '--password-stdin'], { env, input: password + '\n' });
  const log = join(dataDir, 'sample.log');
  execFileSync('python3', [join(repo, '../shared/tools/genlog.py'), '--lines', '20000', '--days', '60', '--users', '120', '--seed', '5', '-o', log]);
  execFileSync(bin, ['metrics', 'collect', log], { env });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`], { env, stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
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
  const vnu = join(here, 'node_modules/vnu-jar/build/dist/vnu.jar');
  let report = '';
  try {
    execFileSync('java', ['-jar', vnu, '--errors-only', '--format', 'json', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (failure) {
    report = failure.stderr.toString();
  }
  const messages = report ? JSON.parse(report).messages : [];
  assert.deepEqual(messages.map((m) => `${m.url.split('/').pop()}:${m.lastLine} ${m.message}`), []);
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
