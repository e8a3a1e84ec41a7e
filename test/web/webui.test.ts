// End to end on the host: lighttpd on loopback + the bundled CGI + a real
// xdp-sni daemon (native XDP on a veth, private bpffs), driven by headless
// Chromium through playwright-core. Screenshots go to test-artifacts/web/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientHello, repoRoot, tool } from '../bpf/lib.js';
import { syslog, waitFor } from '../netns/topology.js';
import { clientCurl, fetchRaw, PASSWORD, rawRequest, sendHello, startWeb, type Web } from './harness.js';
import { verifyPassword } from '../../lib/password.js';

const ART = join(repoRoot, 'test-artifacts', 'web');
const XSS = '<script>alert(1)</script>.evil.example';
const NEW_PASSWORD = 'N3w-web-test-password';

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

/** Log in with a plain client; the session cookie ("name=value"). */
async function plainLogin(password: string): Promise<{ status: number; cookie: string }> {
  const g = await fetchRaw(`${w.base}/login`);
  const lc = String(g.headers['set-cookie']).split(';')[0];
  const tok = /name="csrf" value="([^"]+)"/.exec(g.body)![1];
  const p = await fetchRaw(`${w.base}/login`, { method: 'POST', headers: { cookie: lc, 'content-type': 'application/x-www-form-urlencoded', origin: w.base }, body: new URLSearchParams({ csrf: tok, user: 'admin', password }).toString() });
  return { status: p.status, cookie: String(p.headers['set-cookie'] ?? '').split(';')[0] };
}

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

  it('a captured server name with a bidi override is shown escaped, not reversed, and search finds it', async () => {
    const name = '\u202Eelpmaxe.knab.evil.example'; // would read as "elpmaxe.live.bank.example"
    await sendHello(w.t, clientHello(Buffer.from(name)));
    await waitFor(() => syslog(w.t).includes(`sni=${name} verdict=block`), 15_000, 'the bidi SNI in syslog');
    const cell = () => page.locator('#events td.name', { hasText: 'elpmaxe.knab.evil.example' });
    for (const q of ['elpmaxe', '\\u202e', '\u202Eelp']) {
      // what is displayed, and the name as sent
      await page.goto(`${w.base}/log?name=${encodeURIComponent(q)}`);
      await expect.poll(() => cell().count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    }
    expect(await cell().first().textContent()).toBe('\\u202Eelpmaxe.knab.evil.example');
    expect(await cell().first().locator('span.esc').textContent()).toBe('\\u202E');
    expect(await page.textContent('#events')).not.toContain('\u202E');
    expect(await page.textContent('#top-names')).toContain('\\u202Eelpmaxe.knab.evil.example');
    await shot('log-bidi-escaped');
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
    // the real daemon's counters, each with its label, explanation and raw name
    const counters = await page.textContent('.counters');
    for (const c of ['Blocked blocked', 'Resets sent to clients rst_sent', 'Unreadable hellos unreadable']) expect(counters?.replace(/\s+/g, ' ')).toContain(c);
    expect(counters).toContain('TCP resets sent back to clients');
    await shot('overview');
    await page.selectOption('select[name=mode]', 'monitor');
    await page.click('form:has(select[name=mode]) button');
    await expect.poll(() => page.textContent('#mode')).toContain('monitor');
    expect(await w.ctl('status')).toMatch(/mode\s+monitor/);
    // the DNS doors follow the mode at once (they apply only in block mode): the switch went through xdp-sni-apply
    const servers = join(w.t.dir, 'run', 'dnsmasq.d', 'xdp-sni.servers');
    const served = () => (existsSync(servers) ? readFileSync(servers, 'utf8') : '');
    expect(served()).not.toContain('use-application-dns.net');
    expect(readFileSync(w.t.env.XDP_SNI_CONF, 'utf8')).toMatch(/^MODE="?monitor"?$/m);
    await page.selectOption('select[name=mode]', 'block');
    await page.click('form:has(select[name=mode]) button');
    await expect.poll(() => page.textContent('#mode')).toContain('block');
    expect(served()).toContain('server=/use-application-dns.net/');
    expect(pageErrors).toEqual([]);
  });

  it('socket-access (run by xdp-sni.service) gives the socket to group www-data 0660; the settings changed in the page are saved in xdp-sni.conf and outlast a restart', async () => {
    const conf = w.t.env.XDP_SNI_CONF;
    const shipped = readFileSync(join(repoRoot, 'packages', 'xdp-sni', 'files', 'xdp-sni.conf'), 'utf8');
    const keyLine = /^\s*(MODE|RST|LOG|UNREADABLE|PORTS|EXEMPT)\s*=/;
    const fileValues = () => {
      const v: Record<string, string> = {};
      for (const l of readFileSync(conf, 'utf8').split('\n')) {
        const m = /^([A-Z_]+)="?([^"]*)"?$/.exec(l);
        if (m) v[m[1]] = m[2];
      }
      return v;
    };
    try {
      const r = await execa(process.execPath, [join(w.t.dir, 'webui', 'htdocs', 'index.cgi'), 'socket-access'], {
        reject: false, env: { ...process.env, XDPFIRE_WEBUI_SOCKET: w.t.ctlSock, XDPFIRE_WEBUI_STATE: w.stateDir },
      });
      expect(r.exitCode, r.stderr).toBe(0);
      const st = statSync(w.t.ctlSock);
      expect(st.mode & 0o777).toBe(0o660);
      const www = Number(readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith('www-data:'))?.split(':')[2]);
      expect(st.gid).toBe(www);

      // changes in the page: each saved at once, in place, every other line kept
      await page.goto(`${w.base}/`);
      await page.selectOption('select[name=mode]', 'monitor');
      await page.selectOption('select[name=rst]', 'off');
      await page.click('form:has(select[name=mode]) button');
      await expect.poll(() => page.textContent('#mode')).toContain('monitor');
      await page.fill('input[name=prefix]', '192.0.2.7/24');
      await page.click('form:has(input[name=prefix]) button:has-text("Exempt")');
      await expect.poll(() => page.textContent('.flash')).toContain('192.0.2.0/24');
      await page.click('#disable');
      await expect.poll(() => page.textContent('#state')).toContain('disabled');
      expect(fileValues()).toMatchObject({ MODE: 'monitor', RST: 'off', PORTS: 'none', EXEMPT: '192.0.2.0/24', LOG: 'all', UNREADABLE: 'block' });
      expect(readFileSync(conf, 'utf8').split('\n').filter((l) => !keyLine.test(l))).toEqual(shipped.split('\n').filter((l) => !keyLine.test(l)));
      await page.fill('input[name=ports]', '443, 8443');
      await page.click('#enable');
      await expect.poll(() => page.textContent('#state')).toContain('enabled');
      expect(fileValues().PORTS).toBe('443,8443');

      // 16 changes at once over the socket (one process each in the daemon): every one is in the file
      const many = Array.from({ length: 16 }, (_, i) => `198.51.100.${i}/32`);
      const answers = await Promise.all(many.map((p) => w.ctl(`exempt add ${p}`)));
      expect(answers.filter((a) => a.includes('rc=0'))).toHaveLength(16);
      expect(fileValues().EXEMPT.split(' ').sort()).toEqual(['192.0.2.0/24', ...many].sort());

      // a restart: the daemon stops, the maps are set back by hand (not saved: XDP_SNI_CONF empty),
      // then the box's start (xdp-sni-apply, the real script, in the firewall namespace) applies the file
      await w.stopDaemon();
      const local = (...a: string[]) => execa('ip', ['netns', 'exec', w.t.f, tool, ...a], { env: { ...process.env, ...w.t.env, XDP_SNI_CONF: '' } });
      await local('mode', 'block');
      await local('rst', 'on');
      await local('ports', '443');
      await local('exempt', 'set');
      expect(fileValues().MODE).toBe('monitor');
      const apply = await execa('ip', ['netns', 'exec', w.t.f, 'sh', join(repoRoot, 'packages', 'xdp-sni', 'files', 'xdp-sni-apply')], {
        reject: false,
        env: { ...process.env, ...w.t.env, ...w.applyEnv },
      });
      expect(apply.exitCode, apply.stderr).toBe(0);
      await w.startDaemon();
      const status = await w.ctl('status');
      expect(status).toMatch(/mode\s+monitor/);
      expect(status).toMatch(/rst\s+off/);
      expect(await w.ctl('ports')).toContain('ports 443,8443');
      expect((await w.ctl('exempt list')).split('\n').filter((l) => l.includes('/'))).toHaveLength(17);
    } finally {
      await w.ctl('mode block');
      await w.ctl('rst on');
      await w.ctl('ports 443');
      await w.ctl('exempt set');
    }
    expect(fileValues()).toMatchObject({ MODE: 'block', RST: 'on', PORTS: '443', EXEMPT: '' });
  });

  it('escape routes in the page: applied by the real xdp-sni-apply, saved in xdp-sni.conf; a value it refuses changes nothing', async () => {
    const conf = w.t.env.XDP_SNI_CONF;
    const servers = join(w.t.dir, 'run', 'dnsmasq.d', 'xdp-sni.servers');
    const value = (k: string) => new RegExp(`^${k}="?([a-z]*)"?$`, 'm').exec(readFileSync(conf, 'utf8'))?.[1];
    try {
      await page.goto(`${w.base}/`);
      expect(await page.inputValue('select[name=ECH]')).toBe('block');
      await page.selectOption('select[name=ECH]', 'log');
      await page.selectOption('select[name=DNS_CANARY]', 'no');
      await page.click('#doors button');
      await expect.poll(() => page.textContent('.flash')).toContain('DNS_CANARY=no, ECH=log');
      expect([value('ECH'), value('DNS_CANARY'), value('DNS_FILTER_HTTPS')]).toEqual(['log', 'no', 'yes']);
      // what the apply did: the canary out of dnsmasq's servers file, ech-public filled but blocked nowhere
      const srv = readFileSync(servers, 'utf8');
      expect(srv).not.toContain('use-application-dns.net');
      expect(srv).toContain('server=/dns.google/');
      expect(await w.ctl('category list')).toMatch(/^ech-public\t1$/m);
      expect(await w.ctl('group list')).toMatch(/^default\tmode=blocklist\tblock=blocklist,encrypted-dns\t/m);
      expect(await page.inputValue('select[name=ECH]')).toBe('log');

      // refused by xdp-sni-apply: exit 2, the file and the data plane as they were, no copy left
      const before = readFileSync(conf, 'utf8');
      const bad = await w.ctl('doors ECH drop');
      expect(bad).toMatch(/ECH must be allow, log or block, not 'drop'/);
      expect(bad).toMatch(/rc=2\s*$/);
      expect(readFileSync(conf, 'utf8')).toBe(before);
      expect(existsSync(`${conf}.apply`)).toBe(false);
      expect(await w.ctl('doors DNS_FILTER_HTTPS yes; ECH block')).toMatch(/rc=2\s*$/);
      expect(readFileSync(conf, 'utf8')).toBe(before);
    } finally {
      expect(await w.ctl('doors ECH block DNS_CANARY yes')).toMatch(/rc=0\s*$/);
    }
    expect(await w.ctl('group list')).toMatch(/^default\tmode=blocklist\tblock=blocklist,encrypted-dns,ech-public\t/m);
    expect(readFileSync(servers, 'utf8')).toContain('server=/use-application-dns.net/');
  });

  it('with the daemon stopped: the pages say so, show the settings file as the settings, offer no controls and no counts; the program still blocks', async () => {
    await w.ctl('add blocked.example');
    try {
      // a setting saved through the page, while the daemon runs
      await page.goto(`${w.base}/`);
      await page.fill('input[name=ports]', '443, 8443');
      await page.click('form:has(input[name=ports]) button');
      await expect.poll(() => page.textContent('.flash')).toContain('443,8443');
      expect((await clientCurl(w.t, 'blocked.example')).err).toMatch(/reset/i);
      await w.stopDaemon();
      try {
        // what the daemon's exit leaves: the program attached and pinned, still blocking
        const c = await clientCurl(w.t, 'blocked.example');
        expect(c.code).not.toBe(0);
        expect(c.err).toMatch(/reset/i);
        expect(String((await execa('ip', ['-n', w.t.f, 'link', 'show', 'f0'])).stdout)).toMatch(/xdp/);

        const home = await page.goto(`${w.base}/`);
        expect(home?.status()).toBe(503);
        const main = await page.textContent('main');
        expect(main).toContain('The daemon is not answering');
        expect(main).toContain('the data plane may still be enforcing the last settings');
        expect(main).not.toMatch(/not loaded|Enable|Disable/);
        expect(await page.locator('form[action="/action"]').count()).toBe(0);
        expect(await page.textContent('#saved')).toMatch(/Watched TCP ports\s*443,8443/);
        expect(await page.locator('.counters, #mode, #rst, #state, input[name=ports]').count()).toBe(0);
        await shot('overview-daemon-down');

        const list = await page.goto(`${w.base}/list`);
        expect(list?.status()).toBe(503);
        expect(await page.textContent('main')).not.toMatch(/in total|no names/);
        expect(await page.textContent('#unknown')).toContain('The daemon is not answering');
        expect(await page.locator('form[action="/action"]').count()).toBe(0);

        await page.goto(`${w.base}/log`);
        expect(await page.textContent('#unknown')).toContain('The daemon is not answering');
      } finally {
        await w.startDaemon();
      }
      await page.goto(`${w.base}/`);
      expect(await page.textContent('#attached')).toContain('f0 (native)');
      expect(await page.locator('#unknown').count()).toBe(0);
    } finally {
      await w.ctl('ports 443');
      await w.ctl('del blocked.example');
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

  it("lighttpd's own error responses (413, 431, 400, 500) carry the security headers and state the limit", async () => {
    const expectHeaders = (h: Record<string, string | string[] | undefined>, what: string) => {
      expect(h['content-security-policy'], what).toContain("frame-ancestors 'none'");
      expect(h['x-frame-options'], what).toBe('DENY');
      expect(h['x-content-type-options'], what).toBe('nosniff');
      expect(h['referrer-policy'], what).toBe('same-origin');
      expect(h['cache-control'], what).toBe('no-store');
      expect(h['cross-origin-opener-policy'], what).toBe('same-origin');
    };
    // an import over 8 MiB through the page: the page refuses it before a byte is sent
    await page.goto(`${w.base}/list`);
    expect(await page.textContent('form[enctype]')).toMatch(/at most 8 MiB/);
    const posts: string[] = [];
    const onReq = (r: { method(): string; url(): string }) => void (r.method() === 'POST' && posts.push(r.url()));
    page.on('request', onReq);
    await page.setInputFiles('input[name=file]', { name: 'big.txt', mimeType: 'text/plain', buffer: Buffer.alloc(9 << 20, 'a.example\n') });
    await page.click('form[enctype] button[type=submit]');
    const note = page.locator('form[enctype] p.error[role=alert]');
    await note.waitFor();
    expect(await note.textContent()).toMatch(/^Not sent: this upload is 9 MiB with the form, and an upload may be at most 8 MiB\./);
    await shot('upload-refused');
    // a file that fits goes out
    await page.setInputFiles('input[name=file]', { name: 'ok.txt', mimeType: 'text/plain', buffer: Buffer.from('fits.example\n') });
    await page.click('form[enctype] button[type=submit]');
    await page.waitForSelector('#report');
    page.off('request', onReq);
    expect(await page.textContent('#report')).toContain('1 line(s) accepted');
    expect(posts).toEqual([`${w.base}/action`]);
    expect(await w.ctl('del fits.example')).toBe('deleted fits.example\nrc=0\n');
    // lighttpd refuses the same upload sent anyway (a client without the script), by its Content-Length,
    // before the CGI runs; a client still sending the body may meet the closed connection before it
    // reads this answer (the race the page's check avoids)
    const r413 = await fetchRaw(`${w.base}/action`, { method: 'POST', headers: { 'content-type': 'text/plain', 'content-length': String((8 << 20) + 1) }, body: 'x' });
    expect(r413.status).toBe(413);
    expectHeaders(r413.headers, '413');
    expect(r413.body).toMatch(/at most 8 MiB/);
    // request headers over lighttpd's 8 KiB
    const r431 = await fetchRaw(`${w.base}/`, { headers: { 'x-big': 'a'.repeat(9000) } });
    expect(r431.status).toBe(431);
    expectHeaders(r431.headers, '431');
    // a header line HTTP does not allow
    const r400 = await rawRequest(w.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n');
    expect(r400.status).toBe(400);
    expectHeaders(r400.headers, '400');
    // a CGI that dies without a word: lighttpd's own 500
    const cgi = join(w.t.dir, 'webui', 'htdocs', 'index.cgi');
    const real = readFileSync(cgi);
    writeFileSync(cgi, 'process.exit(3);\n');
    try {
      const r500 = await fetchRaw(`${w.base}/`);
      expect(r500.status).toBe(500);
      expectHeaders(r500.headers, '500');
    } finally {
      writeFileSync(cgi, real);
    }
    expect((await fetchRaw(`${w.base}/login`)).status).toBe(200);
  });

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
  it('changes the password in the page (through the root helper): every other session is logged out, this browser stays in', async () => {
    const other = await plainLogin(PASSWORD);
    expect(other.status).toBe(303);
    expect((await fetchRaw(`${w.base}/`, { headers: { cookie: other.cookie } })).status).toBe(200);
    await page.goto(`${w.base}/`);
    await page.click('a[href="/password"]');
    await shot('password');
    await page.fill('input[name=current]', PASSWORD);
    await page.fill('input[name=next]', NEW_PASSWORD);
    await page.fill('input[name=again]', NEW_PASSWORD);
    await page.click('#change-password');
    await expect.poll(() => page.textContent('.flash')).toContain('Password changed');
    expect(new URL(page.url()).pathname).toBe('/');
    await shot('password-changed');
    // written by the helper as on the box: the new hash, 0640 root:www-data
    const st = statSync(w.passwdFile);
    const www = Number(readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith('www-data:'))?.split(':')[2]);
    expect([st.mode & 0o777, st.uid, st.gid]).toEqual([0o640, 0, www]);
    expect(verifyPassword(NEW_PASSWORD, readFileSync(w.passwdFile, 'utf8'))).toBe(true);
    // the other session's cookie is refused; this browser goes on
    const r = await fetchRaw(`${w.base}/`, { headers: { cookie: other.cookie } });
    expect([r.status, r.headers.location]).toEqual([303, '/login']);
    await page.goto(`${w.base}/list`);
    expect(new URL(page.url()).pathname).toBe('/list');
    expect((await plainLogin(PASSWORD)).status).toBe(403);
    expect((await plainLogin(NEW_PASSWORD)).status).toBe(303);
    expect(pageErrors).toEqual([]);
  });

  it('`index.cgi passwd` on the box ends every session, the browser\'s too', async () => {
    const other = await plainLogin(NEW_PASSWORD);
    expect(other.status).toBe(303);
    const r = await execa(process.execPath, [w.cgi, 'passwd', w.passwdFile], { input: `${PASSWORD}\n`, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await fetchRaw(`${w.base}/`, { headers: { cookie: other.cookie } })).status).toBe(303);
    await page.goto(`${w.base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect((await plainLogin(PASSWORD)).status).toBe(303);
  });
});
