// Shared by the browser tests: start and stop an Almanac server on a free
// port with its own data directory, launch Debian's Chromium, check saved
// pages with the W3C Nu HTML checker, and read the mail the server wrote to
// its outbox.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, readFileSync, openSync, closeSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

export const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '../..');
export const bin = process.env.ALMANAC_BIN ?? join(repo, 'target/debug/almanac');
export const shots = join(repo, 'artifacts/screenshots');

export function freePort() {
  return new Promise((ok) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts `almanac serve` on a free port. `config(base)` gives the TOML after
 * the `content_dir` line; `configFile: false` starts it with no
 * configuration file at all, from the repository (a default install).
 * `prepare(env, dataDir)` runs before the server starts (to add users, load
 * metrics...). The server's output goes to `server.log` in the data
 * directory.
 */
export async function startServer({ config = () => '', prepare = () => {}, configFile = true } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'almanac-browser-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { ...process.env, ALMANAC_DATA_DIR: dataDir };
  delete env.ALMANAC_CONFIG;
  if (configFile) {
    const file = join(dataDir, 'almanac.toml');
    writeFileSync(file, `content_dir = "${join(repo, 'content')}"\n${config(base)}`);
    env.ALMANAC_CONFIG = file;
  }
  await prepare(env, dataDir);
  const log = openSync(join(dataDir, 'server.log'), 'a');
  const child = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`], { env, cwd: repo, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  let up = false;
  for (let i = 0; i < 400 && !up && !exited; i++) {
    try { up = (await fetch(`${base}/healthz`)).ok; } catch { /* not up yet */ }
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  if (!up) {
    child.kill('SIGTERM');
    throw new Error(`the server did not start (${JSON.stringify(exited)}); its log:\n${readFileSync(join(dataDir, 'server.log'), 'utf8')}`);
  }
  return {
    base,
    port,
    env,
    dataDir,
    stop: () => { if (!exited) child.kill('SIGTERM'); },
  };
}

/** Prepares a server with one ordinary account (for `startServer`'s `prepare`). */
export function withAccount(person) {
  return (env) => execFileSync(bin, ['user', 'add', person.name, '--email', person.email, '--password-stdin'],
    { env, input: person.password + '\n', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Logs `person` in through the log-in form of `base`. */
export async function logIn(page, base, person) {
  await page.goto(`${base}/login`);
  await page.getByLabel('User name').fill(person.name);
  await page.getByLabel('Password').fill(person.password);
  await Promise.all([page.waitForNavigation(), page.locator('main').getByRole('button', { name: 'Log in' }).click()]);
}

export async function launchBrowser() {
  mkdirSync(shots, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** Runs the Nu HTML checker on saved pages: its errors as "file:line message". */
export function nuErrors(files) {
  if (files.length === 0) return [];
  const vnu = join(here, 'node_modules/vnu-jar/build/dist/vnu.jar');
  let report = '';
  try {
    execFileSync('java', ['-jar', vnu, '--errors-only', '--format', 'json', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (failure) {
    report = failure.stderr.toString();
  }
  const messages = report ? JSON.parse(report).messages : [];
  return messages.map((m) => `${(m.url ?? '').split('/').pop()}:${m.lastLine} ${m.message}`);
}

function decodeQuotedPrintable(text) {
  const bytes = [];
  const soft = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parses one .eml file the server wrote: headers (lower-case names) and the decoded body. */
export function parseMail(text) {
  const split = text.search(/\r?\n\r?\n/);
  const head = text.slice(0, split).replace(/\r?\n[ \t]+/g, ' ');
  const raw = text.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  let body = raw;
  if (encoding === 'quoted-printable') body = decodeQuotedPrintable(raw);
  else if (encoding === 'base64') body = Buffer.from(raw.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { headers, body };
}

/**
 * The outbox of a server's data directory. `next(to)` waits for a mail to
 * `to` not returned before and gives { file, headers, body }.
 */
export function outbox(dataDir) {
  const dir = join(dataDir, 'outbox');
  const taken = new Set();
  return {
    async next(to, { timeout = 10000 } = {}) {
      const end = Date.now() + timeout;
      for (;;) {
        const names = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.eml')).sort() : [];
        for (const name of names) {
          if (taken.has(name)) continue;
          const mail = parseMail(readFileSync(join(dir, name), 'utf8'));
          if ((mail.headers.to ?? '').toLowerCase().includes(to.toLowerCase())) {
            taken.add(name);
            return { file: basename(name), ...mail };
          }
        }
        if (Date.now() > end) {
          throw new Error(`no mail to ${to} in ${dir} (files: ${names.join(', ') || 'none'})`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}
