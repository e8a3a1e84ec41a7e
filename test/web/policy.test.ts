// The policy pages end to end: lighttpd + the bundled CGI + the real xdp-sni
// daemon (native XDP on a veth in namespaces) + headless Chromium. A group
// made in the page, the harness's client put in it from the Clients page, a
// category filled through the list page, and the current hour of the
// schedule grid marked "block <category>": a real ClientHello from the client
// to a name of that category is blocked, and passes again once the cell is
// cleared. Also subscriptions, exports, a policy import, concurrent clicks
// through lighttpd (separate CGI processes), and the render and import costs
// with 1,000,000 names and a week of history (test-artifacts/web/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { repoRoot } from '../bpf/lib.js';
import { CLIENT4 } from '../netns/topology.js';
import { clientCurl, fetchRaw, PASSWORD, startWeb, type Web } from './harness.js';

const ART = join(repoRoot, 'test-artifacts', 'web');
/** a name the test TLS server has a certificate for, put in the category "social" */
const SOCIAL = 'monitor.example';

let w: Web;
let ctx: BrowserContext;
let page: Page;
let profile: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(ART, { recursive: true });
  w = await startWeb();
  profile = mkdtempSync(join(tmpdir(), 'xdpfire-web-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ignoreHTTPSErrors: true,
    acceptDownloads: true,
    viewport: { width: 1400, height: 1000 },
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) pageErrors.push(m.text());
  });
  await page.goto(`${w.base}/login`);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL(`${w.base}/`);
}, 240_000);

afterAll(async () => {
  await ctx?.close().catch(() => undefined);
  if (profile) rmSync(profile, { recursive: true, force: true });
  await w?.cleanup();
}, 120_000);

const shot = (name: string) => page.screenshot({ path: join(ART, `${name}.png`), fullPage: true });
const flash = () => page.textContent('.flash');

/** A plain client's session cookie and CSRF token (for concurrent posts and timings). */
async function plainSession(): Promise<{ cookie: string; csrf: string }> {
  const g = await fetchRaw(`${w.base}/login`);
  const lc = String(g.headers['set-cookie']).split(';')[0];
  const tok = /name="csrf" value="([^"]+)"/.exec(g.body)![1];
  const p = await fetchRaw(`${w.base}/login`, { method: 'POST', headers: { cookie: lc, 'content-type': 'application/x-www-form-urlencoded', origin: w.base }, body: new URLSearchParams({ csrf: tok, user: 'admin', password: PASSWORD }).toString() });
  const cookie = String(p.headers['set-cookie']).split(';')[0];
  const home = await fetchRaw(`${w.base}/groups`, { headers: { cookie } });
  return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(home.body)![1] };
}

/** The grid cell of the box's current hour (Monday = 0), after waiting out the last 90 s of an hour. */
async function currentCell(): Promise<string> {
  const d = new Date();
  if (d.getMinutes() === 59 && d.getSeconds() >= 30) await new Promise((r) => setTimeout(r, (61 - d.getSeconds()) * 1000));
  const n = new Date();
  return `${(n.getDay() + 6) % 7}-${n.getHours()}`;
}

describe('policies in the web UI, against the real daemon and data plane', () => {
  it('makes a group and a category in the pages, fills the category through the list page', async () => {
    await page.goto(`${w.base}/groups`);
    await page.fill('#group-name', 'kids');
    await page.click('#group-add');
    await expect.poll(flash).toContain('Added group kids');
    await page.goto(`${w.base}/categories`);
    await page.fill('#cat-name', 'social');
    await page.click('#cat-add');
    await expect.poll(flash).toContain('Added category social');
    await page.click('#cat-social a:has-text("names and import")');
    expect(new URL(page.url()).search).toBe('?cat=social');
    await page.fill('textarea[name=list]', `${SOCIAL}\n# a comment\n`);
    await page.click('#import-btn');
    await page.waitForSelector('#report');
    expect(await page.textContent('#report')).toContain('1 line(s) accepted (1 name(s): 1 new');
    expect(await w.ctl('list --category social')).toContain(`${SOCIAL}\texact`);
    // kids blocks nothing of its own: only the schedule will
    await page.goto(`${w.base}/groups#group-kids`);
    await page.uncheck('input[aria-label="kids blocks blocklist"]');
    await page.click('#group-kids button:has-text("Save kids")');
    await expect.poll(flash).toContain('Group kids: blocklist, blocks -');
    expect(await w.ctl('group list')).toMatch(/^kids\tmode=blocklist\tblock=-\tallow=-/m);
    await shot('groups');
  });

  it('the Clients page shows the client with its DHCP host name (escaped) and puts it in a group', async () => {
    const mac = /link\/ether ([0-9a-f:]{17})/.exec(String((await execa('ip', ['-n', w.t.c, 'link', 'show', 'c0'])).stdout))![1];
    writeFileSync(w.leasesFile, `${Math.floor(Date.now() / 1000) + 3600} ${mac} ${CLIENT4} kid\u202Elaptop 01:${mac}\n`);
    // one event of the client in the history (the default group blocks nothing of "social": a pass, logged as listed)
    expect((await clientCurl(w.t, SOCIAL)).code).toBe(0);
    await expect.poll(async () => (await w.ctl('history clients')).includes(CLIENT4), { timeout: 15_000 }).toBe(true);
    await page.goto(`${w.base}/clients`);
    const row = page.locator(`#client-${CLIENT4.replace(/\./g, '-')}`);
    expect(await row.locator('td.name').textContent()).toBe('kid\\u202Elaptop');
    expect(await row.textContent()).not.toContain('\u202E');
    expect(await row.textContent()).toContain(mac);
    expect(await row.locator('td.names').textContent()).toContain(SOCIAL);
    await shot('clients');
    await row.locator('select[name=group]').selectOption('kids');
    await row.locator('select[name=addr]').selectOption(CLIENT4);
    await row.locator('button').click();
    await expect.poll(flash).toContain(`${CLIENT4}/32 is in group kids`);
    expect(await w.ctl('client list')).toContain(`${CLIENT4}/32\tkids`);
  });

  it('the current hour marked "block social" in the grid blocks a real ClientHello to a social name; cleared, it passes again', async () => {
    expect((await clientCurl(w.t, SOCIAL)).code, 'kids does not block social outside a window').toBe(0);
    const cell = await currentCell();
    await page.goto(`${w.base}/schedules?group=kids`);
    await page.check('input[name=cat-social]');
    await page.check('input[name=action][value=block]');
    await page.click(`#cell-${cell}`);
    await expect.poll(flash).toContain('block social');
    expect(await page.getAttribute(`#cell-${cell}`, 'class')).toContain('block');
    expect(await page.textContent('#windows')).toContain('open now');
    expect(await w.ctl('schedule list')).toMatch(/kids \S+ \d\d:00-\d\d:00 block social\topen/);
    await shot('schedule-grid');
    const c = await clientCurl(w.t, SOCIAL);
    expect(c.code, 'blocked in the window').not.toBe(0);
    expect(c.err).toMatch(/reset/i);
    // the event says why: group kids, category social
    await expect.poll(async () => (await w.ctl('history events --limit=1')).split('\t').slice(3, 6).join(' '), { timeout: 15_000 }).toBe('kids social block');

    await page.click(`#cell-${cell}`);
    await expect.poll(flash).toContain('Cleared');
    expect(await page.getAttribute(`#cell-${cell}`, 'class')).not.toContain('block');
    expect(await w.ctl('schedule list')).toBe('rc=0\n');
    const again = await clientCurl(w.t, SOCIAL);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain(`xsni-ok ${SOCIAL}`);
  });

  it('a window from the form: school days 08:00-16:00 block social is one window of the daemon; a bad time is refused with its reason, nothing added', async () => {
    await page.goto(`${w.base}/schedules?group=kids`);
    for (const d of ['mon', 'tue', 'wed', 'thu', 'fri']) await page.check(`#window-form input[name=day-${d}]`);
    await page.fill('#window-form input[name=from]', '08:00');
    await page.fill('#window-form input[name=to]', '16:00');
    await page.check('#window-form input[name=cat-social]');
    await page.click('#window-add');
    await expect.poll(flash).toContain('kids: added mon,tue,wed,thu,fri 08:00-16:00 block social.');
    const list = await w.ctl('schedule list');
    expect(list.split('\n').filter((l) => /^\d+\t/.test(l))).toHaveLength(1);
    expect(list).toMatch(/^1\tkids \S+ 08:00-16:00 block social\t(open|closed)$/m);
    // the grid shows it: Monday 08:00 and Friday 15:00 marked, Saturday 08:00 not
    expect(await page.getAttribute('#cell-0-8', 'class')).toContain('block');
    expect(await page.getAttribute('#cell-4-15', 'class')).toContain('block');
    expect(await page.getAttribute('#cell-5-8', 'class')).not.toContain('block');
    // 25:00: the browser's pattern check would stop it; posted as a plain client would, the daemon refuses it
    const s = await plainSession();
    const bad = await fetchRaw(`${w.base}/action`, {
      method: 'POST',
      headers: { cookie: s.cookie, origin: w.base, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: s.csrf, do: 'sched-add', group: 'kids', 'day-sat': '1', from: '25:00', to: '26:00', action: 'block', 'cat-social': '1' }).toString(),
    });
    // the daemon's refusal, shown as every refusal of the daemon is (502, its reason in the page)
    expect(bad.status).toBe(502);
    expect(bad.body).toContain('25:00');
    expect(await w.ctl('schedule list')).toBe(list);
    await w.ctl('schedule del 1');
  });

  it('concurrent clicks through lighttpd (one CGI process each) all land: adjacent hours end as one window', async () => {
    const s = await plainSession();
    const day = 6; // Sunday, 00:00-06:00
    const rs = await Promise.all(Array.from({ length: 6 }, (_, h) =>
      fetchRaw(`${w.base}/action`, {
        method: 'POST',
        fresh: true,
        headers: { cookie: s.cookie, origin: w.base, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf: s.csrf, do: 'sched-cell', group: 'kids', cell: `${day}-${h}`, action: 'block', 'cat-social': '1' }).toString(),
      })));
    expect(rs.map((r) => r.status)).toEqual(Array(6).fill(303));
    expect(await w.ctl('schedule list')).toMatch(/^1\tkids sun 00:00-06:00 block social\t(open|closed)\nrc=0\n$/);
    await w.ctl('schedule del 1');
  });

  it('a subscription: URL, interval, last good update and the last error shown; update now; unsubscribe', async () => {
    await page.goto(`${w.base}/categories`);
    const form = page.locator('#cat-social form.sub-form');
    await form.locator('input[name=url]').fill('http://127.0.0.1:9/list.txt?a=1&b=%20');
    await form.locator('select[name=every]').selectOption('2h');
    await form.locator('button').click();
    await expect.poll(flash).toContain('social follows http://127.0.0.1:9/list.txt?a=1&b=%20');
    await expect.poll(async () => {
      await page.goto(`${w.base}/categories`);
      return page.locator('#cat-social .sub-error').count();
    }, { timeout: 20_000 }).toBe(1);
    expect(await page.textContent('#cat-social .sub-error')).toMatch(/last error: download failed/);
    expect(await page.textContent('#cat-social .ok-time')).toBe('never');
    // the category keeps its names
    expect(await page.textContent('#cat-social td.num')).toBe('1');
    await shot('categories');
    await page.click('button[aria-label="Update social now"]');
    await page.waitForLoadState();
    await page.click('button[aria-label="Unsubscribe social"]');
    await expect.poll(flash).toContain('social follows no list now');
    expect(await w.ctl('subscribe list')).toBe('rc=0\n');
    // a URL with a blank is refused before the daemon sees it
    await page.locator('#cat-social form.sub-form input[name=url]').fill('https://x.example/a b');
    await page.locator('#cat-social form.sub-form button').click();
    await expect.poll(() => page.textContent('#error')).toContain('Not subscribed');
  });

  it('exports download as attachments with their content types; a policy export imports back, a bad one is refused with the reasons', async () => {
    await page.goto(`${w.base}/transfer`);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('a[href="/export?what=policy&format=json"]')]);
    expect(dl.suggestedFilename()).toMatch(/^xdp-sni-policy-\d{8}\.json$/);
    const file = join(w.t.dir, 'policy.json');
    await dl.saveAs(file);
    const policy = JSON.parse(readFileSync(file, 'utf8'));
    expect(policy.groups.map((g: { name: string }) => g.name)).toEqual(['default', 'kids']);
    const s = await plainSession();
    for (const [what, format, type] of [['lists', 'csv', 'text/csv; charset=utf-8'], ['history', 'json', 'application/json; charset=utf-8'], ['policy', 'csv', 'text/csv; charset=utf-8']]) {
      const r = await fetchRaw(`${w.base}/export?what=${what}&format=${format}`, { headers: { cookie: s.cookie } });
      expect(r.headers['content-type']).toBe(type);
      expect(r.headers['content-disposition']).toMatch(/^attachment; filename="xdp-sni-/);
      if (what === 'lists') expect(r.body).toContain(`"${SOCIAL}","social"`);
    }
    // the office: ads blocked, the printer exempt from its group (issue 13's example), imported whole
    policy.categories.push({ name: 'ads' });
    policy.groups.push({ name: 'office', mode: 'blocklist', block: ['ads'], allow: [], clients: ['10.77.1.0/24'], windows: [] }, { name: 'printer', mode: 'blocklist', block: [], allow: [], clients: ['10.77.1.9'], windows: [] });
    const bad = { ...policy, groups: [...policy.groups, { name: 'Bad Name', mode: 'sometimes' }] };
    await page.goto(`${w.base}/transfer`);
    await page.setInputFiles('input[name=file]', { name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(bad)) });
    await page.click('#policy-import');
    await page.waitForSelector('#problems');
    expect(await page.textContent('#error')).toContain('bad.json is not a valid xdp-sni policy export');
    expect(await page.textContent('#problems')).toContain('/groups/4/name: must match pattern');
    expect(await w.ctl('group list')).not.toContain('office');
    await page.setInputFiles('input[name=file]', { name: 'good.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(policy)) });
    await page.click('#policy-import');
    await expect.poll(flash).toContain('imported the policy');
    const groups = await w.ctl('group list');
    expect(groups).toMatch(/^office\tmode=blocklist\tblock=ads/m);
    expect(groups).toMatch(/^printer\t/m);
    expect(await w.ctl('client list')).toContain('10.77.1.9/32\tprinter');
    await shot('transfer');
    // back to the test's own policy
    await w.ctl('client del 10.77.1.0/24');
    await w.ctl('client del 10.77.1.9/32');
    expect(pageErrors).toEqual([]);
  });

  it('1,000,000 names imported through the page (gzip upload, streamed to the daemon) and a week of history: render time of each page', async () => {
    // a week of history at a small office's volume, written into the daemon's database with its own schema
    const db = join(w.daemonState, 'history.db');
    const now = Math.floor(Date.now() / 1000);
    const sql = `
      WITH RECURSIVE m(x) AS (SELECT ${Math.floor(now / 60) - 7 * 1440 + 1} UNION ALL SELECT x + 1 FROM m WHERE x < ${Math.floor(now / 60) - 2})
      INSERT OR IGNORE INTO minutes SELECT x, g, c, k, v, 1 + abs(random() % 20) FROM m,
        (SELECT 'kids' g, '10.77.1.' || n c FROM (SELECT 10 n UNION SELECT 11 UNION SELECT 12) UNION ALL SELECT 'default', '10.77.1.' || n FROM (SELECT 20 n UNION SELECT 21)),
        (SELECT '*' k UNION SELECT 'social'), (SELECT 'pass' v UNION SELECT 'block');
      WITH RECURSIVE e(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM e WHERE i < 199999)
      INSERT INTO events(t, client, grp, cats, verdict, sni) SELECT ${now - 7 * 86400} + i * 3, '10.77.1.' || (10 + i % 5), 'kids', 'social',
        CASE WHEN i % 3 = 0 THEN 'block' ELSE 'pass' END, CAST('site' || (i % 5000) || '.example' AS BLOB) FROM e;`;
    const ins = await execa('sqlite3', ['-cmd', '.timeout 20000', db, sql], { reject: false });
    expect(ins.exitCode, ins.stderr).toBe(0);
    const info = await w.ctl('history info');
    // 1,000,000 names, gzip-compressed under lighttpd's 8 MiB limit, through the list page's form
    await w.ctl('category add big');
    const names = Array.from({ length: 1_000_000 }, (_, i) => `n${String(i).padStart(7, '0')}.big.example\n`).join('');
    const gz = gzipSync(names);
    expect(gz.length).toBeLessThan(8 << 20);
    await page.goto(`${w.base}/list?cat=big`);
    await page.setInputFiles('input[name=file]', { name: 'big.txt.gz', mimeType: 'application/gzip', buffer: gz });
    let t0 = performance.now();
    await page.click('#import-btn');
    await page.waitForSelector('#report', { timeout: 600_000 });
    const importMs = performance.now() - t0;
    expect(await page.textContent('#report')).toContain('1000000 line(s) accepted (1000000 name(s): 1000000 new');
    expect(await w.ctl('category list')).toMatch(/^big\t1000000$/m);
    // the same file uncompressed is over the limit: lighttpd refuses it whole
    const plain = await fetchRaw(`${w.base}/action`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(Buffer.byteLength(names)) }, body: 'x' });
    expect(plain.status).toBe(413);

    const s = await plainSession();
    const out: string[] = [];
    for (const path of ['/', '/?range=day', '/?range=week', '/log', '/log?partial=1', '/list', '/list?cat=big', '/list?cat=big&q=n0999', '/groups', '/categories', '/schedules?group=kids', '/clients', '/transfer', '/export?what=policy&format=json']) {
      const ms: number[] = [];
      for (let i = 0; i < 3; i++) {
        t0 = performance.now();
        const r = await fetchRaw(`${w.base}${path}`, { headers: { cookie: s.cookie } });
        ms.push(performance.now() - t0);
        expect(r.status, path).toBe(200);
      }
      ms.sort((a, b) => a - b);
      out.push(`${path.padEnd(34)} median ${ms[1].toFixed(0)} ms, min ${ms[0].toFixed(0)} ms`);
      expect(ms[1], `${path}: a generous sanity bound`).toBeLessThan(60_000);
    }
    const text = [
      `render cost with 1,000,000 names (category big) and a week of history (${new Date().toISOString()}), 3 requests each, CGI through lighttpd:`,
      `history: ${info.split('\n')[1]} (events, oldest, minute rows, oldest minute)`,
      ...out,
      `import of 1,000,000 names through the list page (a ${(gz.length / 1048576).toFixed(1)} MiB gzip upload, parsed, checked and streamed to the daemon): ${(importMs / 1000).toFixed(1)} s`,
      '',
    ].join('\n');
    writeFileSync(join(ART, 'policy-render-cost.txt'), text);
    console.log(text);
  }, 900_000);
});
