// The web calendar's speed on a 10,000-event account (issue "A web calendar
// people would choose"), as a person meets it in Chromium: the week view's
// time to first render (navigation to the first event drawn on the grid),
// the feed behind it, and search latency. Prints figures; asserts nothing.
//
// Run by bench/web-calendar.sh, which seeds the account and starts the
// server: node bench/web-calendar.mjs BASE USER PASSWORD

import { chromium } from '../tests/browser/node_modules/playwright-core/index.mjs';

const [base, user, password] = process.argv.slice(2);
const runs = Number(process.env.BENCH_RUNS ?? 15);

function summary(label, samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  console.log(`${label.padEnd(44)} median ${at(0.5).toFixed(1).padStart(7)} ms   p95 ${at(0.95).toFixed(1).padStart(7)} ms   (n=${samples.length})`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  const context = await browser.newContext({ timezoneId: 'Europe/Berlin', viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForNavigation(), page.locator('main').getByRole('button', { name: 'Log in' }).click()]);
  // The seeded events span 2025-2027; these weeks are full of them.
  const weeks = ['2026-03-02', '2026-03-09', '2025-06-16', '2027-01-11', '2026-10-05'];
  const events = [];
  const firstRender = [];
  const html = [];
  for (let i = 0; i < runs + 2; i++) {
    const week = weeks[i % weeks.length];
    const started = performance.now();
    const response = await page.goto(`${base}/calendar?view=week&date=${week}&tz=Europe/Berlin`, { waitUntil: 'commit' });
    await response.finished();
    const htmlDone = performance.now();
    await page.waitForSelector('#grid .ec-event');
    const drawn = performance.now();
    if (i < 2) continue; // warm-up
    html.push(htmlDone - started);
    firstRender.push(drawn - started);
    events.push(await page.locator('#grid .ec-event').count());
  }
  console.log(`week view of a 10,000-event account (${Math.min(...events)}–${Math.max(...events)} events drawn a week)`);
  summary('  page HTML (server view, first byte to end)', html);
  summary('  time to first render (first event drawn)', firstRender);

  const feed = [];
  for (let i = 0; i < runs * 2; i++) {
    const week = weeks[i % weeks.length];
    const end = new Date(Date.parse(week) + 7 * 86400000).toISOString().slice(0, 10);
    const started = performance.now();
    const response = await page.request.get(`${base}/calendar/feed?start=${week}&end=${end}&tz=Europe/Berlin`);
    await response.body();
    feed.push(performance.now() - started);
  }
  summary('  /calendar/feed for one week', feed);

  console.log('search on the same account (results page, up to 50 matches)');
  for (const query of ['budget', 'quarterly business', 'yog', 'interview backend', 'nothing-matches-this']) {
    const samples = [];
    let matches = 0;
    for (let i = 0; i < runs * 2; i++) {
      const started = performance.now();
      const response = await page.request.get(`${base}/calendar/search?q=${encodeURIComponent(query)}`);
      const text = await response.text();
      samples.push(performance.now() - started);
      matches = (text.match(/<li><a href="\/calendar\/(events|tasks)/g) ?? []).length;
    }
    summary(`  "${query}" (${matches} shown)`, samples);
  }
} finally {
  await browser.close();
}
