// The event history, read from the daemon over its control socket
// (`xdp-sni history ...`; the daemon keeps it in SQLite). Each answer is one
// record a line, tab-separated; a server name is printed as sent, with every
// byte outside printable ASCII (and '\') as \xHH. Names are decoded here to
// their bytes and then to text the way visible.ts shows client-sent text.
import { must, type Ctl } from './ctl.js';
import { decodeBytes } from './visible.js';

export interface HistEvent {
  id: number;
  /** ms since the epoch */
  t: number;
  client: string;
  group: string;
  cats: string;
  verdict: string;
  /** tls, ech, dns or quic, as the daemon recorded it (files from before the column: tls) */
  door: string;
  /** as the client sent it: UTF-8 decoded, other bytes kept as U+DC80+byte (visible.ts) */
  sni: string;
}

/**
 * Which way a connection went, from its categories: xdp-sni-apply fills
 * "ech-public" (ECH public names: the real name is encrypted) and
 * "encrypted-dns" (DNS-over-HTTPS/TLS services) from the shipped lists, and
 * the daemon's log line says the same (door=ech, dns, tls).
 */
export function doorOf(cats: string, door = 'tls'): 'quic' | 'ech' | 'dns' | 'tls' {
  if (door === 'quic') return 'quic';
  const c = cats.split(',');
  if (c.includes('ech-public')) return 'ech';
  if (c.includes('encrypted-dns')) return 'dns';
  return 'tls';
}

export const DOOR_LABELS = { quic: 'QUIC', ech: 'ECH', dns: 'encrypted DNS', tls: 'TLS' } as const;

export const VERDICTS = ['block', 'monitor', 'exempt', 'pass', 'unreadable-block', 'unreadable-pass'];

/** A \xHH-escaped field (the history's form) to its bytes, one char per byte. */
export function unescapeField(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/** A \xHH-escaped name to the text visible.ts shows. */
export function decodeName(s: string): string {
  return decodeBytes(unescapeField(s));
}

function rows(text: string): string[][] {
  return text.split('\n').filter(Boolean).map((l) => l.split('\t'));
}

const num = (s: string | undefined) => (s === undefined || s === '-' ? 0 : Number(s));

export interface EventQuery {
  name?: string;
  client?: string;
  verdict?: string;
  group?: string;
  before?: number;
  since?: number;
  limit?: number;
}

/** The query options as words for the daemon; user text as --opt=VALUE, so that it can never be read as an option. */
function opts(q: EventQuery): string[] {
  const o: string[] = [];
  if (q.name) o.push(`--name=${q.name}`);
  if (q.client) o.push(`--client=${q.client}`);
  if (q.verdict) o.push(`--verdict=${q.verdict}`);
  if (q.group) o.push(`--group=${q.group}`);
  if (q.before) o.push(`--before=${q.before}`);
  if (q.since) o.push(`--since=${Math.floor(q.since / 1000)}`);
  if (q.limit) o.push(`--limit=${q.limit}`);
  return o;
}

/** `history events`: newest first. */
export async function events(ctl: Ctl, q: EventQuery): Promise<HistEvent[]> {
  return rows(await must(ctl, ['history', 'events', ...opts(q)])).map((r) => ({
    id: num(r[0]),
    t: num(r[1]) * 1000,
    client: r[2] ?? '',
    group: r[3] ?? '',
    cats: r[4] ?? '',
    verdict: r[5] ?? '',
    sni: decodeName(r[6] ?? ''),
    door: r[7] ?? 'tls',
  }));
}

export interface Bucket {
  /** ms since the epoch, the bucket's start */
  t: number;
  /** events by verdict */
  n: Record<string, number>;
}

/** `history summary`: events per bucket of STEP seconds and verdict, from SINCE (ms). */
export async function summary(ctl: Ctl, stepS: number, since: number, o: { client?: string; group?: string; category?: string } = {}): Promise<Map<number, Record<string, number>>> {
  const args = ['history', 'summary', `--step=${stepS}`, `--since=${Math.floor(since / 1000)}`];
  if (o.client) args.push(`--client=${o.client}`);
  if (o.group) args.push(`--group=${o.group}`);
  if (o.category) args.push(`--category=${o.category}`);
  const out = new Map<number, Record<string, number>>();
  for (const [b, verdict, n] of rows(await must(ctl, args))) {
    const t = num(b) * 1000;
    const m = out.get(t) ?? {};
    m[verdict] = (m[verdict] ?? 0) + num(n);
    out.set(t, m);
  }
  return out;
}

export interface Count {
  key: string;
  count: number;
}

/** `history top names|clients|categories` from SINCE (ms); names decoded. */
export async function top(ctl: Ctl, what: 'names' | 'clients' | 'categories', since: number, verdict?: string, limit = 10): Promise<Count[]> {
  const args = ['history', 'top', what, `--since=${Math.floor(since / 1000)}`, `--limit=${limit}`];
  if (verdict) args.push(`--verdict=${verdict}`);
  return rows(await must(ctl, args)).map((r) => ({ key: what === 'names' ? decodeName(r[0] ?? '') : (r[0] ?? ''), count: num(r[1]) }));
}

export interface SeenClient {
  client: string;
  group: string;
  events: number;
  blocked: number;
  /** ms since the epoch, the last minute with an event */
  last: number;
}

/** `history clients`: each client seen since SINCE (ms), the most recent first. */
export async function clients(ctl: Ctl, since: number, limit = 500): Promise<SeenClient[]> {
  return rows(await must(ctl, ['history', 'clients', `--since=${Math.floor(since / 1000)}`, `--limit=${limit}`])).map((r) => ({
    client: r[0] ?? '',
    group: r[1] ?? '',
    events: num(r[2]),
    blocked: num(r[3]),
    last: num(r[4]) * 1000,
  }));
}

/**
 * A name filter as typed to the bytes it stands for: what the page shows
 * (\u202E, \u{1F600}, \xFF, \\) or the characters themselves. Undefined when
 * the daemon's command line cannot carry them (a blank, a control character
 * or a byte that is not UTF-8): the caller says so.
 */
export function filterBytes(q: string): string | undefined {
  const bytes: number[] = [];
  const push = (s: string) => bytes.push(...Buffer.from(s, 'utf8'));
  for (let i = 0; i < q.length; ) {
    const rest = q.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^\\x([0-9a-fA-F]{2})/.exec(rest))) bytes.push(Number.parseInt(m[1], 16));
    else if ((m = /^\\u\{([0-9a-fA-F]{1,6})\}/.exec(rest)) || (m = /^\\u([0-9a-fA-F]{4})/.exec(rest))) {
      const cp = Number.parseInt(m[1], 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
      push(String.fromCodePoint(cp));
    } else if ((m = /^\\\\/.exec(rest))) bytes.push(0x5c);
    else {
      const ch = String.fromCodePoint(rest.codePointAt(0)!);
      push(ch);
      i += ch.length;
      continue;
    }
    i += m[0].length;
  }
  const buf = Buffer.from(bytes);
  const text = buf.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(buf)) return undefined; // not UTF-8
  if (/[\s\p{Cc}]/u.test(text)) return undefined;
  return text;
}
