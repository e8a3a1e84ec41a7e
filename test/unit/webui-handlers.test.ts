// The web UI's request handler against an in-memory stand-in for the
// xdp-sni control socket: rendering, validation, CSRF, escaping, paging,
// all-or-nothing imports.
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handle, LOGIN_COOKIE, SECURITY_HEADERS, SESSION_COOKIE, type Deps } from '../../webui/src/app.js';
import { hashPassword, verifyPassword } from '../../lib/password.js';
import { bundleWebui } from '../../webui/bundle.js';
import { limiterDir, type Config } from '../../webui/src/config.js';
import { LoginLimiter } from '../../webui/src/limiter.js';
import { changePassword } from '../../webui/src/passwd.js';
import { passwdClient, PasswdServiceError, serveOne } from '../../webui/src/passwd-service.js';
import { socketCtl, type Ctl } from '../../webui/src/ctl.js';
import { MAX_BODY, parseCookies, type Req, type Res } from '../../webui/src/http.js';
import { normaliseDomain, parseImport } from '../../webui/src/domains.js';
import { FakeDaemon } from './helpers/fake-daemon.js';

const HOST = 'fw.test:444';
let dir: string;
let cfg: Config;
let daemon: FakeDaemon;
let deps: Deps;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xdpfire-webui-'));
  writeFileSync(join(dir, 'passwd'), `${hashPassword('correct horse')}\n`);
  cfg = { socket: '/nonexistent', stateDir: join(dir, 'state'), confFile: join(dir, 'xdp-sni.conf'), passwdFile: join(dir, 'passwd'), passwdSocket: join(dir, 'passwd.sock'), leasesFile: join(dir, 'leases'), importMaxBytes: 64 << 20 };
  daemon = new FakeDaemon();
  // password changes: what the root helper runs, in process
  deps = { cfg, ctl: daemon.ctl, passwd: (current, next) => changePassword(cfg.passwdFile, current, next) };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function req(method: string, url: string, o: { cookies?: Record<string, string>; form?: Record<string, string>; headers?: Record<string, string>; body?: Buffer; contentType?: string } = {}): Req {
  const u = new URL(url, `https://${HOST}`);
  const body = o.body ?? Buffer.from(o.form ? new URLSearchParams(o.form).toString() : '');
  return {
    method,
    path: u.pathname.replace(/\/+$/, '') || '/',
    query: u.searchParams,
    headers: { host: HOST, 'content-type': o.contentType ?? 'application/x-www-form-urlencoded', ...(o.headers ?? {}) },
    cookies: o.cookies ?? {},
    body,
  };
}

const header = (r: Res, name: string) => r.headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
function setCookies(r: Res): Record<string, string> {
  return Object.fromEntries(header(r, 'Set-Cookie').map((c) => Object.entries(parseCookies(c.split(';')[0]))[0]));
}

async function login(password = 'correct horse'): Promise<{ cookies: Record<string, string>; csrf: string }> {
  const g = await handle(req('GET', '/login'), deps);
  const lc = setCookies(g)[LOGIN_COOKIE];
  const token = /name="csrf" value="([^"]+)"/.exec(g.body)![1];
  const p = await handle(req('POST', '/login', { cookies: { [LOGIN_COOKIE]: lc }, form: { csrf: token, user: 'admin', password } }), deps);
  expect(p.status).toBe(303);
  const cookies = { [SESSION_COOKIE]: setCookies(p)[SESSION_COOKIE] };
  const home = await handle(req('GET', '/', { cookies }), deps);
  const csrf = /name="csrf" value="([^"]+)"/.exec(home.body)![1];
  return { cookies, csrf };
}

async function post(s: { cookies: Record<string, string>; csrf: string }, form: Record<string, string>, headers: Record<string, string> = {}) {
  return handle(req('POST', '/action', { cookies: s.cookies, form: { csrf: s.csrf, ...form }, headers: { origin: `https://${HOST}`, 'sec-fetch-site': 'same-origin', ...headers } }), deps);
}

describe('authentication', () => {
  it('sends anonymous visitors to the login page and refuses anonymous POSTs', async () => {
    const r = await handle(req('GET', '/'), deps);
    expect(r.status).toBe(303);
    expect(header(r, 'Location')).toEqual(['/login']);
    expect((await handle(req('GET', '/log?partial=1'), deps)).status).toBe(401);
    const p = await handle(req('POST', '/action', { form: { do: 'add', name: 'x.example', csrf: 'x' } }), deps);
    expect(p.status).toBe(403);
    expect(daemon.calls).toEqual([]);
  });

  it('logs in with the password, with a __Host- session cookie (Secure, HttpOnly, SameSite=Strict)', async () => {
    const g = await handle(req('GET', '/login'), deps);
    const lc = setCookies(g)[LOGIN_COOKIE];
    const token = /name="csrf" value="([^"]+)"/.exec(g.body)![1];
    expect(token).toBe(lc);
    const bad = await handle(req('POST', '/login', { cookies: { [LOGIN_COOKIE]: lc }, form: { csrf: token, password: 'wrong' } }), deps);
    expect(bad.status).toBe(403);
    expect(bad.body).toContain('Wrong password');
    const noToken = await handle(req('POST', '/login', { cookies: { [LOGIN_COOKIE]: lc }, form: { password: 'correct horse' } }), deps);
    expect(noToken.status).toBe(403);
    const ok = await handle(req('POST', '/login', { cookies: { [LOGIN_COOKIE]: lc }, form: { csrf: token, password: 'correct horse' } }), deps);
    expect(ok.status).toBe(303);
    const sc = header(ok, 'Set-Cookie').find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    expect(sc).toMatch(/; Path=\/; Secure; HttpOnly; SameSite=Strict/);
    // the store keeps a hash of the id, never the id
    const id = setCookies(ok)[SESSION_COOKIE];
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(cfg.stateDir, 'sessions')).join(' ')).not.toContain(id);
  });

  it('locks the login after 5 failures from one address', async () => {
    const g = await handle(req('GET', '/login'), deps);
    const lc = setCookies(g)[LOGIN_COOKIE];
    for (let i = 0; i < 5; i++) await handle(req('POST', '/login', { cookies: { [LOGIN_COOKIE]: lc }, form: { csrf: lc, password: `guess${i}` } }), deps);
    const r = await handle(req('POST', '/login', { cookies: { [LOGIN_COOKIE]: lc }, form: { csrf: lc, password: 'correct horse' } }), deps);
    expect(r.status).toBe(429);
    // another client address may still log in
    const other = { ...req('POST', '/login', { cookies: { [LOGIN_COOKIE]: lc }, form: { csrf: lc, password: 'correct horse' } }), remoteAddr: '192.0.2.9' };
    expect((await handle(other, deps)).status).toBe(303);
  });

  it('concurrent logins from two addresses, each a CGI process of its own: exactly 5 per address are checked; an idle third address is not touched', async () => {
    // C has 4 failures before the bursts and sends nothing during them
    const g = await handle(req('GET', '/login'), deps);
    const lc = setCookies(g)[LOGIN_COOKIE];
    const fromC = (password: string) => handle({ ...req('POST', '/login', { cookies: { [LOGIN_COOKIE]: lc }, form: { csrf: lc, password } }), remoteAddr: '192.0.2.3' }, deps);
    for (let i = 0; i < 4; i++) expect((await fromC(`c${i}`)).status).toBe(403);
    const cFile = new LoginLimiter(limiterDir(cfg)).file('192.0.2.3');
    const cBefore = { text: readFileSync(cFile, 'utf8'), mtime: statSync(cFile).mtimeMs };

    // the real CGI program, bundled as for the box, one process per request as lighttpd runs it
    const cgi = await bundleWebui(join(dir, 'bundle'));
    const per = 8;
    const body = (i: number) => new URLSearchParams({ csrf: lc, user: 'admin', password: `wrong${i}` }).toString();
    const jobs = ['192.0.2.1', '192.0.2.2'].flatMap((addr) =>
      Array.from({ length: per }, (_, i) =>
        execa(process.execPath, [cgi], {
          reject: false,
          env: {
            REQUEST_METHOD: 'POST', REQUEST_URI: '/login', REMOTE_ADDR: addr, HTTP_HOST: HOST, HTTP_COOKIE: `${LOGIN_COOKIE}=${lc}`,
            CONTENT_TYPE: 'application/x-www-form-urlencoded', CONTENT_LENGTH: String(body(i).length),
            XDPFIRE_WEBUI_STATE: cfg.stateDir, XDPFIRE_WEBUI_PASSWD: cfg.passwdFile, XDPFIRE_WEBUI_SOCKET: '/nonexistent',
          },
          extendEnv: false,
        }),
      ),
    );
    // start them together: send the bodies once every process waits in read(0, ...) for its request
    const reading = (pid?: number) => { try { return readFileSync(`/proc/${pid}/syscall`, 'utf8').startsWith('0 0x0 '); } catch { return false; } };
    const deadline = Date.now() + 45_000;
    while (!jobs.every((j) => reading(j.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    jobs.forEach((j, n) => j.stdin?.end(body(n % per)));
    const results = await Promise.all(jobs);
    expect(results.filter((r) => r.exitCode !== 0).map((r) => r.stderr)).toEqual([]);
    const statuses = (a: number) => results.slice(a * per, (a + 1) * per).map((r) => Number(/^Status: (\d+)/.exec(String(r.stdout))?.[1])).sort();
    // 403 = the password was checked (and recorded as wrong); 429 = refused unchecked
    expect(statuses(0)).toEqual([403, 403, 403, 403, 403, 429, 429, 429]);
    expect(statuses(1)).toEqual([403, 403, 403, 403, 403, 429, 429, 429]);

    // C's record was not read-and-rewritten by anyone: same bytes, same mtime; one more failure locks it
    expect({ text: readFileSync(cFile, 'utf8'), mtime: statSync(cFile).mtimeMs }).toEqual(cBefore);
    expect((await fromC('c4')).status).toBe(403);
    expect((await fromC('correct horse')).status).toBe(429);
  }, 60_000);

  it('logs out only with the CSRF token', async () => {
    const s = await login();
    const noTok = await handle(req('POST', '/logout', { cookies: s.cookies, form: {} }), deps);
    expect(noTok.status).toBe(403);
    const out = await handle(req('POST', '/logout', { cookies: s.cookies, form: { csrf: s.csrf } }), deps);
    expect(out.status).toBe(303);
    expect((await handle(req('GET', '/', { cookies: s.cookies }), deps)).status).toBe(303);
  });
});

describe('password change', () => {
  const NEW = 'N3w-admin-password';
  const passwordPost = (s: { cookies: Record<string, string>; csrf: string }, form: Record<string, string>, headers: Record<string, string> = {}) =>
    handle(req('POST', '/password', { cookies: s.cookies, form: { csrf: s.csrf, ...form }, headers: { origin: `https://${HOST}`, 'sec-fetch-site': 'same-origin', ...headers } }), deps);
  const stillOld = () => verifyPassword('correct horse', readFileSync(cfg.passwdFile, 'utf8'));

  it('the page asks for the current password and the new one twice; refused without the token, cross-site, mismatched, weak or with a wrong current password', async () => {
    const s = await login();
    const g = await handle(req('GET', '/password', { cookies: s.cookies }), deps);
    expect(g.status).toBe(200);
    for (const n of ['current', 'next', 'again', 'csrf']) expect(g.body).toContain(`name="${n}"`);
    expect((await handle(req('GET', '/password'), deps)).status).toBe(303); // anonymous: to the login
    const good = { current: 'correct horse', next: NEW, again: NEW };
    expect((await handle(req('POST', '/password', { form: good, headers: { origin: `https://${HOST}` } }), deps)).status).toBe(403); // no session
    expect((await passwordPost({ ...s, csrf: '' }, good)).status).toBe(403);
    expect((await passwordPost(s, good, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await passwordPost(s, good, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    const mismatch = await passwordPost(s, { ...good, again: `${NEW}x` });
    expect([mismatch.status, mismatch.body]).toEqual([400, expect.stringContaining('the two new passwords differ')]);
    const weak = await passwordPost(s, { ...good, next: 'Sh0rt!', again: 'Sh0rt!' });
    expect([weak.status, weak.body]).toEqual([400, expect.stringContaining('too short')]);
    const wrong = await passwordPost(s, { ...good, current: 'not it' });
    expect([wrong.status, wrong.body]).toEqual([403, expect.stringContaining('the current password is wrong')]);
    expect(stillOld()).toBe(true);
    // the session still works after all of it
    expect((await handle(req('GET', '/', { cookies: s.cookies }), deps)).status).toBe(200);
  });

  it('a wrong current password counts against the address like a failed login', async () => {
    const s = await login();
    for (let i = 0; i < 5; i++) expect((await passwordPost(s, { current: `guess${i}`, next: NEW, again: NEW })).status).toBe(403);
    const r = await passwordPost(s, { current: 'correct horse', next: NEW, again: NEW });
    expect(r.status).toBe(429);
    expect(stillOld()).toBe(true);
  });

  it('changes it (0640, atomically): every other session is refused, this browser gets a new one, the old password no longer logs in', async () => {
    const a = await login();
    const b = await login();
    const r = await passwordPost(a, { current: 'correct horse', next: NEW, again: NEW });
    expect(r.status).toBe(303);
    expect(header(r, 'Location')).toEqual(['/']);
    expect(verifyPassword(NEW, readFileSync(cfg.passwdFile, 'utf8'))).toBe(true);
    expect(statSync(cfg.passwdFile).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    // the other session and the changing browser's old cookie: refused
    expect((await handle(req('GET', '/', { cookies: b.cookies }), deps)).status).toBe(303);
    expect((await handle(req('POST', '/action', { cookies: b.cookies, form: { csrf: b.csrf, do: 'add', name: 'x.example' }, headers: { origin: `https://${HOST}` } }), deps)).status).toBe(403);
    expect((await handle(req('GET', '/', { cookies: a.cookies }), deps)).status).toBe(303);
    // the new cookie works
    const renewed = { [SESSION_COOKIE]: setCookies(r)[SESSION_COOKIE] };
    expect(renewed[SESSION_COOKIE]).not.toBe(a.cookies[SESSION_COOKIE]);
    const home = await handle(req('GET', '/', { cookies: renewed }), deps);
    expect(home.status).toBe(200);
    expect(home.body).toContain('Password changed');
    // logins: the old password fails, the new one works
    const g = await handle(req('GET', '/login'), deps);
    const lc = setCookies(g)[LOGIN_COOKIE];
    expect((await handle(req('POST', '/login', { cookies: { [LOGIN_COOKIE]: lc }, form: { csrf: lc, password: 'correct horse' } }), deps)).status).toBe(403);
    expect((await handle(req('POST', '/login', { cookies: { [LOGIN_COOKIE]: lc }, form: { csrf: lc, password: NEW } }), deps)).status).toBe(303);
  });

  it('`webui.cjs passwd` (as root on the box) ends every session', async () => {
    const s = await login();
    const r = await execa(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', '..', 'webui', 'src', 'main.ts'), 'passwd', cfg.passwdFile], { input: `${NEW}\n`, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(verifyPassword(NEW, readFileSync(cfg.passwdFile, 'utf8'))).toBe(true);
    expect((await handle(req('GET', '/', { cookies: s.cookies }), deps)).status).toBe(303);
    expect((await handle(req('GET', '/log?partial=1', { cookies: s.cookies }), deps)).status).toBe(401);
  });

  it('no password file: no session is valid', async () => {
    const s = await login();
    rmSync(cfg.passwdFile);
    expect((await handle(req('GET', '/', { cookies: s.cookies }), deps)).status).toBe(303);
  });

  it('the root helper over its socket: checks the current password itself; the CGI side reports a missing or silent helper', async () => {
    const sock = cfg.passwdSocket;
    const srv = createServer((conn) => void serveOne(conn, conn, cfg.passwdFile).catch(() => conn.destroy()));
    await new Promise<void>((r) => srv.listen(sock, () => r()));
    try {
      const client = passwdClient(sock);
      expect(await client('wrong', NEW)).toMatchObject({ ok: false, why: 'wrong-current' });
      expect(await client('correct horse', 'weak')).toMatchObject({ ok: false, why: 'weak' });
      expect(stillOld()).toBe(true);
      expect(await client('correct horse', NEW)).toEqual({ ok: true, fingerprint: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
      expect(verifyPassword(NEW, readFileSync(cfg.passwdFile, 'utf8'))).toBe(true);
    } finally {
      await new Promise((r) => srv.close(r));
    }
    await expect(passwdClient(sock)('a', 'b')).rejects.toThrow(PasswdServiceError);
    // through the page: the error is shown, nothing changes
    const s = await login(NEW);
    const r = await handle(req('POST', '/password', { cookies: s.cookies, form: { csrf: s.csrf, current: NEW, next: 'An0ther-password', again: 'An0ther-password' }, headers: { origin: `https://${HOST}` } }), { cfg, ctl: daemon.ctl });
    expect(r.status).toBe(503);
    expect(r.body).toContain('password service');
  });
});

describe('headers and CSRF', () => {
  it('every page has a strict CSP, frame-ancestors/X-Frame-Options and no-store', async () => {
    const s = await login();
    for (const url of ['/', '/list', '/log', '/login', '/nope']) {
      const r = await handle(req('GET', url, { cookies: s.cookies }), deps);
      const csp = header(r, 'Content-Security-Policy')[0];
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe');
      expect(header(r, 'X-Frame-Options')).toEqual(['DENY']);
      expect(header(r, 'Cache-Control')).toEqual(['no-store']);
    }
  });

  it('refuses state changes without the token, with a wrong one, or cross-site', async () => {
    const s = await login();
    const before = daemon.calls.length;
    expect((await post({ ...s, csrf: '' }, { do: 'add', name: 'a.example' })).status).toBe(403);
    expect((await post({ ...s, csrf: 'A'.repeat(43) }, { do: 'add', name: 'a.example' })).status).toBe(403);
    expect((await post(s, { do: 'add', name: 'a.example' }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(s, { do: 'add', name: 'a.example' }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post(s, { do: 'add', name: 'a.example' }, { 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect(daemon.calls.length).toBe(before);
    expect(daemon.names.size).toBe(0);
    // GET never changes anything
    await handle(req('GET', '/action?do=add&name=a.example', { cookies: s.cookies }), deps);
    expect(daemon.names.size).toBe(0);
  });
});

describe('blocklist', () => {
  it('adds a name with the CLI rules (normalised; *. and the checkbox mean subdomains)', async () => {
    const s = await login();
    const r = await post(s, { do: 'add', name: '*.Ads.Example.COM.' });
    expect(r.status).toBe(303);
    expect(daemon.calls).toContainEqual(['add', 'ads.example.com', 'subdomains']);
    await post(s, { do: 'add', name: 'one.example', subdomains: '1' });
    await post(s, { do: 'add', name: 'two.example' });
    expect(Object.fromEntries(daemon.names)).toEqual({ 'ads.example.com': 'subdomains', 'one.example': 'subdomains', 'two.example': 'exact' });
    const page = await handle(req('GET', '/list', { cookies: s.cookies }), deps);
    expect(page.body).toContain('Added two.example.');
  });

  it('rejects bad names with the reason in the page, escaped, and changes nothing', async () => {
    const s = await login();
    for (const [name, why] of [
      ['<img src=x onerror=alert(1)>', "invalid character '<'"],
      ['-bad.example', "label starts with '-'"],
      ['a..b', 'empty label'],
      [`${'a'.repeat(64)}.example`, 'label longer than 63 bytes'],
      ['bücher.example', 'punycode'],
      [Array(128).fill('a').join('.'), 'the limit is 253'],
      [Array(140).fill('a').join('.'), 'longer than 253 bytes'],
    ]) {
      const r = await post(s, { do: 'add', name });
      expect(r.status, name).toBe(400);
      expect(r.body).toContain(why.replace(/'/g, '&#x27;').replace(/</g, '&lt;'));
      expect(r.body).not.toContain('<img src=x');
    }
    expect(daemon.calls.some((c) => c[0] === 'add')).toBe(false);
  });

  it('removes a listed name and refuses one that is not listed', async () => {
    const s = await login();
    daemon.names.set('gone.example', 'exact');
    expect((await post(s, { do: 'del', name: 'gone.example', back: '/list?q=gone' })).status).toBe(303);
    expect(daemon.names.has('gone.example')).toBe(false);
    const r = await post(s, { do: 'del', name: 'never.example' });
    expect(r.status).toBe(409);
    expect(r.body).toContain('never.example is not listed');
    const evilBack = await post(s, { do: 'del', name: 'gone.example' });
    expect(evilBack.status).toBe(409);
  });

  it('bulk import: plain and hosts lines, a report of accepted and rejected lines, all or nothing', async () => {
    const s = await login();
    const text = ['# my list', 'ads.example', '*.tracker.example', 'cdn.example subdomains', '0.0.0.0 malware.example phish.example localhost', 'bad name here', '<script>x</script>', ''].join('\n');
    const r1 = await post(s, { do: 'import', list: text });
    expect(r1.status).toBe(400);
    expect(r1.body).toContain('Nothing imported: 2 bad line(s)');
    expect(r1.body).toMatch(/<td>6<\/td><td class="name">bad name here<\/td>/);
    expect(r1.body).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(daemon.names.size).toBe(0);
    const r2 = await post(s, { do: 'import', list: text, skipbad: '1' });
    expect(r2.status).toBe(200);
    expect(r2.body).toContain('4 line(s) accepted (5 name(s): 5 new, 0 already listed), 2 rejected');
    expect(Object.fromEntries(daemon.names)).toEqual({
      'ads.example': 'exact', 'tracker.example': 'subdomains', 'cdn.example': 'subdomains', 'malware.example': 'exact', 'phish.example': 'exact',
    });
  });

  it('bulk import from an uploaded file (multipart)', async () => {
    const s = await login();
    const b = '----xdpfire';
    const body = Buffer.from([
      `--${b}`, 'Content-Disposition: form-data; name="csrf"', '', s.csrf,
      `--${b}`, 'Content-Disposition: form-data; name="do"', '', 'import',
      `--${b}`, 'Content-Disposition: form-data; name="file"; filename="hosts.txt"', 'Content-Type: text/plain', '', '127.0.0.1 localhost\r\n0.0.0.0 up1.example up2.example\r\n',
      `--${b}--`, '',
    ].join('\r\n'));
    const r = await handle(req('POST', '/action', { cookies: s.cookies, body, contentType: `multipart/form-data; boundary=${b}`, headers: { origin: `https://${HOST}` } }), deps);
    expect(r.status).toBe(200);
    expect([...daemon.names.keys()].sort()).toEqual(['up1.example', 'up2.example']);
  });

  it('an import is one stream to the daemon (import --category C -, the names, "."); a refusal changes nothing', async () => {
    const s = await login();
    daemon.names.set('keep.example', 'exact');
    const many = Array.from({ length: 80 }, (_, i) => `n${i}.example`);
    const ok = await post(s, { do: 'import', list: [...many, 'keep.example subdomains'].join('\n') });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('81 line(s) accepted (81 name(s): 80 new, 1 already listed)');
    expect(daemon.calls.filter((c) => c[0] === 'import')).toEqual([['import', '-']]);
    expect(daemon.bodies[0].toString()).toBe(`${many.join('\n')}\nkeep.example subdomains\n.\n`);
    expect(daemon.calls.some((c) => c[0] === 'add')).toBe(false);
    daemon.cats.set('social', new Map());
    const cat = await post(s, { do: 'import', cat: 'social', list: 'a.example\nb.example', replace: '1' });
    expect(cat.status).toBe(200);
    expect(daemon.calls.filter((c) => c[0] === 'import')[1]).toEqual(['import', '--category=social', '--replace', '-']);
    expect([...daemon.cats.get('social')!.keys()]).toEqual(['a.example', 'b.example']);
    daemon.failAddAfter = 0; // the daemon refuses the next import
    const r = await post(s, { do: 'import', cat: 'social', list: 'c.example\nd.example' });
    expect(r.status).toBe(502);
    expect(r.body).toContain('nothing was changed');
    expect([...daemon.cats.get('social')!.keys()]).toEqual(['a.example', 'b.example']);
  });

  it('100,000 names: searchable and paged, 100 per page', async () => {
    for (let i = 0; i < 100_000; i++) daemon.names.set(`host${String(i).padStart(6, '0')}.example`, 'exact');
    const s = await login();
    const t0 = performance.now();
    const r = await handle(req('GET', '/list?page=3', { cookies: s.cookies }), deps);
    const ms = performance.now() - t0;
    expect(r.body).toContain('100000 in total');
    expect(r.body).toContain('page 3 of 1000');
    expect((r.body.match(/<td class="name">/g) ?? []).length).toBe(100);
    expect(r.body).toContain('host000200.example');
    // the daemon sends only the page (it reads, searches and pages the list)
    const lists = () => daemon.calls.filter((c) => c[0] === 'list');
    expect(lists().at(-1)).toEqual(['list', '--offset=200', '--limit=100']);
    const q = await handle(req('GET', '/list?q=host09999', { cookies: s.cookies }), deps);
    expect(q.body).toContain('10 matching');
    expect(lists().at(-1)).toEqual(['list', '--offset=0', '--limit=100', '--match=host09999']);
    expect(ms).toBeLessThan(5000);
    // a page past the end is the last one, however far past
    for (const url of ['/list?page=1001', '/list?page=99999999999']) {
      const last = await handle(req('GET', url, { cookies: s.cookies }), deps);
      expect(last.status, url).toBe(200);
      expect(last.body, url).toContain('page 1000 of 1000');
      expect(last.body, url).toContain('host099999.example');
    }
    // a search no name can hold (a blank, '<') is not sent over the socket: nothing matches
    const before = lists().length;
    const odd = await handle(req('GET', '/list?q=host%20%3Cb%3E', { cookies: s.cookies }), deps);
    expect(odd.status).toBe(200);
    expect(odd.body).toContain('100000 in total, 0 matching');
    expect(odd.body).toContain('value="host &lt;b&gt;"');
    expect(lists().slice(before)).toEqual([['list', '--offset=0', '--limit=1']]);
  });
});

describe('settings', () => {
  it('mode and RST switches, validated', async () => {
    const s = await login();
    expect((await post(s, { do: 'mode', mode: 'monitor', rst: 'off' })).status).toBe(303);
    expect([daemon.mode, daemon.rst]).toEqual(['monitor', false]);
    const bad = await post(s, { do: 'mode', mode: 'drop; reboot', rst: 'on' });
    expect(bad.status).toBe(400);
    expect(daemon.mode).toBe('monitor');
    // the settings are the daemon's to save (in xdp-sni.conf): the UI keeps no copy
    expect(existsSync(join(cfg.stateDir, 'xdp-sni.settings.json'))).toBe(false);
  });

  it('mode, RST and unreadable are all applied or none: a refused one sets the others back', async () => {
    const s = await login();
    expect((await post(s, { do: 'mode', mode: 'monitor', rst: 'off' })).status).toBe(303);
    daemon.refuse.add('rst');
    const r = await post(s, { do: 'mode', mode: 'block', rst: 'on' });
    expect(r.status).toBe(502);
    expect(r.body).toContain('Not applied');
    expect([daemon.mode, daemon.rst]).toEqual(['monitor', false]);
  });

  it('the unreadable-hello switch: shown, set, validated, saved; left alone when the form has no such field', async () => {
    const s = await login();
    const page = await handle(req('GET', '/', { cookies: s.cookies }), deps);
    expect(page.body).toMatch(/id="unreadable">block</);
    expect((await post(s, { do: 'mode', mode: 'block', rst: 'on', unreadable: 'pass' })).status).toBe(303);
    expect(daemon.unreadable).toBe('pass');
    expect((await post(s, { do: 'mode', mode: 'block', rst: 'on', unreadable: 'maybe' })).status).toBe(400);
    expect(daemon.unreadable).toBe('pass');
    expect((await post(s, { do: 'mode', mode: 'block', rst: 'off' })).status).toBe(303);
    expect([daemon.rst, daemon.unreadable]).toEqual([false, 'pass']);
  });

  it('disable stops reading ClientHellos (no watched ports); enable takes the ports from its form (443 by default)', async () => {
    const s = await login();
    await post(s, { do: 'ports', ports: '8443, 443' });
    expect(daemon.ports).toBe('443,8443');
    await post(s, { do: 'disable' });
    expect(daemon.ports).toBe('none');
    const home = await handle(req('GET', '/', { cookies: s.cookies }), deps);
    expect(home.body).toContain('disabled');
    expect(home.body).toMatch(/name="do" value="enable"><label>on TCP ports <input name="ports" value="443"/);
    expect((await post(s, { do: 'ports', ports: '8443' })).status).toBe(409);
    expect(daemon.ports).toBe('none');
    expect((await post(s, { do: 'enable', ports: '10443' })).status).toBe(303);
    expect(daemon.ports).toBe('10443');
    await post(s, { do: 'disable' });
    expect((await post(s, { do: 'enable', ports: '70000' })).status).toBe(400);
    expect(daemon.ports).toBe('none');
    await post(s, { do: 'enable' });
    expect(daemon.ports).toBe('443');
    expect((await post(s, { do: 'ports', ports: '99999' })).status).toBe(400);
    expect((await post(s, { do: 'ports', ports: '' })).status).toBe(400);
  });

  it('exemptions: prefixes normalised, only listed ones are ever deleted', async () => {
    const s = await login();
    await post(s, { do: 'exempt-add', prefix: '192.168.1.77/24' });
    await post(s, { do: 'exempt-add', prefix: '2001:DB8:0:0::1/64' });
    expect(daemon.exempt).toEqual(['192.168.1.0/24', '2001:db8::/64']);
    const r = await post(s, { do: 'exempt-del', prefix: '10.0.0.0/8' });
    expect(r.status).toBe(409);
    expect((await post(s, { do: 'exempt-add', prefix: 'not-an-ip' })).status).toBe(400);
    expect((await post(s, { do: 'exempt-del', prefix: '192.168.1.0/24' })).status).toBe(303);
    expect(daemon.exempt).toEqual(['2001:db8::/64']);
  });
});

describe('live log (from the daemon\'s event history)', () => {
  const ev = (ago: number, sni: string, verdict = 'block', client = '10.77.1.2') =>
    daemon.event({ t: Math.floor((Date.now() - ago) / 1000), client, grp: 'default', cats: 'blocklist', verdict, sni: Buffer.from(sni) });

  it('shows captured names inert (a ClientHello host_name of <script>), filterable, with the chart and top lists; no log file is read', async () => {
    ev(120_000, '<script>alert(1)</script>.evil.example');
    ev(60_000, 'blocked.example');
    ev(50_000, 'blocked.example', 'block', '10.77.1.3');
    ev(40_000, 'seen.example', 'monitor', 'fd77:1::2');
    ev(30_000, 'other.example', 'pass');
    const s = await login();
    const r = await handle(req('GET', '/log', { cookies: s.cookies }), deps);
    expect(r.body).not.toContain('<script>alert');
    expect(r.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.evil.example');
    expect(r.body).toMatch(/data-blocked="3" data-flagged="1" data-passed="1"/);
    expect(r.body).toMatch(/<td class="name">blocked\.example<\/td><td>2<\/td>/);
    expect(r.body).toContain('fd77:1::2');
    expect(daemon.calls.some((c) => c[0] === 'history' && c[1] === 'summary' && c.includes('--step=60'))).toBe(true);
    const f = await handle(req('GET', '/log?partial=1&verdict=monitor', { cookies: s.cookies }), deps);
    expect(f.body).not.toContain('<html');
    expect(f.body).toContain('1 events on page 1');
    const c = await handle(req('GET', '/log?partial=1&client=10.77.1.3', { cookies: s.cookies }), deps);
    expect(c.body).toContain('1 events on page 1');
    const n = await handle(req('GET', '/log?partial=1&name=%3Cscript', { cookies: s.cookies }), deps);
    expect(n.body).toContain('1 events on page 1');
    // a client filter that is no address start is refused, not sent
    const bad = await handle(req('GET', '/log?partial=1&client=x%20y', { cookies: s.cookies }), deps);
    expect(bad.body).toContain('A client filter is the start of an IPv4 or IPv6 address');
  });

  it('charts for the last hour, day and week, with axes and a legend that says what "pass" counts under the log setting', async () => {
    ev(30_000, 'a.example', 'pass');
    ev(3 * 3600_000, 'b.example', 'block');
    ev(3 * 86400_000, 'c.example', 'block');
    const s = await login();
    const get = async (q: string) => (await handle(req('GET', `/${q}`, { cookies: s.cookies }), deps)).body;
    const hour = await get('');
    expect(hour).toMatch(/data-range="hour" data-blocked="0" data-flagged="0" data-passed="1"/);
    expect(hour).toContain('Events per minute, last hour');
    expect(hour).toContain('every other server name read, listed or not'); // log all
    expect(hour).toContain('events per minute</text>');
    const day = await get('?range=day');
    expect(day).toMatch(/data-range="day" data-blocked="1" data-flagged="0" data-passed="1"/);
    expect(day).toContain('Events per hour, last 24 hours');
    const week = await get('?range=week');
    expect(week).toMatch(/data-range="week" data-blocked="2"/);
    expect((week.match(/<g><title>/g) ?? []).length).toBe(168);
    daemon.log = 'listed';
    expect(await get('')).toContain('only names in some category that the client&#x27;s group does not block');
  });

  it('the overview shows status, counters and the daemon uptime (from the daemon)', async () => {
    daemon.since = Math.floor((Date.now() - 7200_000) / 1000);
    const s = await login();
    const r = await handle(req('GET', '/', { cookies: s.cookies }), deps);
    expect(r.body).toContain('green0 (native)');
    expect(r.body).toMatch(/<th>Blocked <code class="raw">blocked<\/code><\/th><td class="num">3<\/td>/);
    expect(r.body).toMatch(/2h 0m/);
  });

  it('a history the daemon cannot read: the page says so and still shows the rest', async () => {
    daemon.refuse.add('history');
    const s = await login();
    const r = await handle(req('GET', '/', { cookies: s.cookies }), deps);
    expect(r.status).toBe(200);
    expect(r.body).toContain('The event history could not be read');
    expect(r.body).toContain('green0 (native)');
  });
});

describe('the daemon does not answer', () => {
  // the real control-socket client against the three ways a daemon is gone:
  // no socket (stopped), a socket nobody answers on (hung), a connection
  // closed without an answer (died during the command)
  const servers: Server[] = [];
  const conns: Socket[] = [];
  afterEach(async () => {
    for (const c of conns.splice(0)) c.destroy();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });
  async function listen(onConn: (c: Socket) => void): Promise<string> {
    const path = join(dir, `ctl-${servers.length}.sock`);
    // allowHalfOpen: the client's end of its command line must not close our side
    const s = createServer({ allowHalfOpen: true }, (c) => {
      conns.push(c);
      onConn(c);
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(path, r));
    return path;
  }
  // the settings file as the daemon leaves it (comments and other keys kept)
  const saved = '# xdp-sni settings\nMODE="monitor"\nINTERFACES="green0"\nPORTS="443,8443"\nRST="off"\nUNREADABLE="pass"\nEXEMPT="192.0.2.0/24 2001:db8::/32"\n';
  const ways: [string, () => Promise<Ctl>][] = [
    ['no socket', async () => socketCtl(join(dir, 'gone.sock'))],
    ['no answer', async () => socketCtl(await listen(() => undefined), 300)],
    ['closed', async () => socketCtl(await listen((c) => c.destroy()))],
  ];
  const forms = (body: string) => [...body.matchAll(/<form method="post" action="\/action"/g)].length;

  for (const [way, make] of ways) {
    it(`says so, shows the saved settings as saved and offers no controls (${way})`, async () => {
      const s = await login(); // with the working stand-in
      writeFileSync(cfg.confFile, saved);
      deps.ctl = await make();

      const home = await handle(req('GET', '/', { cookies: s.cookies }), deps);
      expect(home.status).toBe(503);
      expect(home.body).toContain('daemon is not answering');
      expect(home.body).toContain('may still be enforcing');
      expect(home.body).not.toMatch(/not loaded/i);
      expect(forms(home.body)).toBe(0); // no Enable, mode, ports or exemption forms
      expect(home.body).not.toMatch(/id="(enable|disable)"/);
      const savedBox = /<section[^>]*id="saved"[\s\S]*?<\/section>/.exec(home.body)?.[0] ?? '';
      expect(savedBox).toContain(`Read from <code>${cfg.confFile}</code>, not from the data plane`);
      expect(savedBox).toMatch(/Filter<\/dt><dd>enabled/);
      expect(savedBox).toMatch(/Watched TCP ports<\/dt><dd>443,8443</);
      expect(savedBox).toMatch(/Mode<\/dt><dd>monitor</);
      expect(savedBox).toMatch(/TCP reset<\/dt><dd>off/);
      expect(savedBox).toMatch(/Unreadable hellos<\/dt><dd>pass/);
      expect(savedBox).toMatch(/Exemptions<\/dt><dd>192.0.2.0\/24, 2001:db8::\/32</);
      expect(home.body).not.toMatch(/class="counters"|Names listed/); // counts it does not know

      const list = await handle(req('GET', '/list', { cookies: s.cookies }), deps);
      expect(list.status).toBe(503);
      expect(list.body).toContain('daemon is not answering');
      expect(list.body).not.toMatch(/in total|no names/);
      expect(forms(list.body)).toBe(0);

      const log = await handle(req('GET', '/log', { cookies: s.cookies }), deps);
      expect(log.body).toContain('daemon is not answering');
      const part = await handle(req('GET', '/log?partial=1', { cookies: s.cookies }), deps);
      expect(part.body).toContain('daemon is not answering');

      const add = await post(s, { do: 'add', name: 'new.example' });
      expect(add.status).toBe(503);
      expect(add.body).toContain('daemon is not answering');
      expect(forms(add.body)).toBe(0);
      const mode = await post(s, { do: 'mode', mode: 'block', rst: 'on' });
      expect(mode.status).toBe(503);
      expect(forms(mode.body)).toBe(0);
      expect(readFileSync(cfg.confFile, 'utf8')).toBe(saved);
    });
  }

  it('with no settings file, or a broken one, it says so and never claims a setting; a key not in the file is shown as the default', async () => {
    const s = await login();
    deps.ctl = socketCtl(join(dir, 'gone.sock'));
    let home = await handle(req('GET', '/', { cookies: s.cookies }), deps);
    expect(home.body).toContain(`The settings file <code>${cfg.confFile}</code> cannot be read: ENOENT.`);
    expect(home.body).not.toMatch(/id="(mode|rst|state)"|Watched TCP ports/);
    writeFileSync(cfg.confFile, 'MODE=monitor\nthis is not a setting\n');
    home = await handle(req('GET', '/', { cookies: s.cookies }), deps);
    expect(home.body).toContain('cannot be read: line 2: not KEY');
    expect(home.body).not.toMatch(/Watched TCP ports/);
    writeFileSync(cfg.confFile, 'MODE=monitor\n');
    home = await handle(req('GET', '/', { cookies: s.cookies }), deps);
    expect(home.body).toMatch(/TCP reset<\/dt><dd>\(not set: the default\)/);
  });
});

describe('names sent by clients are shown as sent', () => {
  const RLO = '\u202E'; // RIGHT-TO-LEFT OVERRIDE: "\u202Eelpmaxe.knab" reads as "bank.example"
  const ev = (sni: Buffer) => daemon.event({ t: Math.floor(Date.now() / 1000) - 60, client: '10.77.1.2', grp: 'default', cats: 'blocklist', verdict: 'block', sni });

  it('escapes bidi, invisible and non-ASCII characters and bytes that are not UTF-8, in the log and the top lists; search finds both forms', async () => {
    ev(Buffer.from(`${RLO}elpmaxe.knab.evil.example`));
    ev(Buffer.from('pay\u200Bpal.evil.example')); // ZERO WIDTH SPACE
    ev(Buffer.concat([Buffer.from('bad'), Buffer.from([0xff, 0xc0, 0xaf]), Buffer.from('.evil.example')]));
    ev(Buffer.from('back\\x41slash.evil.example')); // a literal backslash cannot pose as an escape
    const s = await login();
    const r = await handle(req('GET', '/log', { cookies: s.cookies }), deps);
    const events = /<table class="log" id="events">[\s\S]*?<\/table>/.exec(r.body)![0];
    const top = /<table id="top-names">[\s\S]*?<\/table>/.exec(r.body)![0];
    for (const t of [events, top]) expect(t).not.toMatch(/[^\x20-\x7e\n]/); // nothing outside printable ASCII reaches them as itself
    expect(r.body).toContain('<td class="name"><span class="esc">\\u202E</span>elpmaxe.knab.evil.example</td>');
    expect(r.body).toContain('pay<span class="esc">\\u200B</span>pal.evil.example');
    expect(r.body).toContain('bad<span class="esc">\\xFF\\xC0\\xAF</span>.evil.example');
    expect(r.body).toContain('back<span class="esc">\\\\</span>x41slash.evil.example');
    expect(top).toContain('<span class="esc">\\u202E</span>elpmaxe.knab.evil.example');
    const count = async (q: string) => {
      const b = (await handle(req('GET', `/log?partial=1&name=${encodeURIComponent(q)}`, { cookies: s.cookies }), deps)).body;
      return b.includes('filter-error') ? 'refused' : (/(\d+) events on page/.exec(b)?.[1] ?? '?');
    };
    expect(await count('elpmaxe')).toBe('1');
    expect(await count('\\u202e')).toBe('1'); // what is displayed
    expect(await count(`${RLO}elp`)).toBe('1'); // the raw name
    expect(await count('pay\\u200Bpal')).toBe('1');
    expect(await count('back\\\\x41')).toBe('1'); // a backslash as shown
    expect(await count('\\xff')).toBe('refused'); // a lone byte the command line cannot carry: said so
  });
});

describe('pasted text is shown as pasted', () => {
  it('an import report and an add error escape bidi and non-ASCII characters', async () => {
    const s = await login();
    const r = await post(s, { do: 'import', list: 'ok.example\n\u202Eelpmaxe.knab\n' });
    const table = /<table class="rejected">[\s\S]*?<\/table>/.exec(r.body)![0];
    expect(table).toContain('<td class="name"><span class="esc">\\u202E</span>elpmaxe.knab</td>');
    expect(table).not.toContain('\u202E');
    const a = await post(s, { do: 'add', name: 'x\u202E.example' });
    expect(a.status).toBe(400);
    expect(/<p class="error"[^>]*>[^<]*/.exec(a.body)![0]).toContain("bad domain &#x27;x\\u202E.example&#x27;");
  });
});

describe('a refused import', () => {
  // (the first newline after <textarea> is not part of the text)
  const textarea = (body: string) => /<textarea name="list"[^>]*>\n?([\s\S]*?)<\/textarea>/.exec(body)?.[1];

  it('keeps the pasted text in the form, escaped, with its checkboxes', async () => {
    const s = await login();
    const text = 'ads.example\n<script>alert(1)</script>\nbad name here\n';
    const r = await post(s, { do: 'import', list: text, subdomains: '1' });
    expect(r.status).toBe(400);
    expect(textarea(r.body)).toBe('ads.example\n&lt;script&gt;alert(1)&lt;/script&gt;\nbad name here\n');
    expect(r.body).not.toContain('<script>alert(1)');
    expect(r.body).toMatch(/<input type="checkbox" name="subdomains" value="1" id="import-sub" checked>/);
    // a daemon that refuses the import: kept too
    daemon.failAddAfter = 0;
    const failed = await post(s, { do: 'import', list: 'c.example', skipbad: '1' });
    expect(failed.status).toBe(502);
    expect(textarea(failed.body)).toBe('c.example');
    expect(failed.body).toMatch(/name="skipbad" value="1" id="import-skipbad" checked>/);
    // an import that worked starts empty again
    daemon.failAddAfter = Infinity;
    const ok = await post(s, { do: 'import', list: 'd.example' });
    expect(ok.status).toBe(200);
    expect(textarea(ok.body)).toBe('');
  });

  it('with the daemon not answering, the text stays on the page, read-only', async () => {
    const s = await login();
    deps.ctl = socketCtl(join(dir, 'gone.sock'));
    const r = await post(s, { do: 'import', list: 'kept.example\n' });
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/<textarea name="list"[^>]*readonly[^>]*>\nkept\.example\n<\/textarea>/);
  });
});

describe('the log pages past 200 events', () => {
  it('pages of 200, newest first, with older and newer links that keep the filter', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 450; i++) daemon.event({ t: now - (450 - i), client: '10.77.1.2', grp: 'default', cats: 'blocklist', verdict: 'block', sni: Buffer.from(`ev${String(i).padStart(3, '0')}.example`) });
    daemon.event({ t: now, client: '10.77.1.2', grp: 'default', cats: '-', verdict: 'pass', sni: Buffer.from('other.example') });
    const s = await login();
    const get = async (q: string) => (await handle(req('GET', `/log?${q}`, { cookies: s.cookies }), deps)).body;
    const events = (b: string) => /<table class="log" id="events">[\s\S]*?<\/table>/.exec(b)![0];
    const rows = (b: string) => [...events(b).matchAll(/<td class="name">ev(\d+)\.example<\/td>/g)].map((m) => Number(m[1]));
    const links = (b: string) => Object.fromEntries([...b.matchAll(/<a href="([^"]+)" rel="(prev|next)"/g)].map((m) => [m[2], m[1].replace(/&amp;/g, '&').replace(/&#x3D;/g, '=')]));

    const p1 = await get('verdict=block');
    expect(rows(p1)).toEqual(Array.from({ length: 200 }, (_, i) => 449 - i));
    // ev000 is event id 1: the cursor of page 2 is the id of the last event shown (ev250 = id 251)
    expect(links(p1)).toEqual({ next: '/log?verdict=block&trail=251' });
    expect(p1).toContain('id="auto"'); // the newest page refreshes itself
    const p2 = await get('verdict=block&trail=251');
    expect(rows(p2)).toEqual(Array.from({ length: 200 }, (_, i) => 249 - i));
    expect(links(p2)).toEqual({ prev: '/log?verdict=block', next: '/log?verdict=block&trail=251.51' });
    expect(p2).not.toContain('id="auto"'); // an older page stays still
    const p3 = await get('verdict=block&trail=251.51');
    expect(rows(p3)).toEqual(Array.from({ length: 50 }, (_, i) => 49 - i));
    expect(links(p3)).toEqual({ prev: '/log?verdict=block&trail=251' });
    expect(p3).toMatch(/page 3/);
    const part = await get('verdict=block&trail=251&partial=1');
    expect(rows(part)).toEqual(rows(p2));
    // the daemon is asked for one page (and one more event, to know that there is an older page), never the whole history
    expect(daemon.calls.filter((c) => c[1] === 'events').every((c) => c.includes('--limit=201'))).toBe(true);
  });
});

describe('lighttpd answers errors with the same headers, and the size limit is stated', () => {
  const conf = readFileSync(join(process.cwd(), 'webui', 'lighttpd', 'webui.conf'), 'utf8');

  it('webui.conf sets every security header the CGI sets, with the same value, on every response', () => {
    const block = /setenv\.set-response-header\s*=\s*\(([\s\S]*?)\n\)/.exec(conf)?.[1] ?? '';
    const set = Object.fromEntries([...block.matchAll(/"([^"]+)"\s*=>\s*"([^"]*)"/g)].map((m) => [m[1], m[2]]));
    expect(set).toEqual(Object.fromEntries(SECURITY_HEADERS));
    // its own error pages (400, 413, 431, 500) are made before mod_setenv runs: they go through the error handler
    expect(conf).toMatch(/^server\.error-handler\s*=\s*"\/static\/error\.html"/m);
  });

  it('the upload limit: lighttpd refuses what the CGI would, and the import form says how much', async () => {
    const kib = Number(/^server\.max-request-size\s*=\s*(\d+)/m.exec(conf)?.[1]);
    expect(kib * 1024).toBe(MAX_BODY); // lighttpd's figure is in KiB
    const s = await login();
    const page = await handle(req('GET', '/list', { cookies: s.cookies }), deps);
    expect(page.body).toMatch(/at most 8 MiB/);
    const html = readFileSync(join(process.cwd(), 'webui', 'static', 'error.html'), 'utf8');
    expect(html).toMatch(/at most 8 MiB/);
  });
});

describe('import edge cases', () => {
  it('a UTF-8 byte order mark does not reject the first line (pasted, or at the start of a file)', async () => {
    expect(parseImport('\uFEFFfirst.example\nsecond.example\n')).toMatchObject({ rejected: [], accepted: [{ name: 'first.example' }, { name: 'second.example' }] });
    expect(parseImport('first.example\n\uFEFFsecond.example\n').rejected.map((x) => x.line)).toEqual([2]); // only at the start
    const s = await login();
    const b = '----xdpfire';
    const body = Buffer.concat([
      Buffer.from([`--${b}`, 'Content-Disposition: form-data; name="csrf"', '', s.csrf, `--${b}`, 'Content-Disposition: form-data; name="do"', '', 'import',
        `--${b}`, 'Content-Disposition: form-data; name="list"', '', '\uFEFFpasted.example',
        `--${b}`, 'Content-Disposition: form-data; name="file"; filename="list.txt"', 'Content-Type: text/plain', '', ''].join('\r\n')),
      Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('bom-file.example\r\nsecond.example\r\n'),
      Buffer.from(`\r\n--${b}--\r\n`),
    ]);
    const r = await handle(req('POST', '/action', { cookies: s.cookies, body, contentType: `multipart/form-data; boundary=${b}`, headers: { origin: `https://${HOST}` } }), deps);
    expect(r.status).toBe(200);
    expect([...daemon.names.keys()].sort()).toEqual(['bom-file.example', 'pasted.example', 'second.example']);
  });
});

describe('an IPv4 address is not a name', () => {
  it('is refused with the reason, in the add form and in an import; one listed before can still be removed', async () => {
    expect(() => normaliseDomain('10.0.0.1')).toThrow(/an IPv4 address \(dotted quad\) is not a server name: .*RFC 6066/);
    for (const n of ['*.10.0.0.1', '192.168.001.001.', '999.1.1.1']) expect(() => normaliseDomain(n), n).toThrow(/IPv4/);
    for (const n of ['1.2.3.4.example', '1.2.3', 'x1.2.3.4']) expect(normaliseDomain(n).name).toBe(n);
    const s = await login();
    const r = await post(s, { do: 'add', name: '192.0.2.1' });
    expect(r.status).toBe(400);
    expect(r.body).toContain('an IPv4 address (dotted quad) is not a server name');
    const imp = await post(s, { do: 'import', list: '0.0.0.0 10.1.2.3 ok.example\n' });
    expect(imp.status).toBe(400);
    expect(imp.body).toMatch(/bad domain &#x27;10\.1\.2\.3&#x27;: an IPv4 address/);
    expect(daemon.calls.some((c) => c[0] === 'add')).toBe(false);
    daemon.names.set('10.9.8.7', 'exact');
    expect((await post(s, { do: 'del', name: '10.9.8.7' })).status).toBe(303);
    expect(daemon.names.has('10.9.8.7')).toBe(false);
  });
});

describe('an import without names', () => {
  it('says that no names were found, never "Imported.", and changes nothing', async () => {
    const s = await login();
    for (const [form, why] of [
      [{ list: '# just\n# comments\n\n' }, /no names found: 3 line\(s\) without a name/],
      [{ list: '127.0.0.1 localhost\n::1 ip6-localhost\n' }, /no names found: 2 line\(s\) without a name/],
      [{ list: 'bad name\n# c\n', skipbad: '1' }, /no names found: 1 line\(s\) without a name and 1 bad line/],
    ] as [Record<string, string>, RegExp][]) {
      const before = daemon.calls.length;
      const r = await post(s, { do: 'import', ...form });
      expect(r.status, form.list).toBe(400);
      expect(r.body).not.toContain('Imported.');
      expect(r.body).toMatch(why);
      expect(daemon.calls.slice(before)).toEqual([['export', 'policy'], ['list', '--offset=0', '--limit=100']]); // the page's reads: no add, no import, no del
    }
  });
});

describe('the counters', () => {
  it('each has a short label and an explanation on the overview, with its raw name kept', async () => {
    const header = readFileSync(join(process.cwd(), 'bpf', 'xdp_sni.h'), 'utf8');
    const names = [...(/#define XSNI_COUNTER_NAMES \{([^}]*)\}/.exec(header)?.[1] ?? '').matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
    expect(names.length).toBeGreaterThanOrEqual(19);
    const status = daemon.ctl;
    deps.ctl = async (args) => {
      const r = await status(args);
      if (args[0] !== 'status') return r;
      // every counter the data plane has, as `status` prints them, and one it may get later
      return { rc: 0, out: r.out.replace(/^packets .*\nblocked .*\n/m, `${[...names, 'new_counter'].map((n, i) => `${n.padEnd(17)}${1000 + i}`).join('\n')}\n`) };
    };
    const s = await login();
    const r = await handle(req('GET', '/', { cookies: s.cookies }), deps);
    const rows = [...(/<table class="counters"[\s\S]*?<\/table>/.exec(r.body)?.[0] ?? '').matchAll(/<tr><th>([^<]+) <code class="raw">([a-z_]+)<\/code><\/th><td class="num">(\d+)<\/td><td class="hint">([^<]+)<\/td><\/tr>/g)];
    expect(rows.map((m) => m[2])).toEqual([...names, 'new_counter']);
    for (const [, label, name, value, explain] of rows) {
      expect(Number(value)).toBe(1000 + [...names, 'new_counter'].indexOf(name));
      if (name === 'new_counter') {
        expect(explain).toMatch(/no description/);
        continue;
      }
      expect(label, name).not.toBe(name); // a human label, not the raw name again
      expect(label.length, name).toBeLessThanOrEqual(30);
      expect(explain.length, name).toBeGreaterThan(20);
    }
    expect(rows.find((m) => m[2] === 'rst_sent')![1]).toBe('Resets sent to clients');
  });
});

describe('the door a connection used', () => {
  it('the log says "encrypted (ECH) via" the public name, and names the door of each event: ECH, encrypted DNS, QUIC, TLS', async () => {
    const s = await login();
    const t = Math.floor(Date.now() / 1000) - 5;
    daemon.event({ t, client: '10.77.1.2', grp: 'default', cats: 'ech-public', verdict: 'block', sni: Buffer.from('cloudflare-ech.com') });
    daemon.event({ t, client: '10.77.1.2', grp: 'default', cats: 'blocklist,encrypted-dns', verdict: 'block', sni: Buffer.from('dns.google') });
    daemon.event({ t, client: '10.77.1.2', grp: 'default', cats: '-', verdict: 'pass', sni: Buffer.from('www.example.org') });
    daemon.event({ t, client: '10.77.1.3', grp: 'default', cats: 'blocklist', verdict: 'block', sni: Buffer.from('listed.example'), door: 'quic' });
    const log = await handle(req('GET', '/log', { cookies: s.cookies }), deps);
    const rows = [...log.body.matchAll(/<tr class="v-(\w+)"><td>[^<]*<\/td><td class="name">(.*?)<\/td><td class="door">([^<]*)<\/td>/g)].map((m) => `${m[1]} | ${m[2].replace(/<[^>]+>/g, '')} | ${m[3]}`);
    expect(rows.sort()).toEqual(['block | dns.google | encrypted DNS', 'block | encrypted (ECH) via cloudflare-ech.com | ECH', 'block | listed.example | QUIC', 'pass | www.example.org | TLS']);
  });
});

describe('escape routes on the overview', () => {
  it('shows each door with its value (a key not in the file as "not set"), sends only what changed, refuses a value the form does not offer', async () => {
    const s = await login();
    const home = await handle(req('GET', '/', { cookies: s.cookies }), deps);
    const card = /<div class="card" id="doors">[\s\S]*?<\/div>/.exec(home.body)?.[0] ?? '';
    expect(card).toMatch(/<select name="DNS_FILTER_HTTPS">\s*<option value="yes" selected>yes<\/option><option value="no">no<\/option>/);
    expect(card).toMatch(/<select name="ECH">\s*<option value="" selected>\(not set: the default\)<\/option>/);
    daemon.calls.length = 0;
    const r = await post(s, { do: 'doors', DNS_FILTER_HTTPS: 'yes', DNS_CANARY: 'no', ENCRYPTED_DNS: 'block', ECH: 'log' });
    expect(r.status).toBe(303);
    expect(daemon.calls.filter((c) => c[0] === 'doors' && c.length > 1)).toEqual([['doors', 'DNS_CANARY', 'no', 'ECH', 'log']]);
    expect([daemon.doors.get('DNS_CANARY'), daemon.doors.get('ECH')]).toEqual(['no', 'log']);
    const same = await post(s, { do: 'doors', DNS_FILTER_HTTPS: 'yes', DNS_CANARY: 'no', ENCRYPTED_DNS: 'block', ECH: 'log' });
    expect(same.status).toBe(303);
    expect(daemon.calls.filter((c) => c[0] === 'doors' && c.length > 1)).toHaveLength(1);
    const bad = await post(s, { do: 'doors', ECH: 'drop' });
    expect(bad.status).toBe(400);
    expect(daemon.doors.get('ECH')).toBe('log');
  });
});
