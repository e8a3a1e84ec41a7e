// End to end on the host: lighttpd on loopback + the bundled CGI + a real
// xdp-sni daemon (native XDP on a veth, private bpffs), driven by headless
// Chromium through playwright-core. Screenshots go to test-artifacts/web/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientHello, repoRoot, tool } from '../bpf/lib.js';
import { syslog, waitFor } from '../netns/topology.js';
import { clientCurl, fetchRaw, PASSWORD, sendHello, startWeb, type Web } from './harness.js';

const ART = join(repoRoot, 'test-artifacts', 'web');
const XSS = '<script>alert(1)</script>.evil.example';

let w: Web;
let ctx: BrowserContext;
let page: Page;
let profile: string;
const dialogs: string[] = [];
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
    viewport: { width: 1280, height: 900 },
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    // script errors and CSP violations (not the expected 403s of refused requests)
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) pageErrors.push(m.text());
  });
}, 240_000);

afterAll(async () => {
  await ctx?.close().catch(() => undefined);
  if (profile) rmSync(profile, { recursive: true, force: true });
  await w?.cleanup();
}, 120_000);

async function shot(name: string) {
  await page.screenshot({ path: join(ART, `${name}.png`), fullPage: true });
}

describe('web UI (lighttpd + CGI + daemon, headless Chromium)', () => {
  it('refuses unauthenticated requests', async () => {
    const r = await fetchRaw(`${w.base}/`);
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/login');
    const p = await fetchRaw(`${w.base}/action`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'do=add&name=x.example&csrf=x' });
    expect(p.status).toBe(403);
    expect(await w.ctl('list')).toBe('rc=0\n');
    const l = await fetchRaw(`${w.base}/login`);
    expect(l.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(l.headers['x-frame-options']).toBe('DENY');
    expect(l.headers['cache-control']).toBe('no-store');
  });

  it('logs in through the form; a wrong password is refused', async () => {
    await page.goto(`${w.base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name=password]', 'wrong');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('body')).toContain('Wrong password');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${w.base}/`);
    expect(await page.textContent('#attached')).toContain('f0 (native)');
    expect(await page.textContent('#mode')).toContain('block');
    await shot('overview-empty');
  });

  it('refuses a cross-site form post even from the logged-in browser', async () => {
    const other = await ctx.newPage();
    // a page of another origin (about:blank + a form) that posts to the UI
    await other.setContent(`<form method="post" action="${w.base}/action"><input name="do" value="add"><input name="name" value="csrf.example"><input name="csrf" value="guess"></form>`);
    const [resp] = await Promise.all([other.waitForNavigation(), other.evaluate(() => (document.forms[0] as HTMLFormElement).submit())]);
    expect(resp?.status()).toBe(403);
    await other.close();
    expect(await w.ctl('list')).not.toContain('csrf.example');
  });

  it('adds a name; a client connection to it is blocked and appears in the live log and the chart', async () => {
    expect((await clientCurl(w.t, 'live.example')).code).toBe(0);
    await page.goto(`${w.base}/list`);
    await page.fill('#add-name', 'Live.Example');
    await page.click('#add-btn');
    await expect.poll(() => page.textContent('.flash')).toContain('Added live.example');
    expect(await page.textContent('#names')).toContain('live.example');
    expect(await w.ctl('list')).toContain('live.example\texact');

    const c = await clientCurl(w.t, 'live.example');
    expect(c.code).not.toBe(0);
    expect(c.err).toMatch(/reset/i);

    await page.goto(`${w.base}/log`);
    // the live log refreshes itself: no reload from the test
    await page.waitForFunction(() => /live\.example/.test(document.querySelector('#events')?.textContent ?? ''), undefined, { timeout: 30_000 });
    // one blocked connection: one row
    expect(await page.locator('#events tr.v-block', { hasText: 'live.example' }).count()).toBe(1);
    const row = page.locator('#events tr', { hasText: 'live.example' }).first();
    expect(await row.textContent()).toContain('block');
    expect(await row.textContent()).toContain('10.77.1.2');
    expect(Number(await page.getAttribute('#chart', 'data-blocked'))).toBeGreaterThanOrEqual(1);
    expect(await page.textContent('#top-names')).toContain('live.example');
    await shot('log-blocked');
  });

  it('a captured server name with <script> is shown as text and never runs', async () => {
    await page.goto(`${w.base}/list`);
    await page.fill('#add-name', 'evil.example');
    await page.check('#add-sub');
    await page.click('#add-btn');
    await expect.poll(() => page.textContent('.flash')).toContain('Added evil.example and its subdomains');
    await sendHello(w.t, clientHello(XSS));
    await waitFor(() => syslog(w.t).includes(`sni=${XSS} verdict=block`), 15_000, 'the <script> SNI in syslog');
    // one hello, one line
    await page.waitForTimeout(300);
    expect(syslog(w.t).split('\n').filter((l) => l.includes(`sni=${XSS} verdict=block`))).toHaveLength(1);
    await page.goto(`${w.base}/log?name=evil`);
    await page.waitForFunction((x) => (document.querySelector('#events')?.textContent ?? '').includes(x), XSS, { timeout: 30_000 });
    expect(await page.locator('#events td.name', { hasText: XSS }).count()).toBe(1);
    expect(await page.evaluate(() => [...document.scripts].map((s) => s.src.replace(location.origin, '')))).toEqual(['/static/live.js']);
    await page.waitForTimeout(6000); // one auto-refresh swaps the fragment in again
    expect(dialogs).toEqual([]);
    await shot('log-script-inert');
  });

  it('removes the name; the client passes again', async () => {
    await page.goto(`${w.base}/list?q=live`);
    await page.click('button[aria-label="Remove live.example"]');
    await expect.poll(() => page.textContent('.flash')).toContain('Removed live.example');
    expect(await w.ctl('list')).not.toContain('live.example');
    const c = await clientCurl(w.t, 'live.example');
    expect(c.code, c.err).toBe(0);
    expect(c.out).toContain('xsni-ok live.example');
  });

  it('the overview: counters, chart, top lists, and the mode switch', async () => {
    await page.goto(`${w.base}/`);
    expect(Number(await page.getAttribute('#chart', 'data-blocked'))).toBeGreaterThanOrEqual(2);
    expect(await page.textContent('#top-clients')).toContain('10.77.1.2');
    await shot('overview');
    await page.selectOption('select[name=mode]', 'monitor');
    await page.click('form:has(select[name=mode]) button');
    await expect.poll(() => page.textContent('#mode')).toContain('monitor');
    expect(await w.ctl('status')).toMatch(/mode\s+monitor/);
    await page.selectOption('select[name=mode]', 'block');
    await page.click('form:has(select[name=mode]) button');
    await expect.poll(() => page.textContent('#mode')).toContain('block');
    expect(pageErrors).toEqual([]);
  });

  it('restore (run by xdp-sni.service): socket to group www-data 0660, saved settings re-applied', async () => {
    const saved = { enabled: false, ports: '443,8443', mode: 'monitor', rst: false, exempt: ['192.0.2.0/24'] };
    writeFileSync(join(w.stateDir, 'xdp-sni.settings.json'), JSON.stringify(saved));
    try {
      const r = await execa(process.execPath, [join(w.t.dir, 'webui', 'htdocs', 'index.cgi'), 'restore'], {
        reject: false, env: { ...process.env, XDPFIRE_WEBUI_SOCKET: w.t.ctlSock, XDPFIRE_WEBUI_STATE: w.stateDir },
      });
      expect(r.exitCode, r.stderr).toBe(0);
      const st = statSync(w.t.ctlSock);
      expect(st.mode & 0o777).toBe(0o660);
      const www = Number(readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith('www-data:'))?.split(':')[2]);
      expect(st.gid).toBe(www);
      const status = await w.ctl('status');
      expect(status).toMatch(/mode\s+monitor/);
      expect(status).toMatch(/rst\s+off/);
      expect(status).toMatch(/ports\s+none/);
      expect(await w.ctl('exempt list')).toContain('192.0.2.0/24');
      await page.goto(`${w.base}/`);
      expect(await page.textContent('#state')).toContain('disabled');
      await page.click('#enable');
      await expect.poll(() => page.textContent('#state')).toContain('enabled');
      expect(await w.ctl('ports')).toContain('ports 443,8443');
    } finally {
      await w.ctl('mode block');
      await w.ctl('rst on');
      await w.ctl('ports 443');
      await w.ctl('exempt del 192.0.2.0/24');
      rmSync(join(w.stateDir, 'xdp-sni.settings.json'), { force: true });
    }
  });

  it('100,000 names with the real daemon: the list page stays usable; a 1,000-line import through the page', async () => {
    const file = join(w.t.dir, 'big.list');
    writeFileSync(file, Array.from({ length: 100_000 }, (_, i) => `big${String(i).padStart(6, '0')}.example\n`).join(''));
    const imp = await execa(tool, ['import', file], { reject: false, env: { ...process.env, ...w.t.env } });
    expect(imp.exitCode, imp.stderr).toBe(0);
    let t0 = performance.now();
    await page.goto(`${w.base}/list?q=big09999`);
    const listMs = performance.now() - t0;
    expect(await page.textContent('h2 .hint')).toMatch(/100\d{3} in total, 10 matching/);
    await page.goto(`${w.base}/list?page=500`);
    expect(await page.textContent('.pager')).toMatch(/page 500 of 100\d/);
    await page.goto(`${w.base}/list`);
    await page.fill('textarea[name=list]', Array.from({ length: 1000 }, (_, i) => `0.0.0.0 bulk${i}.example`).join('\n'));
    t0 = performance.now();
    await page.click('form[enctype] button[type=submit]');
    await page.waitForSelector('#report', { timeout: 600_000 });
    const importMs = performance.now() - t0;
    expect(await page.textContent('#report')).toContain('1000 line(s) accepted (1000 name(s): 1000 new');
    expect(await w.ctl('status')).toMatch(/domains\s+101\d{3}/);
    const text = `100k list: search page ${listMs.toFixed(0)} ms; 1000-name import through the page ${importMs.toFixed(0)} ms\n`;
    writeFileSync(join(ART, 'big-list.txt'), text);
    console.log(text);
  }, 900_000);

  it('render cost on the host (CGI through lighttpd, nodejs start included)', async () => {
    // log in with a plain client to time the pages without the browser
    const g = await fetchRaw(`${w.base}/login`);
    const lc = String(g.headers['set-cookie']).split(';')[0];
    const tok = /name="csrf" value="([^"]+)"/.exec(g.body)![1];
    const p = await fetchRaw(`${w.base}/login`, { method: 'POST', headers: { cookie: lc, 'content-type': 'application/x-www-form-urlencoded', origin: w.base }, body: `csrf=${tok}&user=admin&password=${PASSWORD}` });
    const sc = String(p.headers['set-cookie']).split(';')[0];
    const out: string[] = [];
    for (const path of ['/', '/list', '/log', '/log?partial=1']) {
      const ms: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const r = await fetchRaw(`${w.base}${path}`, { headers: { cookie: sc } });
        ms.push(performance.now() - t0);
        expect(r.status).toBe(200);
      }
      ms.sort((a, b) => a - b);
      out.push(`${path.padEnd(16)} median ${ms[2].toFixed(0)} ms, min ${ms[0].toFixed(0)} ms`);
    }
    const text = `render cost on the host (${new Date().toISOString()}), 5 requests each:\n${out.join('\n')}\n`;
    writeFileSync(join(ART, 'render-cost.txt'), text);
    console.log(text);
  });
});
