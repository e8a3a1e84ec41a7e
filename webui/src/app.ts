// The web UI's request handler: routing, authentication, CSRF, validation,
// and the daemon commands behind each form. Pure apart from the files under
// the state directory and the control socket (both injectable for tests).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { safeEqual, SessionStore, newToken, type Session } from './auth.js';
import { writeFileAtomicAfter } from '../../lib/atomic-write.js';
import { passwordProblem, verifyPassword } from '../../lib/password.js';
import { chartData } from './chart.js';
import { describeCounters } from './counters.js';
import { limiterDir, sessionsDir, settingsFile, type Config } from './config.js';
import { DaemonDown, DaemonError, must, NotLoaded, parseExempt, parseList, parseStatus, type Ctl, type Entry, type Status } from './ctl.js';
import { DottedQuadError, InputError, normaliseDomain, normalisePorts, normalisePrefix, parseImport, stripBom, type Normalised } from './domains.js';
import { filterEvents, perMinute, readEvents, top, VERDICTS, type Filter, type SniEvent } from './events.js';
import { BadRequest, MAX_BODY, parseForm, type Form, type Req, type Res } from './http.js';
import { LoginLimiter } from './limiter.js';
import { LockTimeout } from './lock.js';
import { fingerprint, passwdFingerprint, type ChangeResult } from './passwd.js';
import { passwdClient, PasswdServiceError, type PasswdChanger } from './passwd-service.js';
import { page, render } from './render.js';
import { visibleText } from './visible.js';

export interface Deps {
  cfg: Config;
  ctl: Ctl;
  /** changes the admin password; default: the root helper on cfg.passwdSocket */
  passwd?: PasswdChanger;
  now?: () => number;
}

export const SESSION_COOKIE = '__Host-xdpfire';
export const LOGIN_COOKIE = '__Host-xdpfire-login';
export const PAGE_SIZE = 100;
/** events per page of the live log */
export const LOG_PAGE = 200;

export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Every response's; webui.conf sets the same on lighttpd's own (a unit test compares them). */
export const SECURITY_HEADERS: [string, string][] = [
  ['Content-Security-Policy', CSP],
  ['X-Frame-Options', 'DENY'],
  ['X-Content-Type-Options', 'nosniff'],
  ['Referrer-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cache-Control', 'no-store'],
];

function res(status: number, body: string, extra: [string, string][] = []): Res {
  return { status, body, headers: [['Content-Type', 'text/html; charset=utf-8'], ...SECURITY_HEADERS, ...extra] };
}

function redirect(location: string, extra: [string, string][] = []): Res {
  return { status: 303, body: '', headers: [['Location', location], ...SECURITY_HEADERS, ...extra] };
}

function cookie(name: string, value: string, maxAge?: number): [string, string] {
  return ['Set-Cookie', `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict${maxAge !== undefined ? `; Max-Age=${maxAge}` : ''}`];
}

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
export interface Saved {
  enabled: boolean;
  ports: string;
  mode: 'block' | 'monitor';
  rst: boolean;
  /** absent in files written before the setting came */
  unreadable?: 'block' | 'pass';
  exempt: string[];
}

export function readSaved(cfg: Config): Saved | undefined {
  try {
    return JSON.parse(readFileSync(settingsFile(cfg), 'utf8')) as Saved;
  } catch {
    return undefined;
  }
}

async function current(d: Deps): Promise<{ status: Status; exempt: string[]; saved: Saved }> {
  const st = await d.ctl(['status']);
  if (st.rc === 3) throw new NotLoaded('the xdp-sni data plane is not loaded (no pinned maps)');
  if (st.rc !== 0) throw new DaemonError(`the daemon refused 'status' (rc=${st.rc})`);
  const status = parseStatus(st.rc, st.out);
  const exempt = parseExempt(await must(d.ctl, ['exempt', 'list']));
  const prev = readSaved(d.cfg);
  const enabled = status.ports !== 'none';
  const saved: Saved = {
    enabled,
    ports: enabled ? status.ports : prev?.ports && prev.ports !== 'none' ? prev.ports : '443',
    mode: status.mode === 'monitor' ? 'monitor' : 'block',
    rst: status.rst,
    unreadable: status.unreadable,
    exempt,
  };
  return { status, exempt, saved };
}

/** Write the new settings next to the file, apply them, then move them in place: nothing half-done. */
async function changeSettings(d: Deps, next: Saved, apply: () => Promise<unknown>): Promise<void> {
  const f = settingsFile(d.cfg);
  mkdirSync(dirname(f), { recursive: true, mode: 0o700 });
  await writeFileAtomicAfter(f, `${JSON.stringify(next, null, 1)}\n`, apply, { mode: 0o600 });
}

// ------------------------------------------------------------ blocklist
async function listEntries(d: Deps): Promise<Entry[]> {
  return parseList(await must(d.ctl, ['list']));
}

function hasFlag(e: Entry | undefined, sub: boolean): boolean {
  if (!e) return false;
  return sub ? e.subdomains : e.flags.split(/[ ,]/).includes('exact');
}

/** Daemon command lines: at most 25 names and 900 bytes each. */
function chunks(names: string[], extra: string[]): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const n of names) {
    if (cur.length && (cur.length >= 25 || bytes + n.length + 1 > 900)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(n);
    bytes += n.length + 1;
  }
  if (cur.length) out.push(cur);
  return out.map((c) => [...c, ...extra]);
}

export interface AddOutcome {
  added: number;
  already: number;
}

/**
 * Add names; on any failure undo what this call changed (delete the names
 * that were new, restore the old flags of the others) and throw.
 */
export async function addNames(d: Deps, names: Normalised[], existing: Entry[]): Promise<AddOutcome> {
  const byName = new Map(existing.map((e) => [e.name, e]));
  const todo = names.filter((n) => !hasFlag(byName.get(n.name), n.subdomains));
  const done: Normalised[] = [];
  try {
    for (const sub of [false, true]) {
      for (const cmd of chunks(todo.filter((n) => n.subdomains === sub).map((n) => n.name), sub ? ['subdomains'] : [])) {
        const batch = todo.filter((n) => n.subdomains === sub && cmd.includes(n.name));
        done.push(...batch); // count the batch as done before sending: it may be half-applied
        await must(d.ctl, ['add', ...cmd]);
      }
    }
  } catch (e) {
    const fresh = done.filter((n) => !byName.has(n.name)).map((n) => n.name);
    const changed = [...new Set(done.filter((n) => byName.has(n.name)).map((n) => n.name))];
    let undoFailed = false;
    try {
      for (const cmd of chunks([...fresh, ...changed], [])) await d.ctl(['del', ...cmd]);
      for (const sub of [false, true]) {
        const back = changed.filter((n) => hasFlag(byName.get(n), sub));
        for (const cmd of chunks(back, sub ? ['subdomains'] : [])) await must(d.ctl, ['add', ...cmd]);
      }
    } catch {
      undoFailed = true;
    }
    throw new DaemonError(`${(e as Error).message}; ${undoFailed ? 'undoing the partial change FAILED too: check the list' : 'nothing was changed'}`);
  }
  return { added: names.filter((n) => !byName.has(n.name)).length, already: names.filter((n) => byName.has(n.name)).length };
}

// ------------------------------------------------------------ views
function fmtTime(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h ${m}m` : h ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

function activity(events: SniEvent[], now: number) {
  const hour = events.filter((e) => e.t > now - 3600_000);
  return {
    chart: chartData(perMinute(hour, now)),
    topNames: top(hour.filter((e) => e.verdict === 'block'), (e) => e.sni),
    topClients: top(hour, (e) => e.client),
  };
}

function readFilter(q: URLSearchParams): Filter {
  const verdict = q.get('verdict') ?? '';
  return {
    name: (q.get('name') ?? '').trim().slice(0, 100) || undefined,
    client: (q.get('client') ?? '').trim().slice(0, 64) || undefined,
    verdict: VERDICTS.includes(verdict) ? verdict : undefined,
  };
}

interface Ctx {
  d: Deps;
  req: Req;
  s: Session;
  sid: string;
  now: number;
}

function base(c: Ctx, nav: string, title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const flash = c.s.flash;
  if (flash) {
    delete c.s.flash;
    new SessionStore(sessionsDir(c.d.cfg)).save(c.sid, c.s);
  }
  return { authed: true, nav, title, csrf: c.s.csrf, flash, ...extra };
}

/** Why the live state is unknown, for the pages (unknown.hbs). */
interface Unknown {
  down: boolean;
  unloaded: boolean;
  message: string;
}

function unknownFrom(e: DaemonError): Unknown {
  return { down: e instanceof DaemonDown, unloaded: e instanceof NotLoaded, message: e.message };
}

/** The HTTP status of a page whose daemon call failed. */
function failStatus(e: DaemonError): number {
  return e instanceof DaemonDown || e instanceof NotLoaded ? 503 : 502;
}

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
  const log = readEvents(c.d.cfg.logFiles, c.d.cfg.logTailBytes, c.now);
  const uptime = log.daemonStarted !== undefined ? `${fmtDuration(c.now - log.daemonStarted)} (since ${fmtTime(log.daemonStarted)})` : 'unknown (no start in the log)';
  const live = cur
    ? {
        known: true,
        status: cur.status,
        enabled: cur.saved.enabled,
        ports: cur.saved.ports,
        exempt: cur.exempt,
        counters: describeCounters(cur.status.counters),
        uptime,
      }
    : { known: false, unknown, saved: readSaved(c.d.cfg) };
  return res(status, page('overview', base(c, 'overview', 'xdp-sni', { error: err, ...live, ...activity(log.events, c.now) })));
}

interface ListView {
  error?: string;
  status?: number;
  report?: Record<string, unknown>;
  addName?: string;
  addSub?: boolean;
  /** the import form as it was sent, when the import was refused */
  importText?: string;
  importSub?: boolean;
  importSkipBad?: boolean;
}

async function listPage(c: Ctx, v: ListView = {}): Promise<Res> {
  let entries: Entry[] = [];
  let unknown: Unknown | undefined;
  let error = v.error;
  let status = v.status ?? 200;
  try {
    entries = await listEntries(c.d);
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    // the list is unknown: no count, no rows, no forms that cannot work
    unknown = unknownFrom(e);
    error = error ?? e.message;
    status = failStatus(e);
  }
  const q = (c.req.query.get('q') ?? '').trim().toLowerCase().slice(0, 253);
  const matching = q ? entries.filter((e) => e.name.includes(q)) : entries;
  matching.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const pg = Math.min(pages, Math.max(1, Number.parseInt(c.req.query.get('page') ?? '1', 10) || 1));
  const url = (p: number) => {
    const u = new URLSearchParams();
    if (q) u.set('q', q);
    if (p > 1) u.set('page', String(p));
    const s = u.toString();
    return `/list${s ? `?${s}` : ''}`;
  };
  return res(
    status,
    page('list', base(c, 'list', 'Blocklist', {
      error,
      known: !unknown,
      unknown,
      rows: matching.slice((pg - 1) * PAGE_SIZE, pg * PAGE_SIZE),
      total: entries.length,
      matching: matching.length,
      q,
      page: pg,
      pages,
      prev: pg > 1 ? url(pg - 1) : undefined,
      next: pg < pages ? url(pg + 1) : undefined,
      back: url(pg),
      report: v.report,
      addName: v.addName,
      addSub: v.addSub,
      importText: v.importText,
      importSub: v.importSub,
      importSkipBad: v.importSkipBad,
      importMax: c.d.cfg.importMax,
      uploadLimit: `${MAX_BODY / (1 << 20)} MiB`,
    })),
  );
}

/** The daemon's answer to a ping, for the log page: undefined when it answers. */
async function daemonSilence(d: Deps): Promise<Unknown | undefined> {
  try {
    await d.ctl(['ping']);
    return undefined;
  } catch (e) {
    if (e instanceof DaemonDown) return unknownFrom(e);
    throw e;
  }
}

async function logView(c: Ctx) {
  const silent = await daemonSilence(c.d);
  const f = readFilter(c.req.query);
  const log = readEvents(c.d.cfg.logFiles, c.d.cfg.logTailBytes, c.now);
  const matching = filterEvents(log.events, f);
  // page 1 is the newest LOG_PAGE events (and refreshes itself); higher pages go back in time
  const pages = Math.max(1, Math.ceil(matching.length / LOG_PAGE));
  const pg = Math.min(pages, Math.max(1, Number.parseInt(c.req.query.get('page') ?? '1', 10) || 1));
  const end = matching.length - (pg - 1) * LOG_PAGE;
  const shown = matching.slice(Math.max(0, end - LOG_PAGE), end).reverse();
  const url = (p: number, partial = false) => {
    const u = new URLSearchParams();
    if (f.name) u.set('name', f.name);
    if (f.client) u.set('client', f.client);
    if (f.verdict) u.set('verdict', f.verdict);
    if (p > 1) u.set('page', String(p));
    if (partial) u.set('partial', '1');
    const q = u.toString();
    return `/log${q ? `?${q}` : ''}`;
  };
  return {
    silent,
    filter: f,
    verdicts: VERDICTS,
    events: shown.map((e) => ({ ...e, time: fmtTime(e.t) })),
    shown: shown.length,
    matching: matching.length,
    first: matching.length - end + 1,
    last: matching.length - end + shown.length,
    page: pg,
    pages,
    newer: pg > 1 ? url(pg - 1) : undefined,
    older: pg < pages ? url(pg + 1) : undefined,
    newest: pg === 1,
    updated: fmtTime(c.now),
    liveUrl: url(pg, true),
    ...activity(log.events, c.now),
  };
}

// ------------------------------------------------------------ actions
const LIST_ACTIONS = new Set(['add', 'del', 'import']);

function field(f: Form, name: string, max = 300): string {
  return (f.fields.get(name) ?? '').slice(0, max);
}

async function action(c: Ctx, form: Form): Promise<Res> {
  const what = field(form, 'do', 20);
  const flashTo = (msg: string, to: string) => {
    c.s.flash = msg;
    new SessionStore(sessionsDir(c.d.cfg)).save(c.sid, c.s);
    return redirect(to);
  };
  try {
    switch (what) {
      case 'add': {
        const raw = field(form, 'name').trim();
        let n: Normalised;
        try {
          n = normaliseDomain(raw, form.fields.get('subdomains') === '1');
        } catch (e) {
          if (e instanceof InputError) return await listPage(c, { error: `Not added: bad domain '${visibleText(raw)}': ${e.message}`, status: 400, addName: raw, addSub: form.fields.get('subdomains') === '1' });
          throw e;
        }
        const existing = await listEntries(c.d);
        const r = await addNames(c.d, [n], existing);
        return flashTo(r.added ? `Added ${n.name}${n.subdomains ? ' and its subdomains' : ''}.` : `${n.name} was already listed${n.subdomains ? '; it now matches its subdomains too' : ''}.`, '/list');
      }
      case 'del': {
        const raw = field(form, 'name').trim();
        const back = field(form, 'back', 400);
        let n: Normalised;
        try {
          n = normaliseDomain(raw);
        } catch (e) {
          if (e instanceof DottedQuadError) n = e.normalised; // listed by an older version: removable
          else if (e instanceof InputError) return await listPage(c, { error: `Not removed: bad domain '${visibleText(raw)}': ${e.message}`, status: 400 });
          else throw e;
        }
        const existing = await listEntries(c.d);
        if (!existing.some((e) => e.name === n.name)) return await listPage(c, { error: `Not removed: ${n.name} is not listed.`, status: 409 });
        await must(c.d.ctl, ['del', n.name]);
        return flashTo(`Removed ${n.name}.`, /^\/list(\?[A-Za-z0-9=&%._+*-]*)?$/.test(back) ? back : '/list');
      }
      case 'import':
        return await importList(c, form);
      case 'enable':
      case 'disable': {
        const cur = await current(c.d);
        if (cur.saved.enabled === (what === 'enable')) return flashTo(`Already ${what}d.`, '/');
        const next = { ...cur.saved, enabled: what === 'enable' };
        // Disabled = no watched ports: the program stays attached and passes everything.
        await changeSettings(c.d, next, () => must(c.d.ctl, ['ports', what === 'enable' ? next.ports : ',']));
        return flashTo(what === 'enable' ? `Enabled: reading ClientHellos on port(s) ${next.ports}.` : 'Disabled: no ClientHello is read; nothing is blocked or logged.', '/');
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
        const next: Saved = { ...cur.saved, mode, rst: rst === 'on', unreadable };
        await changeSettings(c.d, next, async () => {
          await must(c.d.ctl, ['mode', mode]);
          try {
            await must(c.d.ctl, ['rst', rst]);
            await must(c.d.ctl, ['unreadable', unreadable]);
          } catch (e) {
            await c.d.ctl(['mode', cur.saved.mode]).catch(() => undefined);
            await c.d.ctl(['rst', cur.saved.rst ? 'on' : 'off']).catch(() => undefined);
            throw e;
          }
        });
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
        const next = { ...cur.saved, ports };
        await changeSettings(c.d, next, async () => {
          if (cur.saved.enabled) await must(c.d.ctl, ['ports', ports]);
        });
        return flashTo(cur.saved.enabled ? `Watching TCP port(s) ${ports}.` : `Saved port(s) ${ports}; they apply when the filter is enabled.`, '/');
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
        const next = { ...cur.saved, exempt: add ? [...cur.exempt, p] : cur.exempt.filter((x) => x !== p) };
        await changeSettings(c.d, next, () => must(c.d.ctl, ['exempt', add ? 'add' : 'del', p]));
        return flashTo(add ? `Exempted ${p}.` : `${p} is no longer exempt.`, '/');
      }
      default:
        return res(400, page('error', { title: 'Bad request', heading: 'Bad request', message: 'unknown action' }));
    }
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    const msg = `Not applied: ${e.message}`;
    return LIST_ACTIONS.has(what) ? await listPage(c, { error: msg, status: failStatus(e) }) : await overview(c, msg, failStatus(e));
  }
}

async function importList(c: Ctx, form: Form): Promise<Res> {
  const file = form.files.get('file');
  const pasted = field(form, 'list', 8 << 20);
  // a refused import keeps what was pasted (a file cannot be given back)
  const keep: ListView = { importText: pasted, importSub: form.fields.get('subdomains') === '1', importSkipBad: form.fields.get('skipbad') === '1' };
  const refuse = (error: string, status: number, report?: Record<string, unknown>) => listPage(c, { ...keep, report, error, status });
  if (file && file.data.includes(0)) return await refuse(`Nothing imported: ${file.filename || 'the file'} is not a text file.`, 400);
  // each part may start with a byte order mark: a file's would land inside the text
  const text = [pasted, file?.data.toString('utf8') ?? ''].map(stripBom).filter((s) => s.trim()).join('\n');
  if (!text.trim()) return await refuse('Nothing imported: paste names or choose a file.', 400);
  const r = parseImport(text, keep.importSub);
  const report: Record<string, unknown> = {
    acceptedLines: r.acceptedLines,
    names: r.accepted.length,
    added: 0,
    already: 0,
    rejectedCount: r.rejected.length,
    rejected: r.rejected.slice(0, 200),
    moreRejected: Math.max(0, r.rejected.length - 200),
    ignored: r.ignored,
    applied: false,
  };
  if (r.rejected.length && !keep.importSkipBad) return await refuse(`Nothing imported: ${r.rejected.length} bad line(s). Fix them, or tick "import the valid lines".`, 400, report);
  if (r.accepted.length === 0)
    return await refuse(`Nothing imported: no names found: ${r.ignored} line(s) without a name${r.rejected.length ? ` and ${r.rejected.length} bad line(s)` : ''}.`, 400, report);
  if (r.accepted.length > c.d.cfg.importMax) return await refuse(`Nothing imported: ${r.accepted.length} names; at most ${c.d.cfg.importMax} per import.`, 400, report);
  let have = new Set<string>();
  try {
    const existing = await listEntries(c.d);
    have = new Set(existing.map((e) => e.name));
    const out = await addNames(c.d, r.accepted, existing);
    Object.assign(report, out, { applied: true });
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    report.added = r.accepted.filter((n) => !have.has(n.name)).length;
    return await refuse(`Not imported: ${e.message}`, failStatus(e), report);
  }
  return await listPage(c, { report });
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
      case '/log': {
        const v = await logView(c);
        if (req.query.get('partial') === '1') return res(200, render('livepart', v));
        return res(200, page('log', base(c, 'log', 'Live log', { ...v, live: v.newest })));
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
