// What every page and action shares: responses with the security headers,
// the request context, flash messages, the daemon-failure views and times.
import { SessionStore, type Session } from './auth.js';
import { sessionsDir, type Config } from './config.js';
import { DaemonDown, NotLoaded, type Ctl, type DaemonError } from './ctl.js';
import type { Form, Req, Res } from './http.js';
import type { PasswdChanger } from './passwd-service.js';

export interface Deps {
  cfg: Config;
  ctl: Ctl;
  /** changes the admin password; default: the root helper on cfg.passwdSocket */
  passwd?: PasswdChanger;
  now?: () => number;
}

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

export function res(status: number, body: string, extra: [string, string][] = []): Res {
  return { status, body, headers: [['Content-Type', 'text/html; charset=utf-8'], ...SECURITY_HEADERS, ...extra] };
}

export function redirect(location: string, extra: [string, string][] = []): Res {
  return { status: 303, body: '', headers: [['Location', location], ...SECURITY_HEADERS, ...extra] };
}

/** A file to save: attachment, its own content type, the security headers. */
export function download(filename: string, contentType: string, body: string): Res {
  return { status: 200, body, headers: [['Content-Type', contentType], ['Content-Disposition', `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`], ...SECURITY_HEADERS] };
}

export function cookie(name: string, value: string, maxAge?: number): [string, string] {
  return ['Set-Cookie', `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Strict${maxAge !== undefined ? `; Max-Age=${maxAge}` : ''}`];
}

export interface Ctx {
  d: Deps;
  req: Req;
  s: Session;
  sid: string;
  now: number;
}

/** The context every page template gets (and the flash, shown once). */
export function base(c: Ctx, nav: string, title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const flash = c.s.flash;
  if (flash) {
    delete c.s.flash;
    new SessionStore(sessionsDir(c.d.cfg)).save(c.sid, c.s);
  }
  return { authed: true, nav, title, csrf: c.s.csrf, flash, ...extra };
}

/** Redirect after a change, with a message for the next page. */
export function flashTo(c: Ctx, msg: string, to: string): Res {
  c.s.flash = msg;
  new SessionStore(sessionsDir(c.d.cfg)).save(c.sid, c.s);
  return redirect(to);
}

/** Why the live state is unknown, for the pages (unknown.hbs). */
export interface Unknown {
  down: boolean;
  unloaded: boolean;
  message: string;
}

export function unknownFrom(e: DaemonError): Unknown {
  return { down: e instanceof DaemonDown, unloaded: e instanceof NotLoaded, message: e.message };
}

/** The HTTP status of a page whose daemon call failed. */
export function failStatus(e: DaemonError): number {
  return e instanceof DaemonDown || e instanceof NotLoaded ? 503 : 502;
}

export function field(f: Form, name: string, max = 300): string {
  return (f.fields.get(name) ?? '').slice(0, max);
}

export function fmtTime(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h ${m}m` : h ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

/** A category or group name, as the daemon takes it. */
export const NAME_RE = /^[a-z][a-z0-9-]{0,30}$/;

/** A form action of a page: what it does, and the page that shows its failure. */
export interface Action {
  run: (c: Ctx, form: Form) => Promise<Res>;
  failed: (c: Ctx, form: Form, message: string, status: number) => Promise<Res>;
}
