// Dark mode follows the system setting (issue "A web calendar people would
// choose"): with the browser in dark mode every page turns dark with
// readable text, and in light mode it stays as it was.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { shots, startServer, launchBrowser, withAccount, logIn } from './support.mjs';

const person = { name: 'dora', email: 'dora@example.org', password: 'dora likes the dark' };
let server, browser;

before(async () => {
  server = await startServer({
    configFile: false,
    prepare: withAccount(person),
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** WCAG contrast ratio of two `rgb(...)` colours. */
function contrast(a, b) {
  const luminance = (css) => {
    const [r, g, b2] = css.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b2;
  };
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}

async function colours(page, selector) {
  return page.locator(selector).first().evaluate((e) => {
    const style = getComputedStyle(e);
    return [style.color, style.backgroundColor];
  });
}

for (const scheme of ['dark', 'light']) {
  test(`in ${scheme} mode every page has the scheme's colours and readable text`, async () => {
    const context = await browser.newContext({ colorScheme: scheme, viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    await logIn(page, server.base, person);
    for (const path of ['/', '/calendar', '/calendar?view=month', '/calendar/new', '/calendar/tasks', '/account', '/help', '/status']) {
      await page.goto(server.base + path);
      const [ink, paper] = await colours(page, 'body');
      const dark = contrast(paper, 'rgb(0, 0, 0)') < contrast(paper, 'rgb(255, 255, 255)');
      assert.equal(dark, scheme === 'dark', `${path}: the page background ${paper} follows ${scheme} mode`);
      assert.ok(contrast(ink, paper) >= 7, `${path}: text ${ink} on ${paper} is readable`);
      let cardBackground = paper;
      if (await page.locator('main .card').count()) {
        const [cardInk, cardPaper] = await colours(page, 'main .card');
        cardBackground = cardPaper === 'rgba(0, 0, 0, 0)' ? paper : cardPaper;
        assert.ok(contrast(cardInk, cardBackground) >= 7, `${path}: card text ${cardInk} on ${cardBackground}`);
      }
      const link = page.locator('main p a:not(.button)').first();
      if (await link.count()) {
        const linkInk = await link.evaluate((e) => getComputedStyle(e).color);
        assert.ok(contrast(linkInk, cardBackground) >= 4.5, `${path}: a link ${linkInk} on ${cardBackground}`);
      }
    }
    await page.goto(`${server.base}/calendar?view=month`);
    await page.screenshot({ path: join(shots, `calendar-month-${scheme}.png`), fullPage: true });
    await context.close();
  });
}
