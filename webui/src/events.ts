// SNI events from syslog: lines of ident xdp-sni written by the daemon,
//   <timestamp> [host] xdp-sni[PID]: sni=NAME verdict=V src=A:P dst=A:P segments=N ech=N rst=N group=G cats=C
// (group and cats since policies came; older lines have neither)
// with an RFC 3339 timestamp (rsyslog's file format) or a traditional
// "Mmm dd HH:MM:SS" one. Only the tail of each file is read, so the cost is
// bounded whatever the log's size.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { decodeBytes, matchesShown } from './visible.js';

export interface SniEvent {
  t: number; // ms since the epoch
  /** as the client sent it: UTF-8 decoded, other bytes kept as U+DC80+byte (see visible.ts) */
  sni: string;
  verdict: string;
  client: string;
  server: string;
  rst: boolean;
  ech: boolean;
  /** the client's group and the name's categories (comma-separated, "-": none) */
  group?: string;
  cats?: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LINE = /^(\S+(?:\s+\d{1,2}\s+\d\d:\d\d:\d\d)?)\s+(?:\S+\s+)?xdp-sni\[(\d+)\]:\s?(.*)$/;
const EVENT = /^sni=(.*) verdict=([\w-]+) src=(\S+) dst=(\S+) segments=\d+ ech=(\d) rst=(\d)(?: group=(\S+) cats=(\S+))?$/;

export function parseTime(ts: string, now: number): number | undefined {
  if (/^\d{4}-\d\d-\d\dT/.test(ts)) {
    const t = Date.parse(ts);
    return Number.isNaN(t) ? undefined : t;
  }
  const m = /^(\w{3})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)$/.exec(ts);
  if (!m) return undefined;
  const mon = MONTHS.indexOf(m[1]);
  if (mon < 0) return undefined;
  const year = new Date(now).getFullYear();
  let t = new Date(year, mon, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])).getTime();
  if (t > now + 86_400_000) t = new Date(year - 1, mon, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])).getTime();
  return t;
}

export interface ParsedLog {
  events: SniEvent[];
  /** Time of the last "daemon started" line, if the tail has one. */
  daemonStarted?: number;
}

/** TEXT is the log's bytes, one char per byte (as readTail returns it): a
 * client-sent name is decoded on its own, byte-exact (decodeBytes). */
export function parseLog(text: string, now: number): ParsedLog {
  const events: SniEvent[] = [];
  let daemonStarted: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.includes('xdp-sni[')) continue;
    // traditional timestamps have spaces: join the first three fields
    const m = LINE.exec(line);
    if (!m) continue;
    const t = parseTime(m[1].replace(/\s+/g, ' '), now);
    if (t === undefined) continue;
    const msg = m[3];
    if (msg === 'daemon started') {
      daemonStarted = t;
      continue;
    }
    const e = EVENT.exec(msg);
    if (!e) continue;
    events.push({ t, sni: decodeBytes(e[1]), verdict: e[2], client: hostOf(e[3]), server: e[4], ech: e[5] === '1', rst: e[6] === '1', ...(e[7] ? { group: e[7], cats: e[8] } : {}) });
  }
  return { events, daemonStarted };
}

/** "10.0.0.5:51234" -> "10.0.0.5", "[fd00::5]:51234" -> "fd00::5" */
export function hostOf(addrPort: string): string {
  const v6 = /^\[(.*)\]:\d+$/.exec(addrPort);
  if (v6) return v6[1];
  return addrPort.replace(/:\d+$/, '');
}

/** The last maxBytes of a file (from a line start), one char per byte ('latin1'), or '' if it cannot be read. */
export function readTail(path: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, start + off);
      if (n <= 0) break;
      off += n;
    }
    let text = buf.subarray(0, off).toString('latin1');
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    return text;
  } finally {
    closeSync(fd);
  }
}

export function readEvents(files: string[], maxBytes: number, now: number): ParsedLog {
  const all: SniEvent[] = [];
  let daemonStarted: number | undefined;
  for (const f of files) {
    const p = parseLog(readTail(f, maxBytes), now);
    all.push(...p.events);
    if (p.daemonStarted !== undefined && (daemonStarted === undefined || p.daemonStarted > daemonStarted)) daemonStarted = p.daemonStarted;
  }
  all.sort((a, b) => a.t - b.t);
  return { events: all, daemonStarted };
}

export interface Filter {
  name?: string;
  client?: string;
  verdict?: string;
}

export const VERDICTS = ['block', 'monitor', 'exempt', 'pass', 'unreadable-block', 'unreadable-pass'];

export function filterEvents(ev: SniEvent[], f: Filter): SniEvent[] {
  return ev.filter(
    (e) => (!f.name || matchesShown(e.sni, f.name)) && (!f.client || e.client.startsWith(f.client)) && (!f.verdict || e.verdict === f.verdict),
  );
}

export interface Minute {
  t: number;
  allowed: number;
  blocked: number;
}

/** Connections per minute for the 60 minutes up to now: blocked vs allowed (every other verdict). */
export function perMinute(ev: SniEvent[], now: number, minutes = 60): Minute[] {
  const end = Math.floor(now / 60_000) * 60_000;
  const start = end - (minutes - 1) * 60_000;
  const out: Minute[] = [];
  for (let i = 0; i < minutes; i++) out.push({ t: start + i * 60_000, allowed: 0, blocked: 0 });
  for (const e of ev) {
    if (e.t < start || e.t >= end + 60_000) continue;
    const m = out[Math.floor((e.t - start) / 60_000)];
    if (e.verdict === 'block' || e.verdict === 'unreadable-block') m.blocked++;
    else m.allowed++;
  }
  return out;
}

export function top(ev: SniEvent[], key: (e: SniEvent) => string, n = 10): { key: string; count: number }[] {
  const m = new Map<string, number>();
  for (const e of ev) m.set(key(e), (m.get(key(e)) ?? 0) + 1);
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([key, count]) => ({ key, count }));
}
