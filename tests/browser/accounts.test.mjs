// Web accounts as a person uses them, in headless Chromium (Debian's) driven
// by Playwright: sign up, confirm the address from the mailed link, log in
// and out, reset a forgotten password, the account page, the contact form
// and the staff's admin pages; the same sign-up and log-in with JavaScript
// turned off; the error pages (401, 403, 404, 422, 429). Screenshots go to
// artifacts/screenshots/ and every page's HTML must pass the W3C Nu HTML
// checker.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, shots, startServer, launchBrowser, nuErrors, outbox } from './support.mjs';

const viewport = { width: 1200, height: 900 };
const carol = { name: 'carol', email: 'carol@example.org', password: 'correct horse battery', newPassword: 'staple gun lighthouse' };
const dave = { name: 'dave', email: 'dave@example.org', password: 'a walk in the park' };
const boss = { name: 'boss', email: 'boss@example.org', password: 'the staff password' };
const request = {
  name: 'Erin Example',
  email: 'erin@example.org',
  subject: 'My phone does not sync',
  message: 'Since yesterday my phone shows no new events. What can I do?',
};
/** Pages whose HTML the Nu checker must see (file names in the data directory). */
const expectedPages = [
  'signup-form', 'signup-errors-422', 'signup-check-your-mail', 'verify-confirmed', 'login', 'login-wrong-password-401',
  'account', 'home-logged-out', 'reset-request', 'reset-check-your-mail', 'reset-form', 'reset-done',
  'contact', 'contact-thanks', 'admin-users', 'admin-user', 'admin-support', 'admin-support-request', 'admin-operations',
  'nojs-signup-reserved-name-422', 'nojs-account', 'not-found-404', 'form-expired-403', 'too-many-attempts-429',
];

let server, strict, browser, mail, htmlDir;
let contactId;
const kept = new Map();

// The limits are high on the main server so the journey never meets them;
// a second server with a low log-in limit shows the 429 page.
const accountsConfig = (limits) => (base) => `[site]
base_url = "${base}"
[rate_limits]
login_per_minute = ${limits.login}
signup_per_hour = 1000
reset_per_hour = 1000
contact_per_hour = 1000
`;

before(async () => {
  server = await startServer({
    config: accountsConfig({ login: 1000 }),
    prepare: (env) => {
      execFileSync(bin, ['user', 'add', boss.name, '--email', boss.email, '--admin', '--password-stdin'],
        { env, input: boss.password + '\n', stdio: ['pipe', 'pipe', 'pipe'] });
    },
  });
  strict = await startServer({ config: accountsConfig({ login: 3 }) });
  mail = outbox(server.dataDir);
  htmlDir = join(server.dataDir, 'html');
  mkdirSync(htmlDir, { recursive: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
  strict?.stop();
});

/** Keeps the page's HTML (as the server sent it) for the Nu checker, and a screenshot. */
async function keep(page, name, response) {
  const file = join(htmlDir, `${name}.html`);
  writeFileSync(file, await response.text());
  kept.set(name, file);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Clicks and waits for the page it leads to: the last response (after redirects). */
async function submit(page, button) {
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response;
}

function path(page) {
  return new URL(page.url()).pathname;
}

function heading(page, name) {
  return page.getByRole('heading', { level: 1, name, exact: true });
}

async function fillSignup(page, who) {
  await page.getByLabel('User name').fill(who.name);
  await page.getByLabel('Email address').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('checkbox', { name: /terms/ }).check();
}

async function fillLogin(page, name, password) {
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  return submit(page, page.locator('main').getByRole('button', { name: 'Log in' }));
}

async function linkIn(to, kind) {
  const letter = await mail.next(to);
  const escaped = server.base.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const pattern = kind === 'verify'
    ? new RegExp(`${escaped}/verify/[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])`)
    : new RegExp(`${escaped}/reset/[A-Za-z0-9_-]+`);
  const link = letter.body.match(pattern);
  assert.ok(link, `the ${kind} mail to ${to} (${letter.file}) has a ${kind} link:\n${letter.body}`);
  return link[0];
}

/** The header as a logged-in account sees it. */
async function assertLoggedIn(page, name) {
  const header = page.locator('header');
  const account = header.getByRole('link', { name, exact: true });
  assert.equal(await account.count(), 1, `the header shows the user name ${name}`);
  assert.equal(new URL(await account.getAttribute('href'), page.url()).pathname, '/account');
  assert.ok(await header.getByRole('button', { name: 'Log out' }).isVisible(), 'a Log out button in the header');
  assert.equal(await header.getByRole('link', { name: 'Log in', exact: true }).count(), 0, 'no Log in link once logged in');
}

async function assertLoggedOut(page) {
  const header = page.locator('header');
  assert.ok(await header.getByRole('link', { name: 'Log in', exact: true }).isVisible(), 'the header offers Log in');
  assert.ok(await header.getByRole('link', { name: 'Sign up free' }).isVisible(), 'the header offers Sign up free');
  assert.equal(await header.getByRole('button', { name: 'Log out' }).count(), 0, 'no Log out button when logged out');
}

test('sign up, confirm the address, log in and out, reset the password, log in with the new one', async () => {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();

  let response = await page.goto(`${server.base}/signup`);
  assert.equal(response.status(), 200, '/signup');
  await keep(page, 'signup-form', response);

  // What the server says to a form the browser would not have let through.
  await page.getByLabel('User name').fill('Carol Smith');
  await page.getByLabel('Email address').fill('carol-at-example');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('checkbox', { name: /terms/ }).check();
  await page.locator('form:has(input[name="terms"])').evaluate((form) => { form.noValidate = true; });
  response = await submit(page, page.getByRole('button', { name: 'Create account' }));
  assert.equal(response.status(), 422, 'a sign-up with a bad name, address and password');
  assert.ok(await page.getByRole('alert').first().isVisible(), 'the 422 page says what is wrong');
  assert.ok(await page.getByRole('button', { name: 'Create account' }).isVisible(), 'the form is shown again');
  await keep(page, 'signup-errors-422', response);

  await fillSignup(page, carol);
  response = await submit(page, page.getByRole('button', { name: 'Create account' }));
  assert.equal(response.status(), 200, 'the sign-up is accepted');
  assert.ok(await heading(page, 'Check your mail').isVisible(), 'heading "Check your mail" after signing up');
  await keep(page, 'signup-check-your-mail', response);

  response = await page.goto(await linkIn(carol.email, 'verify'));
  assert.equal(response.status(), 200, 'the validation link');
  assert.ok(await heading(page, 'Your address is confirmed').isVisible(), 'heading "Your address is confirmed"');
  await assertLoggedIn(page, carol.name);
  assert.equal(await page.locator('main').getByRole('link', { name: 'Open your calendar' }).getAttribute('href'), '/calendar',
    'the confirmed person is logged in and led to the calendar');
  await keep(page, 'verify-confirmed', response);

  await submit(page, page.locator('header').getByRole('button', { name: 'Log out' }));
  response = await page.goto(`${server.base}/login`);
  assert.equal(response.status(), 200);
  await keep(page, 'login', response);

  response = await fillLogin(page, carol.name, 'not the password at all');
  assert.equal(response.status(), 401, 'a wrong password');
  assert.ok(await page.getByRole('button', { name: 'Log in' }).isVisible(), 'the log-in form again after a wrong password');
  assert.ok(await page.getByRole('alert').first().isVisible(), 'a message about the wrong password');
  await keep(page, 'login-wrong-password-401', response);

  response = await fillLogin(page, carol.name, carol.password);
  assert.equal(path(page), '/calendar', 'logging in leads to the calendar');
  assert.equal(response.status(), 200);
  response = await page.goto(`${server.base}/account`);
  assert.ok(await heading(page, 'Your account').isVisible(), 'heading "Your account"');
  await assertLoggedIn(page, carol.name);
  for (const action of ['/account/password', '/account/email', '/account/delete']) {
    assert.equal(await page.locator(`form[method="post"][action="${action}"]`).count(), 1, `a form posting to ${action}`);
  }
  const download = page.getByRole('link', { name: 'Download all my data' });
  assert.equal(new URL(await download.getAttribute('href'), page.url()).pathname, '/account/export.zip');
  const zip = await context.request.get(`${server.base}/account/export.zip`);
  assert.equal(zip.status(), 200, 'the data download');
  assert.equal((await zip.body()).subarray(0, 2).toString('latin1'), 'PK', 'the data download is a zip file');
  await keep(page, 'account', response);

  response = await submit(page, page.locator('header').getByRole('button', { name: 'Log out' }));
  assert.equal(path(page), '/', 'logging out leads to the home page');
  await assertLoggedOut(page);
  await keep(page, 'home-logged-out', response);
  await page.goto(`${server.base}/account`);
  assert.equal(await heading(page, 'Your account').count(), 0, 'the account page is gone once logged out');

  response = await page.goto(`${server.base}/reset`);
  assert.equal(response.status(), 200, '/reset');
  await keep(page, 'reset-request', response);
  await page.getByLabel('Email address').fill(carol.email);
  response = await submit(page, page.getByRole('button', { name: 'Send the link' }));
  assert.ok(await heading(page, 'Check your mail').isVisible(), 'heading "Check your mail" after asking for a reset');
  await keep(page, 'reset-check-your-mail', response);

  const resetLink = await linkIn(carol.email, 'reset');
  response = await page.goto(resetLink);
  assert.equal(response.status(), 200, 'the reset link');
  await keep(page, 'reset-form', response);
  await page.getByLabel('New password').fill(carol.newPassword);
  response = await submit(page, page.getByRole('button', { name: 'Save the new password' }));
  assert.ok(await heading(page, 'Your password is changed').isVisible(), 'heading "Your password is changed"');
  await keep(page, 'reset-done', response);

  await page.goto(resetLink);
  assert.equal(await page.getByRole('button', { name: 'Save the new password' }).count(), 0, 'a reset link works once');

  await page.goto(`${server.base}/login`);
  response = await fillLogin(page, carol.name, carol.password);
  assert.equal(response.status(), 401, 'the old password no longer works');
  response = await fillLogin(page, carol.name, carol.newPassword);
  assert.equal(path(page), '/calendar', 'the new password logs in');
  await assertLoggedIn(page, carol.name);
  await context.close();
});

test('the contact form files a numbered support request', async () => {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  let response = await page.goto(`${server.base}/contact`);
  assert.equal(response.status(), 200, '/contact');
  await keep(page, 'contact', response);
  await page.getByLabel('Your name').fill(request.name);
  await page.getByLabel('Your email address').fill(request.email);
  await page.getByLabel('Subject').fill(request.subject);
  await page.getByLabel('Message').fill(request.message);
  response = await submit(page, page.locator('main').getByRole('button', { name: 'Send' }));
  assert.equal(response.status(), 200, 'the contact form is accepted');
  const number = (await page.locator('main').innerText()).match(/#(\d+)/);
  assert.ok(number, 'the thanks page gives the request number "#<id>"');
  contactId = number[1];
  await keep(page, 'contact-thanks', response);
  await context.close();
});

test('the admin pages, for the staff only', async () => {
  const denied = async (request, path) => {
    const response = await request.get(`${server.base}${path}`, { maxRedirects: 0 });
    return response.status() !== 200;
  };
  const visitor = await browser.newContext();
  for (const path of ['/admin/users', '/admin/support', '/admin/operations']) {
    assert.ok(await denied(visitor.request, path), `${path} is not shown to a visitor`);
  }
  await visitor.close();

  const member = await browser.newContext();
  const memberPage = await member.newPage();
  await memberPage.goto(`${server.base}/login`);
  await fillLogin(memberPage, carol.name, carol.newPassword);
  assert.equal(path(memberPage), '/calendar', 'carol is logged in');
  for (const path of ['/admin/users', '/admin/support', '/admin/operations']) {
    assert.ok(await denied(member.request, path), `${path} is not shown to an account without the admin flag`);
  }
  await member.close();

  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${server.base}/login`);
  await fillLogin(page, boss.name, boss.password);
  assert.equal(path(page), '/calendar', 'the admin logs in');
  await assertLoggedIn(page, boss.name);

  let response = await page.goto(`${server.base}/admin/users`);
  assert.equal(response.status(), 200, '/admin/users');
  assert.match(await page.locator('main').innerText(), /\bcarol\b/, '/admin/users lists carol');
  await keep(page, 'admin-users', response);
  response = await submit(page, page.locator('main').getByRole('link', { name: 'carol', exact: true }));
  assert.equal(response.status(), 200, 'one account on its own page');
  assert.match(await page.locator('dl.facts').innerText(), /Storage used/);
  await keep(page, 'admin-user', response);

  response = await page.goto(`${server.base}/admin/support`);
  assert.equal(response.status(), 200, '/admin/support');
  assert.ok((await page.locator('main').innerText()).includes(request.subject), '/admin/support lists the request');
  await keep(page, 'admin-support', response);

  assert.ok(contactId, 'the contact test gave a request number');
  response = await page.goto(`${server.base}/admin/support/${contactId}`);
  assert.equal(response.status(), 200, `/admin/support/${contactId}`);
  const text = await page.locator('main').innerText();
  assert.ok(text.includes(request.subject) && text.includes(request.message), 'the request page shows the subject and message');
  await keep(page, 'admin-support-request', response);

  response = await page.goto(`${server.base}/admin/operations`);
  assert.equal(response.status(), 200, '/admin/operations');
  await keep(page, 'admin-operations', response);
  await context.close();
});

test('signing up and logging in work without JavaScript', async () => {
  const context = await browser.newContext({ viewport, javaScriptEnabled: false });
  const page = await context.newPage();
  let response = await page.goto(`${server.base}/signup`);
  assert.equal(response.status(), 200);

  await fillSignup(page, { ...dave, name: 'admin' });
  response = await submit(page, page.getByRole('button', { name: 'Create account' }));
  assert.equal(response.status(), 422, 'a reserved user name is refused');
  assert.ok(await page.getByRole('alert').first().isVisible(), 'with a message');
  await keep(page, 'nojs-signup-reserved-name-422', response);

  await fillSignup(page, dave);
  response = await submit(page, page.getByRole('button', { name: 'Create account' }));
  assert.ok(await heading(page, 'Check your mail').isVisible(), 'heading "Check your mail" without JavaScript');
  await page.screenshot({ path: join(shots, 'nojs-signup-check-your-mail.png'), fullPage: true });

  await page.goto(await linkIn(dave.email, 'verify'));
  assert.ok(await heading(page, 'Your address is confirmed').isVisible());
  await assertLoggedIn(page, dave.name);
  await submit(page, page.locator('header').getByRole('button', { name: 'Log out' }));
  await page.goto(`${server.base}/login`);

  await fillLogin(page, dave.name, dave.password);
  assert.equal(path(page), '/calendar', 'logged in without JavaScript');
  response = await page.goto(`${server.base}/account`);
  assert.ok(await heading(page, 'Your account').isVisible());
  await assertLoggedIn(page, dave.name);
  await keep(page, 'nojs-account', response);

  await submit(page, page.locator('header').getByRole('button', { name: 'Log out' }));
  assert.equal(path(page), '/');
  await assertLoggedOut(page);
  await context.close();
});

test('error pages: 404, an expired form (403), too many attempts (429)', async () => {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  let response = await page.goto(`${server.base}/nothing-here`);
  assert.equal(response.status(), 404);
  await keep(page, 'not-found-404', response);

  await page.goto(`${server.base}/login`);
  await page.locator('main input[name="csrf"]').evaluate((input) => { input.value = 'forged'; });
  response = await fillLogin(page, carol.name, carol.newPassword);
  assert.equal(response.status(), 403, 'a log-in with a wrong csrf field');
  assert.ok(await heading(page, 'This form has expired').isVisible(), 'heading "This form has expired"');
  assert.notEqual(path(page), '/calendar');
  await keep(page, 'form-expired-403', response);
  await context.close();

  // At most 3 log-ins a minute on this server.
  const limited = await browser.newContext({ viewport });
  const tries = await limited.newPage();
  const statuses = [];
  for (let attempt = 1; attempt <= 6 && !statuses.includes(429); attempt++) {
    await tries.goto(`${strict.base}/login`);
    response = await fillLogin(tries, 'nobody', 'not a password at all');
    statuses.push(response.status());
  }
  assert.equal(statuses[0], 401, 'the first wrong log-in is a 401');
  assert.ok(statuses.slice(0, 4).includes(429), `a 429 by the 4th attempt with login_per_minute = 3 (got ${statuses})`);
  await keep(tries, 'too-many-attempts-429', response);
  await limited.close();
});

test('every page of the accounts passes the Nu HTML checker', () => {
  const missing = expectedPages.filter((name) => !kept.has(name));
  const errors = nuErrors([...kept.values()]);
  assert.deepEqual({ errors, missing }, { errors: [], missing: [] });
});
