// The web UI's request handler: routing, authentication, CSRF, validation,
// and the daemon commands behind each form. Pure apart from the files under
// the state directory and the control socket (both injectable for tests).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { safeEqual, SessionStore, newToken } from './auth.js';
import { parseSettings } from '../../lib/settings.js';
import { passwordProblem, verifyPassword } from '../../lib/password.js';
import { describeCounters } from './counters.js';
import { limiterDir, sessionsDir, type Config } from './config.js';
import { DaemonError, must, NotLoaded, parseExempt, parseStatus, type Status } from './ctl.js';
import { InputError, normalisePorts, normalisePrefix } from './domains.js';
import { activity, logView } from './pages/activity.js';
import { categoriesFailed, categoriesPage, CATEGORY_ACTIONS } from './pages/categories.js';
import { clientsPage } from './pages/clients.js';
import { GROUP_ACTIONS, groupsFailed, groupsPage } from './pages/groups.js';
import { listPage, NAME_ACTIONS, namesFailed } from './pages/names.js';
import { SCHEDULE_ACTIONS, schedulesFailed, schedulesPage } from './pages/schedules.js';
import { exportFile, TRANSFER_ACTIONS, transferFailed, transferPage } from './pages/transfer.js';
import { base, cookie, failStatus, field, flashTo as flashToCtx, fmtDuration, fmtTime, redirect, res, unknownFrom, type Action, type Ctx, type Deps, type Unknown } from './web.js';
import { BadRequest, parseForm, type Form, type Req, type Res } from './http.js';
import { LoginLimiter } from './limiter.js';
import { LockTimeout } from './lock.js';
import { fingerprint, passwdFingerprint, type ChangeResult } from './passwd.js';
import { passwdClient, PasswdServiceError } from './passwd-service.js';
import { page, render } from './render.js';

export { CSP, SECURITY_HEADERS, type Deps } from './web.js';

export const SESSION_COOKIE = '__Host-xdpfire';
export const LOGIN_COOKIE = '__Host-xdpfire-login';
export { PAGE_SIZE } from './pages/names.js';
export { LOG_PAGE } from './pages/activity.js';

/** Why a state-changing request is refused as cross-site, if it is. */
export function crossSite(req: Req): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site && site !== 'same-origin' && site !== 'none') return `cross-site request refused (Sec-Fetch-Site: ${site})`;
  // (Referrer-Policy is same-origin, not no-referrer: with no-referrer, browsers send "Origin: null" on POST)
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `https://${req.headers.host ?? ''}`) return 'cross-site request refused (Origin does not match)';
  return undefined;
}

// ------------------------------------------------------------ settings
// The settings live in one file, xdp-sni.conf (cfg.confFile): the box applies
// it at every start, and the daemon saves into it each change made over its
// socket (the controls below). The UI keeps no copy of its own.

/** The settings file as the box will apply it next, for the pages shown while the daemon is down. */
export interface Saved {
  enabled: boolean;
  ports: string;
  mode: string;
  rst: string;
  unreadable: string;
  exempt: string[];
}

const NOT_SET = '(not set: the default)';

export function readSaved(cfg: Config): { saved?: Saved; savedError?: string } {
  let text: string;
  try {
    text = readFileSync(cfg.confFile, 'utf8');
  } catch (e) {
    return { savedError: (e as NodeJS.ErrnoException).code ?? String(e) };
  }
  const { values, errors } = parseSettings(text);
  if (errors.length) return { savedError: `line ${errors[0]}` };
  const v = (k: string) => values.get(k) ?? NOT_SET;
  const ports = values.get('PORTS');
  return {
    saved: {
      enabled: ports !== 'none' && ports !== '',
      ports: v('PORTS'),
      mode: v('MODE'),
      rst: v('RST'),
      unreadable: v('UNREADABLE'),
      exempt: (values.get('EXEMPT') ?? '').split(/\s+/).filter(Boolean),
    },
  };
}

/** The escape routes' settings (`xdp-sni doors`): each key, what it means, the values xdp-sni-apply takes. */
const DOORS = [
  { key: 'DNS_FILTER_HTTPS', label: 'DNS: HTTPS/SVCB records filtered', options: ['yes', 'no'], explain: 'yes: green\'s resolver answers HTTPS and SVCB queries empty, so browsers get no ECH keys and no HTTP/3 hint' },
  { key: 'DNS_CANARY', label: "DNS: Firefox's DoH canary answered NXDOMAIN", options: ['yes', 'no'], explain: 'yes: use-application-dns.net does not resolve, so Firefox does not turn DNS over HTTPS on by itself' },
  { key: 'ENCRYPTED_DNS', label: 'Known DNS-over-HTTPS/TLS services', options: ['block', 'allow'], explain: 'block: their names do not resolve, are blocked by server name in every group, and port 853 is dropped' },
  { key: 'ECH', label: 'ECH to known public names', options: ['block', 'log', 'allow'], explain: 'a hello whose name is an ECH public name hides its real name; block drops it in every group, log marks it, allow treats it as any name' },
  { key: 'QUIC', label: 'QUIC (HTTP/3)', options: ['filter', 'drop', 'hold', 'pass'], explain: 'filter: the name in each QUIC Initial is read and judged like a TLS one; drop: all QUIC from green is dropped (browsers fall back to TCP); hold: like filter, the first Initials held until the verdict; pass: QUIC is not looked at' },
] as const;

async function doorsNow(d: Deps): Promise<{ doors?: unknown[]; doorsError?: string }> {
  const r = await d.ctl(['doors']);
  if (r.rc !== 0) return { doorsError: `The daemon cannot read them: ${r.out.trim().split('\n').pop() ?? ''}` };
  const v = new Map(r.out.split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string]));
  return { doors: DOORS.map((k) => ({ ...k, value: v.get(k.key) ?? '-', set: (v.get(k.key) ?? '-') !== '-' })) };
}

async function current(d: Deps): Promise<{ status: Status; exempt: string[]; enabled: boolean }> {
  const st = await d.ctl(['status']);
  if (st.rc === 3) throw new NotLoaded('the xdp-sni data plane is not loaded (no pinned maps)');
  if (st.rc !== 0) throw new DaemonError(`the daemon refused 'status' (rc=${st.rc})`);
  const status = parseStatus(st.rc, st.out);
  const exempt = parseExempt(await must(d.ctl, ['exempt', 'list']));
  return { status, exempt, enabled: status.ports !== 'none' };
}

// ------------------------------------------------------------ views
async function overview(c: Ctx, error?: string, status = 200): Promise<Res> {
  let cur: Awaited<ReturnType<typeof current>> | undefined;
  let unknown: Unknown | undefined;
  let err = error;
  try {
    cur = await current(c.d);
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    // nothing on the page may pose as live: no state, counts or controls, only what was saved
    unknown = unknownFrom(e);
    err = error ?? e.message;
    status = status === 200 ? failStatus(e) : status;
  }
  const since = cur?.status.since;
  const uptime = since !== undefined ? `${fmtDuration(c.now - since)} (since ${fmtTime(since)})` : 'unknown (the daemon did not say)';
  const live = cur
    ? {
        known: true,
        status: cur.status,
        enabled: cur.enabled,
        ports: cur.enabled ? cur.status.ports : '443',
        exempt: cur.exempt,
        counters: describeCounters(cur.status.counters),
        uptime,
      }
    : { known: false, unknown, ...readSaved(c.d.cfg) };
  const act = cur ? await activity(c, '/', cur.status.log) : await activity(c, '/');
  const doors = cur ? await doorsNow(c.d) : {};
  return res(status, page('overview', base(c, 'overview', 'xdp-sni', { error: err, confFile: c.d.cfg.confFile, ...live, ...act, ...doors })));
}

// ------------------------------------------------------------ actions
/** The actions of the pages in pages/: each with the page that shows its failure. */
const PAGE_ACTIONS: Record<string, Action> = Object.assign(
  {},
  ...[
    { actions: NAME_ACTIONS, failed: namesFailed },
    { actions: GROUP_ACTIONS, failed: groupsFailed },
    { actions: CATEGORY_ACTIONS, failed: categoriesFailed },
    { actions: SCHEDULE_ACTIONS, failed: schedulesFailed },
    { actions: TRANSFER_ACTIONS, failed: transferFailed },
  ].map((m) => Object.fromEntries(Object.entries(m.actions).map(([k, run]) => [k, { run, failed: m.failed }]))),
);

async function action(c: Ctx, form: Form): Promise<Res> {
  const what = field(form, 'do', 20);
  const flashTo = (msg: string, to: string) => flashToCtx(c, msg, to);
  const act = Object.hasOwn(PAGE_ACTIONS, what) ? PAGE_ACTIONS[what] : undefined;
  if (act) {
    try {
      return await act.run(c, form);
    } catch (e) {
      if (!(e instanceof DaemonError)) throw e;
      return await act.failed(c, form, `Not applied: ${e.message}`, failStatus(e));
    }
  }
  try {
    switch (what) {
      case 'enable':
      case 'disable': {
        const cur = await current(c.d);
        if (cur.enabled === (what === 'enable')) return flashTo(`Already ${what}d.`, '/');
        // Disabled = no watched ports: the program stays attached and passes everything.
        if (what === 'disable') {
          await must(c.d.ctl, ['ports', 'none']);
          return flashTo('Disabled: no ClientHello is read; nothing is blocked or logged.', '/');
        }
        let ports: string;
        try {
          ports = normalisePorts(field(form, 'ports', 400) || '443');
        } catch (e) {
          if (e instanceof InputError) return await overview(c, `Not enabled: ${e.message}`, 400);
          throw e;
        }
        await must(c.d.ctl, ['ports', ports]);
        return flashTo(`Enabled: reading ClientHellos on port(s) ${ports}.`, '/');
      }
      case 'mode': {
        const mode = field(form, 'mode', 10);
        const rst = field(form, 'rst', 5);
        const unreadableField = field(form, 'unreadable', 6);
        if (mode !== 'block' && mode !== 'monitor') return await overview(c, `bad mode '${mode}' (block or monitor)`, 400);
        if (rst !== 'on' && rst !== 'off') return await overview(c, `bad TCP reset setting '${rst}' (on or off)`, 400);
        if (unreadableField !== '' && unreadableField !== 'block' && unreadableField !== 'pass')
          return await overview(c, `bad setting for unreadable hellos '${unreadableField}' (block or pass)`, 400);
        const cur = await current(c.d);
        const unreadable = unreadableField === '' ? cur.status.unreadable : unreadableField;
        await must(c.d.ctl, ['mode', mode]);
        try {
          await must(c.d.ctl, ['rst', rst]);
          await must(c.d.ctl, ['unreadable', unreadable]);
        } catch (e) {
          // all three or none: the ones already changed go back (and are saved back)
          await c.d.ctl(['mode', cur.status.mode === 'monitor' ? 'monitor' : 'block']).catch(() => undefined);
          await c.d.ctl(['rst', cur.status.rst ? 'on' : 'off']).catch(() => undefined);
          throw e;
        }
        return flashTo(`Mode ${mode}, TCP reset ${rst}, unreadable hellos: ${unreadable}.`, '/');
      }
      case 'ports': {
        let ports: string;
        try {
          ports = normalisePorts(field(form, 'ports', 400));
        } catch (e) {
          if (e instanceof InputError) return await overview(c, `Ports not changed: ${e.message}`, 400);
          throw e;
        }
        const cur = await current(c.d);
        // while disabled the ports are set by "Enable"
        if (!cur.enabled) return await overview(c, 'Ports not changed: the filter is disabled; enable it on the ports you want.', 409);
        await must(c.d.ctl, ['ports', ports]);
        return flashTo(`Watching TCP port(s) ${ports}.`, '/');
      }
      case 'doors': {
        // the keys the form changed, as KEY VALUE words; xdp-sni-apply checks the values
        const now = await doorsNow(c.d);
        const have = new Map(((now.doors ?? []) as { key: string; value: string }[]).map((x) => [x.key, x.value]));
        const words: string[] = [];
        for (const k of DOORS) {
          const v = field(form, k.key, 10);
          if (v === '' || v === have.get(k.key)) continue;
          if (!(k.options as readonly string[]).includes(v)) return await overview(c, `Not applied: bad value '${v}' for ${k.label}`, 400);
          words.push(k.key, v);
        }
        if (!words.length) return flashTo('Escape routes: nothing changed.', '/');
        await must(c.d.ctl, ['doors', ...words]);
        const pairs = words.flatMap((w, i) => (i % 2 ? [] : [`${w}=${words[i + 1]}`]));
        return flashTo(`Escape routes applied: ${pairs.join(', ')}.`, '/');
      }
      case 'exempt-add':
      case 'exempt-del': {
        let p: string;
        try {
          p = normalisePrefix(field(form, 'prefix', 60));
        } catch (e) {
          if (e instanceof InputError) return await overview(c, `Exemptions not changed: ${e.message}`, 400);
          throw e;
        }
        const cur = await current(c.d);
        const listed = cur.exempt.includes(p);
        const add = what === 'exempt-add';
        if (add && listed) return await overview(c, `${p} is already exempt.`, 409);
        // The daemon exits on deleting an absent prefix: only ever send listed ones.
        if (!add && !listed) return await overview(c, `${p} is not exempt.`, 409);
        await must(c.d.ctl, ['exempt', add ? 'add' : 'del', p]);
        return flashTo(add ? `Exempted ${p}.` : `${p} is no longer exempt.`, '/');
      }
      default:
        return res(400, page('error', { title: 'Bad request', heading: 'Bad request', message: 'unknown action' }));
    }
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    const msg = `Not applied: ${e.message}`;
    return await overview(c, msg, failStatus(e));
  }
}

// ------------------------------------------------------------ password
function passwordPage(c: Ctx, error?: string, status = 200): Res {
  return res(status, page('password', base(c, 'password', 'Password', { error })));
}

/**
 * Change the admin password: the current one (a wrong one counts against the
 * address like a failed login), the new one twice. The root helper writes
 * it; then every session made before, this one too, is refused (they carry
 * the old file's fingerprint), and this browser gets a new session.
 */
async function changePasswordAction(c: Ctx, form: Form): Promise<Res> {
  const current = field(form, 'current', 1024);
  const next = field(form, 'next', 1024);
  if (next !== field(form, 'again', 1024)) return passwordPage(c, 'Not changed: the two new passwords differ.', 400);
  const weak = passwordProblem(next);
  if (weak) return passwordPage(c, `Not changed: the new password is ${weak}.`, 400);
  const limiter = new LoginLimiter(limiterDir(c.d.cfg));
  const addr = c.req.remoteAddr ?? 'unknown';
  if (!(await limiter.attempt(addr, c.now))) return passwordPage(c, 'Not changed: too many wrong passwords from this address. Try again in a few minutes.', 429);
  let r: ChangeResult;
  try {
    r = await (c.d.passwd ?? passwdClient(c.d.cfg.passwdSocket))(current, next);
  } catch (e) {
    if (!(e instanceof PasswdServiceError)) throw e;
    return passwordPage(c, `Not changed: ${e.message}.`, 503);
  }
  if (!r.ok) return passwordPage(c, `Not changed: ${r.message}.`, r.why === 'wrong-current' ? 403 : r.why === 'weak' ? 400 : 503);
  await limiter.succeeded(addr, c.now);
  const store = new SessionStore(sessionsDir(c.d.cfg));
  store.destroy(c.sid);
  const { id, s } = store.create(c.now, r.fingerprint);
  s.flash = 'Password changed. Every other session is logged out.';
  store.save(id, s);
  return redirect('/', [cookie(SESSION_COOKIE, id)]);
}

// ------------------------------------------------------------ login
function loginPage(req: Req, locked = false, error?: string, status = 200): Res {
  let token = req.cookies[LOGIN_COOKIE];
  const extra: [string, string][] = [];
  if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) {
    token = newToken();
    extra.push(cookie(LOGIN_COOKIE, token, 3600));
  }
  return res(status, page('login', { title: 'Log in', token, locked, error }), extra);
}

async function login(req: Req, d: Deps, now: number): Promise<Res> {
  const form = parseForm(req);
  const token = req.cookies[LOGIN_COOKIE];
  if (!token || !safeEqual(form.fields.get('csrf') ?? '', token)) return loginPage(req, false, 'Your login form expired; please try again.', 403);
  let stored = '';
  try {
    stored = readFileSync(d.cfg.passwdFile, 'utf8');
  } catch {
    return loginPage(req, false, `No admin password is set (${d.cfg.passwdFile} is missing).`, 503);
  }
  const limiter = new LoginLimiter(limiterDir(d.cfg));
  const addr = req.remoteAddr ?? 'unknown';
  // Recorded as a failure before the password is looked at; refused unchecked when the address has used up its attempts.
  if (!(await limiter.attempt(addr, now))) return loginPage(req, true, undefined, 429);
  const pw = (form.fields.get('password') ?? '').slice(0, 1024);
  if ((form.fields.get('user') ?? 'admin') !== 'admin' || !verifyPassword(pw, stored)) return loginPage(req, false, 'Wrong password.', 403);
  await limiter.succeeded(addr, now);
  const { id } = new SessionStore(sessionsDir(d.cfg)).create(now, fingerprint(stored));
  return redirect('/', [cookie(SESSION_COOKIE, id), cookie(LOGIN_COOKIE, '', 0)]);
}

// ------------------------------------------------------------ entry
export async function handle(req: Req, d: Deps): Promise<Res> {
  const now = (d.now ?? Date.now)();
  try {
    const post = req.method === 'POST';
    if (!post && req.method !== 'GET' && req.method !== 'HEAD') return res(405, page('error', { title: 'Method not allowed', heading: 'Method not allowed', message: req.method }), [['Allow', 'GET, POST']]);
    if (post) {
      const why = crossSite(req);
      if (why) return res(403, page('error', { title: 'Refused', heading: 'Refused', message: why }));
    }
    if (req.path === '/login') return post ? await login(req, d, now) : loginPage(req);
    const store = new SessionStore(sessionsDir(d.cfg));
    const sid = req.cookies[SESSION_COOKIE];
    const s = store.get(sid, now, passwdFingerprint(d.cfg.passwdFile));
    if (!s || !sid) {
      if (post) return res(403, page('error', { title: 'Refused', heading: 'Not logged in', message: 'Log in first.' }));
      if (req.query.get('partial') === '1') return res(401, '');
      return redirect('/login');
    }
    const c: Ctx = { d, req, s, sid, now };
    if (post) {
      const form = parseForm(req);
      if (!safeEqual(form.fields.get('csrf') ?? '', s.csrf)) return res(403, page('error', { title: 'Refused', heading: 'Refused', message: 'missing or wrong CSRF token' }));
      if (req.path === '/logout') {
        store.destroy(sid);
        return redirect('/login', [cookie(SESSION_COOKIE, '', 0)]);
      }
      if (req.path === '/action') return await action(c, form);
      if (req.path === '/password') return await changePasswordAction(c, form);
      return res(404, page('error', { title: 'Not found', heading: 'Not found', message: req.path }));
    }
    switch (req.path) {
      case '/':
        return await overview(c);
      case '/list':
        return await listPage(c);
      case '/password':
        return passwordPage(c);
      case '/groups':
        return await groupsPage(c);
      case '/categories':
        return await categoriesPage(c);
      case '/schedules':
        return await schedulesPage(c);
      case '/clients':
        return await clientsPage(c);
      case '/transfer':
        return transferPage(c);
      case '/export':
        return await exportFile(c);
      case '/log': {
        const v = await logView(c);
        if (req.query.get('partial') === '1') return res(200, render('livepart', v));
        const st = await c.d.ctl(['status']).catch(() => undefined);
        const act = await activity(c, '/log', st && st.rc === 0 ? parseStatus(0, st.out).log : undefined);
        return res(200, page('log', base(c, 'log', 'Live log', { ...v, ...act, live: v.newest })));
      }
      default:
        return res(404, page('error', { authed: true, csrf: s.csrf, title: 'Not found', heading: 'Not found', message: req.path }));
    }
  } catch (e) {
    if (e instanceof BadRequest) return res(400, page('error', { title: 'Bad request', heading: 'Bad request', message: e.message }));
    if (e instanceof LockTimeout) return res(503, page('error', { title: 'Busy', heading: 'Busy', message: 'Too many requests at once; try again.' }), [['Retry-After', '5']]);
    throw e;
  }
}

export function passwdExists(cfg: Config): boolean {
  return existsSync(cfg.passwdFile);
}
