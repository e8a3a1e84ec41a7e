// The policy pages (groups, categories, schedules, clients), export and
// policy import, and streamed/gzip imports, against the in-memory daemon
// stand-in: what each route sends to the daemon, what it refuses before
// sending anything, what it escapes, and that a change of several commands
// is undone when one is refused. The web layer runs them against the real daemon.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handle, LOGIN_COOKIE, SESSION_COOKIE, type Deps } from '../../webui/src/app.js';
import { hashPassword } from '../../lib/password.js';
import type { Config } from '../../webui/src/config.js';
import { parseCookies, type Req, type Res } from '../../webui/src/http.js';
import { parseLeases } from '../../webui/src/leases.js';
import { asWindows, spans } from '../../webui/src/pages/schedules.js';
import { parseWindows } from '../../webui/src/policy.js';
import { FakeDaemon } from './helpers/fake-daemon.js';

const HOST = 'fw.test:444';
let dir: string;
let cfg: Config;
let daemon: FakeDaemon;
let deps: Deps;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xdpfire-webui-pages-'));
  writeFileSync(join(dir, 'passwd'), `${hashPassword('correct horse')}\n`);
  cfg = { socket: join(dir, 'ctl.sock'), stateDir: join(dir, 'state'), confFile: join(dir, 'xdp-sni.conf'), passwdFile: join(dir, 'passwd'), passwdSocket: join(dir, 'passwd.sock'), leasesFile: join(dir, 'leases'), importMaxBytes: 1 << 20 };
  daemon = new FakeDaemon();
  deps = { cfg, ctl: daemon.ctl };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function req(method: string, url: string, o: { cookies?: Record<string, string>; form?: Record<string, string>; headers?: Record<string, string>; body?: Buffer; contentType?: string } = {}): Req {
  const u = new URL(url, `https://${HOST}`);
  return {
    method,
    path: u.pathname.replace(/\/+$/, '') || '/',
    query: u.searchParams,
    headers: { host: HOST, 'content-type': o.contentType ?? 'application/x-www-form-urlencoded', ...(o.headers ?? {}) },
    cookies: o.cookies ?? {},
    body: o.body ?? Buffer.from(o.form ? new URLSearchParams(o.form).toString() : ''),
  };
}
const header = (r: Res, name: string) => r.headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
const cookiesOf = (r: Res) => Object.fromEntries(header(r, 'Set-Cookie').map((c) => Object.entries(parseCookies(c.split(';')[0]))[0]));

type S = { cookies: Record<string, string>; csrf: string };
async function login(): Promise<S> {
  const g = await handle(req('GET', '/login'), deps);
  const lc = cookiesOf(g)[LOGIN_COOKIE];
  const p = await handle(req('POST', '/login', { cookies: { [LOGIN_COOKIE]: lc }, form: { csrf: lc, user: 'admin', password: 'correct horse' } }), deps);
  const cookies = { [SESSION_COOKIE]: cookiesOf(p)[SESSION_COOKIE] };
  const csrf = /name="csrf" value="([^"]+)"/.exec((await handle(req('GET', '/groups', { cookies }), deps)).body)![1];
  return { cookies, csrf };
}
const post = (s: S, form: Record<string, string>, headers: Record<string, string> = {}) =>
  handle(req('POST', '/action', { cookies: s.cookies, form: { csrf: s.csrf, ...form }, headers: { origin: `https://${HOST}`, 'sec-fetch-site': 'same-origin', ...headers } }), deps);
const get = async (s: S, url: string) => handle(req('GET', url, { cookies: s.cookies }), deps);
function multipart(s: S, fields: Record<string, string>, file?: { field: string; name: string; data: Buffer }): Req {
  const b = '----xdpfire';
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries({ csrf: s.csrf, ...fields })) parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file) parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), file.data, Buffer.from('\r\n'));
  parts.push(Buffer.from(`--${b}--\r\n`));
  return req('POST', '/action', { cookies: s.cookies, body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${b}`, headers: { origin: `https://${HOST}` } });
}
const errorOf = (r: Res) => /<p class="error"[^>]*>([^<]*)/.exec(r.body)?.[1];

describe('every new state change needs a session, the CSRF token and the same origin', () => {
  const changes: Record<string, string>[] = [
    { do: 'group-add', group: 'kids' },
    { do: 'group-set', group: 'default', mode: 'allow-only' },
    { do: 'client-add', group: 'default', addr: '10.0.0.5' },
    { do: 'cat-add', cat: 'social' },
    { do: 'sub-add', cat: 'blocklist', url: 'https://lists.example/a.txt', every: '1d' },
    { do: 'sched-cell', group: 'default', cell: '0-10', action: 'block', 'cat-blocklist': '1' },
    { do: 'policy-import', policy: '{}' },
  ];
  it('refuses each without a session, without or with a wrong token, and cross-site; nothing reaches the daemon', async () => {
    const s = await login();
    const before = daemon.calls.length;
    for (const f of changes) {
      expect((await handle(req('POST', '/action', { form: { csrf: s.csrf, ...f } }), deps)).status, `${f.do} anonymous`).toBe(403);
      expect((await post({ ...s, csrf: 'x'.repeat(43) }, f)).status, `${f.do} bad token`).toBe(403);
      expect((await post(s, f, { origin: 'https://evil.example' })).status, `${f.do} cross-origin`).toBe(403);
      expect((await post(s, f, { 'sec-fetch-site': 'cross-site' })).status, `${f.do} cross-site`).toBe(403);
    }
    expect(daemon.calls.length).toBe(before);
  });
});

describe('groups', () => {
  it('adds a group, sets its categories (checkboxes) and mode, adds and removes clients, removes it', async () => {
    daemon.cats.set('social', new Map());
    daemon.cats.set('school', new Map());
    const s = await login();
    expect((await post(s, { do: 'group-add', group: 'Kids!' })).status).toBe(400);
    expect(daemon.groups.length).toBe(1);
    expect((await post(s, { do: 'group-add', group: 'kids' })).status).toBe(303);
    const r = await post(s, { do: 'group-set', group: 'kids', mode: 'allow-only', 'block-social': '1', 'block-blocklist': '1', 'allow-school': '1' });
    expect(r.status).toBe(303);
    expect(daemon.groups.find((g) => g.name === 'kids')).toEqual({ name: 'kids', mode: 'allow-only', block: ['blocklist', 'social'], allow: ['school'] });
    const page = (await get(s, '/groups')).body;
    expect(page).toMatch(/name="block-social" value="1" aria-label="kids blocks social" checked/);
    expect(page).toMatch(/name="allow-social" value="1" aria-label="kids allows social">/);
    expect(page).toMatch(/<option value="allow-only" selected>/);
    expect((await post(s, { do: 'client-add', group: 'kids', addr: '192.168.1.64/26' })).status).toBe(303);
    expect((await post(s, { do: 'client-add', group: 'kids', addr: '02:11:22:33:44:55' })).status).toBe(303);
    expect(daemon.clients).toEqual([{ addr: '192.168.1.64/26', group: 'kids' }, { addr: '02:11:22:33:44:55', group: 'kids' }]);
    expect((await get(s, '/groups')).body).toContain('aria-label="Remove client 02:11:22:33:44:55"');
    expect((await post(s, { do: 'client-del', addr: '192.168.1.64/26' })).status).toBe(303);
    expect(daemon.clients.length).toBe(1);
    expect((await post(s, { do: 'group-del', group: 'kids' })).status).toBe(303);
    expect(daemon.groups.map((g) => g.name)).toEqual(['default']);
  });

  it('bad input changes nothing and says why, with the daemon\'s words, escaped', async () => {
    const s = await login();
    await post(s, { do: 'group-add', group: 'kids' });
    const bad = await post(s, { do: 'client-add', group: 'kids', addr: 'not an address' });
    expect(bad.status).toBe(400);
    expect(errorOf(bad)).toContain('a client is an IPv4 or IPv6 address or prefix');
    const refused = await post(s, { do: 'client-add', group: 'kids', addr: '10.0.0.300' });
    expect(refused.status).toBe(502);
    expect(errorOf(refused)).toContain('bad client &#x27;10.0.0.300&#x27;');
    expect(daemon.clients).toEqual([]);
    expect((await post(s, { do: 'group-set', group: 'kids', mode: 'sometimes' })).status).toBe(400);
    expect((await post(s, { do: 'group-del', group: 'default' })).status).toBe(502);
  });

  it('a change of several commands is undone when the daemon refuses one', async () => {
    daemon.cats.set('social', new Map());
    const s = await login();
    await post(s, { do: 'group-add', group: 'kids' });
    const before = JSON.stringify(daemon.groups);
    daemon.refuseSub.add('group mode');
    const r = await post(s, { do: 'group-set', group: 'kids', mode: 'allow-only', 'block-social': '1', 'allow-social': '1' });
    expect(r.status).toBe(502);
    expect(errorOf(r)).toContain('nothing was changed');
    expect(JSON.stringify(daemon.groups)).toBe(before);
  });
});

describe('categories and subscriptions', () => {
  it('adds and removes categories, with name counts and a link to their names', async () => {
    const s = await login();
    expect((await post(s, { do: 'cat-add', cat: 'bad name' })).status).toBe(400);
    expect((await post(s, { do: 'cat-add', cat: 'social' })).status).toBe(303);
    daemon.cats.get('social')!.set('a.example', 'exact');
    const page = (await get(s, '/categories')).body;
    expect(page).toMatch(/<td><a href="\/list\?cat&#x3D;social">social<\/a><\/td>\s*<td class="num">1<\/td>/);
    const list = (await get(s, '/list?cat=social')).body;
    expect(list).toContain('a.example');
    expect(list).toContain('<input type="hidden" name="cat" value="social">');
    expect((await post(s, { do: 'cat-del', cat: 'social' })).status).toBe(303);
    expect(daemon.cats.has('social')).toBe(false);
    expect((await post(s, { do: 'cat-del', cat: 'blocklist' })).status).toBe(502);
  });

  it('subscribes with a URL that has ?&=%, shows the last good update, names and last error, updates now, unsubscribes; refuses bad URLs and intervals', async () => {
    const s = await login();
    await post(s, { do: 'cat-add', cat: 'ads' });
    const url = 'https://lists.example/ads.txt?a=1&b=%20x';
    expect((await post(s, { do: 'sub-add', cat: 'ads', url, every: '2h' })).status).toBe(303);
    expect(daemon.calls).toContainEqual(['subscribe', 'add', 'ads', url, '--every=2h']);
    const page = (await get(s, '/categories')).body;
    expect(page).toContain('follows <code class="url">https://lists.example/ads.txt?a&#x3D;1&amp;b&#x3D;%20x</code> every 2h');
    expect(page).toContain('last error: download failed: curl: (7) Failed to connect');
    expect(page).toContain('last good update: <span class="ok-time">never</span>, 0 names');
    // a new URL replaces the subscription
    expect((await post(s, { do: 'sub-add', cat: 'ads', url: 'http://other.example/x', every: '1d' })).status).toBe(303);
    expect(daemon.subs.get('ads')).toEqual({ url: 'http://other.example/x', every: '1d' });
    for (const bad of ['ftp://x.example/a', 'https://x.example/a b', 'javascript:alert(1)', 'https://x.example/\u00e9']) {
      const r = await post(s, { do: 'sub-add', cat: 'ads', url: bad, every: '1d' });
      expect(r.status, bad).toBe(400);
    }
    expect((await post(s, { do: 'sub-add', cat: 'ads', url: 'https://x.example/', every: '5s' })).status).toBe(400);
    expect(daemon.subs.get('ads')).toEqual({ url: 'http://other.example/x', every: '1d' });
    expect((await post(s, { do: 'sub-update', cat: 'ads' })).status).toBe(303);
    expect(daemon.calls).toContainEqual(['subscribe', 'update', 'ads']);
    expect((await post(s, { do: 'sub-del', cat: 'ads' })).status).toBe(303);
    expect(daemon.subs.size).toBe(0);
  });
});

describe('imports into a category', () => {
  it('a gzip upload is unpacked and streamed; one that unpacks past the limit, or is not gzip, is refused whole', async () => {
    const s = await login();
    const names = Array.from({ length: 5000 }, (_, i) => `gz${i}.example`).join('\n');
    const r = await handle(multipart(s, { do: 'import' }, { field: 'file', name: 'list.txt.gz', data: gzipSync(names) }), deps);
    expect(r.status).toBe(200);
    expect(r.body).toContain('5000 line(s) accepted (5000 name(s): 5000 new');
    expect(daemon.names.size).toBe(5000);
    const bomb = gzipSync(Buffer.alloc(2 << 20, 'a.example\n'));
    const b = await handle(multipart(s, { do: 'import' }, { field: 'file', name: 'bomb.gz', data: bomb }), deps);
    expect(b.status).toBe(400);
    expect(errorOf(b)).toContain('bomb.gz: it unpacks to more than 1 MiB');
    const cut = await handle(multipart(s, { do: 'import' }, { field: 'file', name: 'cut.gz', data: gzipSync(names).subarray(0, 100) }), deps);
    expect(errorOf(cut)).toContain('it is not a whole gzip file');
    expect(daemon.names.size).toBe(5000);
  });
});

describe('schedules', () => {
  it('windows as the week\'s minutes and back: over midnight, 24:00, days together', () => {
    const w = parseWindows('1\tkids daily 21:00-07:00 allow-only school\tclosed\n2\tkids mon,tue 23:30-24:00 block social\topen\n');
    expect(w.map((x) => [x.n, x.days, x.start, x.end, x.action, x.cats, x.open])).toEqual([[1, 0x7f, 1260, 420, 'allow-only', ['school'], false], [2, 3, 1410, 1440, 'block', ['social'], true]]);
    expect(spans(w[1])).toEqual([[1410, 1440], [1440 + 1410, 2880]]);
    expect(spans({ days: 1 << 6, start: 1260, end: 420 })).toEqual([[6 * 1440 + 1260, 7 * 1440], [0, 420]]); // Sunday night into Monday
    expect(asWindows([[0, 60], [1440, 1500], [3000, 3100]])).toEqual([{ days: 3, start: 0, end: 60 }, { days: 4, start: 120, end: 220 }]);
  });

  it('a click on an empty cell adds a window, the next one merges with it, a click on a marked cell clears it', async () => {
    daemon.cats.set('social', new Map());
    const s = await login();
    await post(s, { do: 'group-add', group: 'kids' });
    const cell = (c: string, extra: Record<string, string> = {}) => post(s, { do: 'sched-cell', group: 'kids', cell: c, action: 'block', 'cat-social': '1', ...extra });
    expect((await cell('0-10')).status).toBe(303);
    expect(daemon.windows).toEqual([{ group: 'kids', days: 'mon', span: '10:00-11:00', action: 'block', cats: 'social' }]);
    expect((await cell('0-11')).status).toBe(303);
    expect(daemon.windows).toEqual([{ group: 'kids', days: 'mon', span: '10:00-12:00', action: 'block', cats: 'social' }]);
    const grid = (await get(s, '/schedules?group=kids')).body;
    expect(grid).toMatch(/class="cell block" id="cell-0-10"/);
    expect(grid).toMatch(/class="cell block" id="cell-0-11"/);
    expect(grid).toMatch(/class="cell " id="cell-0-12"/);
    expect((await cell('0-10')).status).toBe(303);
    expect(daemon.windows).toEqual([{ group: 'kids', days: 'mon', span: '11:00-12:00', action: 'block', cats: 'social' }]);
    // a window of several days loses one hour of one day
    daemon.windows = [{ group: 'kids', days: 'mon,tue,wed,thu,fri', span: '08:00-16:00', action: 'block', cats: 'social' }];
    expect((await cell('2-9')).status).toBe(303);
    expect(daemon.windows.map((w) => `${w.days} ${w.span}`).sort()).toEqual(['mon,tue,thu,fri 08:00-16:00', 'wed 08:00-09:00', 'wed 10:00-16:00']);
    // over midnight: a window the grid shows in two days
    daemon.windows = [{ group: 'kids', days: 'sun', span: '21:00-07:00', action: 'allow-only', cats: 'social' }];
    const g2 = (await get(s, '/schedules?group=kids')).body;
    expect(g2).toMatch(/class="cell allow-only" id="cell-6-22"/);
    expect(g2).toMatch(/class="cell allow-only" id="cell-0-6"/);
    expect(g2).toMatch(/class="cell " id="cell-0-7"/);
  });

  it('refuses what it cannot do, and undoes its own adds when the daemon refuses a delete', async () => {
    daemon.cats.set('social', new Map());
    const s = await login();
    await post(s, { do: 'group-add', group: 'kids' });
    expect((await post(s, { do: 'sched-cell', group: 'kids', cell: '0-10', action: 'block' })).status).toBe(400); // no category ticked
    expect((await post(s, { do: 'sched-cell', group: 'kids', cell: '7-10', action: 'block', 'cat-social': '1' })).status).toBe(400);
    expect((await post(s, { do: 'sched-cell', group: 'kids', cell: '0-24', action: 'block', 'cat-social': '1' })).status).toBe(400);
    expect((await post(s, { do: 'sched-cell', group: 'kids', cell: '0-1', action: 'maybe', 'cat-social': '1' })).status).toBe(400);
    expect((await post(s, { do: 'sched-cell', group: 'nobody', cell: '0-1', action: 'block', 'cat-social': '1' })).status).toBe(404);
    expect(daemon.windows).toEqual([]);
    daemon.windows = [{ group: 'kids', days: 'mon,tue', span: '08:00-10:00', action: 'block', cats: 'social' }];
    daemon.refuseOnce.add('schedule del');
    const r = await post(s, { do: 'sched-cell', group: 'kids', cell: '0-8', action: 'block', 'cat-social': '1' });
    expect(r.status).toBe(502);
    expect(errorOf(r)).toContain('nothing was changed');
    expect(daemon.windows).toEqual([{ group: 'kids', days: 'mon,tue', span: '08:00-10:00', action: 'block', cats: 'social' }]);
  });

  it('concurrent clicks (separate requests at once) all land: the policy lock keeps window numbers true', async () => {
    daemon.cats.set('social', new Map());
    const s = await login();
    await post(s, { do: 'group-add', group: 'kids' });
    // a daemon that answers a little later, so that requests interleave
    const inner = daemon.ctl;
    deps.ctl = async (a, b) => {
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      return inner(a, b);
    };
    const rs = await Promise.all(Array.from({ length: 10 }, (_, h) => post(s, { do: 'sched-cell', group: 'kids', cell: `0-${h}`, action: 'block', 'cat-social': '1' })));
    expect(rs.map((r) => r.status)).toEqual(Array(10).fill(303));
    // ten adjacent hours, clicked at once, end as one window
    expect(daemon.windows).toEqual([{ group: 'kids', days: 'mon', span: '00:00-10:00', action: 'block', cats: 'social' }]);
  });
});

describe('clients', () => {
  it('each client of the history with its DHCP host name (escaped) and MAC, group, counts and recent names; a form by address or MAC', async () => {
    writeFileSync(cfg.leasesFile, `${Math.floor(Date.now() / 1000) + 3600} 02:AA:bb:cc:dd:01 10.0.0.5 kid\u202Elaptop 01:02:aa:bb:cc:dd:01\n0 bad line\n`);
    const now = Math.floor(Date.now() / 1000);
    daemon.event({ t: now - 120, client: '10.0.0.5', grp: 'kids', cats: 'social', verdict: 'block', sni: Buffer.from('social.example') });
    daemon.event({ t: now - 60, client: '10.0.0.5', grp: 'kids', cats: '-', verdict: 'pass', sni: Buffer.from('<b>x</b>.example') });
    daemon.event({ t: now - 60, client: '10.0.0.9', grp: 'default', cats: '-', verdict: 'pass', sni: Buffer.from('y.example') });
    daemon.groups.push({ name: 'kids', mode: 'blocklist', block: [], allow: [] });
    daemon.clients.push({ addr: '02:aa:bb:cc:dd:01', group: 'kids' });
    const s = await login();
    const page = (await get(s, '/clients')).body;
    const row = /<tr id="client-10-0-0-5">[\s\S]*?<\/tr>/.exec(page)![0];
    expect(row).toContain('kid<span class="esc">\\u202E</span>laptop');
    expect(row).not.toContain('\u202E');
    expect(row).toContain('02:aa:bb:cc:dd:01');
    expect(row).toContain('kids <span class="hint">(02:aa:bb:cc:dd:01)</span>');
    expect(row).toMatch(/<td class="num">2<\/td>\s*<td class="num blocked-count">1<\/td>/);
    expect(row).toContain('&lt;b&gt;x&lt;/b&gt;.example');
    expect(row).toContain('<option value="02:aa:bb:cc:dd:01">by MAC 02:aa:bb:cc:dd:01</option>');
    expect(page).toContain('<tr id="client-10-0-0-9">');
    const r = await post(s, { do: 'client-add', group: 'default', addr: '10.0.0.9', back: 'clients' });
    expect(header(r, 'Location')).toEqual(['/clients']);
    expect(daemon.clients).toContainEqual({ addr: '10.0.0.9', group: 'default' });
    expect(parseLeases('1 aa:bb:cc:dd:ee:ff 10.0.0.7 * *\n')).toEqual([{ expiry: 1000, mac: 'aa:bb:cc:dd:ee:ff', ip: '10.0.0.7', hostname: undefined }]);
  });
});

describe('export and policy import', () => {
  it('downloads with Content-Disposition: attachment and the right content type; a bad request is refused', async () => {
    const s = await login();
    for (const [what, format, type] of [['policy', 'json', 'application/json; charset=utf-8'], ['policy', 'csv', 'text/csv; charset=utf-8'], ['lists', 'csv', 'text/csv; charset=utf-8'], ['lists', 'json', 'application/json; charset=utf-8'], ['history', 'csv', 'text/csv; charset=utf-8'], ['history', 'json', 'application/json; charset=utf-8']]) {
      const r = await get(s, `/export?what=${what}&format=${format}`);
      expect(r.status).toBe(200);
      expect(header(r, 'Content-Type')).toEqual([type]);
      expect(header(r, 'Content-Disposition')[0]).toMatch(new RegExp(`^attachment; filename="xdp-sni-${what}-\\d{8}\\.${format}"$`));
      expect(header(r, 'X-Content-Type-Options')).toEqual(['nosniff']);
      expect(daemon.calls).toContainEqual(['export', what, `--format=${format}`]);
    }
    expect((await get(s, '/export?what=passwords&format=json')).status).toBe(400);
    expect((await get(s, '/export?what=policy&format=xml')).status).toBe(400);
  });

  it('imports a policy export after checking it against the schema and with the daemon; clear errors, nothing changed on any', async () => {
    const s = await login();
    const good = { format: 'xdp-sni-policy', version: 1, categories: [{ name: 'blocklist' }, { name: 'social' }], groups: [{ name: 'default', mode: 'blocklist', block: ['blocklist'], allow: [], clients: [], windows: [] }, { name: 'kids', mode: 'allow-only', block: [], allow: ['social'], clients: ['10.0.0.0/24'], windows: [] }] };
    const up = (text: string, fields: Record<string, string> = {}) => handle(multipart(s, { do: 'policy-import', ...fields }, { field: 'file', name: 'policy.json', data: Buffer.from(text) }), deps);
    const notJson = await up('{"format": ');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toContain('not valid JSON');
    const bad = await up(JSON.stringify({ ...good, groups: [{ ...good.groups[1], name: '<Kids>', extra: 1 }] }));
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('is not a valid xdp-sni policy export');
    expect(bad.body).toContain('/groups/0/name: must match pattern');
    expect(bad.body).toContain('must NOT have additional properties (&quot;extra&quot;)');
    const unknownCat = await up(JSON.stringify({ ...good, groups: [{ ...good.groups[1], allow: ['games'] }] }));
    expect(unknownCat.status).toBe(400);
    expect(errorOf(unknownCat)).toContain('no category &#x27;games&#x27; in the file; nothing changed');
    expect(daemon.calls.some((c) => c[0] === 'policy' && c[1] === 'import')).toBe(false);
    const check = await up(JSON.stringify(good), { check: '1' });
    expect(check.status).toBe(303);
    expect(daemon.calls.some((c) => c[0] === 'policy' && c[1] === 'import')).toBe(false);
    expect(daemon.groups.map((g) => g.name)).toEqual(['default']);
    const ok = await up(JSON.stringify(good));
    expect(ok.status).toBe(303);
    expect(daemon.bodies.at(-1)!.toString()).toBe(`${JSON.stringify(good)}\n.\n`);
    expect(daemon.groups.map((g) => g.name)).toEqual(['default', 'kids']);
  });
});
