// The daemon's policy as its list commands print it: groups, clients,
// schedule windows and subscriptions (one record a line, tab-separated).
import { must, type Ctl } from './ctl.js';

export interface Group {
  name: string;
  mode: 'blocklist' | 'allow-only';
  block: string[];
  allow: string[];
  clients: number;
}

const cats = (v: string | undefined) => (!v || v === '-' ? [] : v.split(','));

/** key=value fields after the first ones */
function kv(fields: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const f of fields) {
    const i = f.indexOf('=');
    if (i > 0) o[f.slice(0, i)] = f.slice(i + 1);
  }
  return o;
}

const lines = (text: string) => text.split('\n').filter(Boolean).map((l) => l.split('\t'));

/** `group list`: NAME mode=M block=CATS allow=CATS clients=N */
export async function groups(ctl: Ctl): Promise<Group[]> {
  return lines(await must(ctl, ['group', 'list'])).map(([name, ...rest]) => {
    const o = kv(rest);
    return { name, mode: o.mode === 'allow-only' ? 'allow-only' : 'blocklist', block: cats(o.block), allow: cats(o.allow), clients: Number(o.clients) || 0 };
  });
}

export interface ClientRule {
  addr: string;
  group: string;
}

/** `client list`: ADDR GROUP */
export async function clientRules(ctl: Ctl): Promise<ClientRule[]> {
  return lines(await must(ctl, ['client', 'list'])).map(([addr, group]) => ({ addr, group: group ?? '' }));
}

export interface Window {
  /** the number `schedule del` takes (they shift after a del) */
  n: number;
  group: string;
  /** bit 0 = Monday ... bit 6 = Sunday */
  days: number;
  /** minutes after midnight; end may be 1440, and below start when the window runs over midnight */
  start: number;
  end: number;
  action: 'block' | 'allow-only';
  cats: string[];
  open: boolean;
  /** as listed, after the number */
  text: string;
}

export const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export function parseDays(s: string): number | undefined {
  if (s === 'daily') return 0x7f;
  if (s === 'weekdays') return 0x1f;
  if (s === 'weekend') return 0x60;
  let d = 0;
  for (const part of s.split(',')) {
    const m = /^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?$/.exec(part);
    if (!m) return undefined;
    const a = DAY_NAMES.indexOf(m[1]);
    const b = m[2] ? DAY_NAMES.indexOf(m[2]) : a;
    for (let i = a; ; i = (i + 1) % 7) {
      d |= 1 << i;
      if (i === b) break;
    }
  }
  return d || undefined;
}

export function daysText(days: number): string {
  if (days === 0x7f) return 'daily';
  return DAY_NAMES.filter((_, i) => (days >> i) & 1).join(',');
}

const hm = (s: string) => {
  const m = /^(\d\d):(\d\d)$/.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
};

export function fmtHm(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

/** `schedule list`: N<TAB>GROUP DAYS HH:MM-HH:MM ACTION CATS<TAB>open|closed */
export function parseWindows(text: string): Window[] {
  const out: Window[] = [];
  for (const [n, body, state] of lines(text)) {
    const m = /^(\S+) (\S+) (\d\d:\d\d)-(\d\d:\d\d) (block|allow-only) (\S+)$/.exec(body ?? '');
    const days = m ? parseDays(m[2]) : undefined;
    if (!m || days === undefined) continue;
    out.push({ n: Number(n), group: m[1], days, start: hm(m[3]), end: hm(m[4]), action: m[5] as Window['action'], cats: cats(m[6]), open: state === 'open', text: body });
  }
  return out;
}

export async function windows(ctl: Ctl): Promise<Window[]> {
  return parseWindows(await must(ctl, ['schedule', 'list']));
}

export interface Subscription {
  cat: string;
  url: string;
  every: string;
  ok: string;
  names: number;
  tried: string;
  error: string;
}

/** `subscribe list`: CAT URL every=.. ok=.. names=.. tried=.. error=.. */
export async function subscriptions(ctl: Ctl): Promise<Subscription[]> {
  return lines(await must(ctl, ['subscribe', 'list'])).map(([cat, url, ...rest]) => {
    const o = kv(rest);
    return { cat, url: url ?? '', every: o.every ?? '', ok: o.ok ?? '', names: Number(o.names) || 0, tried: o.tried ?? '', error: o.error ?? '' };
  });
}

export interface PolicyDoc {
  categories: { name: string; subscription?: { url: string; every?: string } }[];
  groups: { name: string; mode: 'blocklist' | 'allow-only'; block: string[]; allow: string[]; clients: string[] }[];
}

/**
 * `export policy`: categories, groups and their clients in one answer. It
 * reads the policy file only, where `category list` counts every name (a
 * second with a million names), so pages that need no counts use this.
 */
export async function policyDoc(ctl: Ctl): Promise<PolicyDoc> {
  const doc = JSON.parse(await must(ctl, ['export', 'policy'])) as PolicyDoc;
  if (!Array.isArray(doc.categories) || !Array.isArray(doc.groups)) throw new Error('export policy: unexpected answer');
  return doc;
}
