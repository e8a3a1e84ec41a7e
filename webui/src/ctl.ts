// The xdp-sni daemon's control socket: one command line per connection,
// optionally followed by a body on the same connection (an import's names,
// a policy document; the command reads it up to a line "."); the answer ends
// with "rc=N". Nothing else talks to the data plane.
import { createConnection } from 'node:net';

export interface CtlReply {
  rc: number;
  out: string;
}
/** BODY (when given) is sent after the command line; it must end with the line the command waits for ("."). */
export type Ctl = (args: string[], body?: Buffer) => Promise<CtlReply>;

/**
 * A token is one word: the daemon splits its line on blanks (no shell is
 * involved), so any printable character but whitespace and control
 * characters is fine (URLs with ?&=%, names with non-ASCII letters). At most
 * 31 words and 1023 bytes with the newline (the daemon's line buffer).
 */
const TOKEN = /^[^\s\p{Cc}\ud800-\udfff]+$/u;
export const MAX_WORDS = 31;
export const MAX_LINE = 1023;

/** Why ARGS cannot be sent as one command line, if they cannot. */
export function badCommand(args: string[]): string | undefined {
  for (const a of args) if (!TOKEN.test(a)) return `refusing to send a bad token to the daemon: ${JSON.stringify(a.slice(0, 40))}`;
  if (args.length > MAX_WORDS || Buffer.byteLength(`${args.join(' ')}\n`) > MAX_LINE) return 'command line too long for the control socket';
  return undefined;
}

export class DaemonError extends Error {}
/**
 * The daemon gave no answer at all: no socket, refused, silent, or the
 * connection closed before "rc=N". Its exit leaves the program attached and
 * the maps pinned, so the data plane may still enforce the last settings.
 */
export class DaemonDown extends DaemonError {}
/** The daemon answers, but nothing is pinned: no data plane is loaded. */
export class NotLoaded extends DaemonError {}

/**
 * TIMEOUTMS bounds a command without a body; one with a body (an import of a
 * million names) gets BODYTIMEOUTMS: the daemon serves one connection at a time.
 */
export function socketCtl(path: string, timeoutMs = 15_000, bodyTimeoutMs = 300_000): Ctl {
  return (args, body) =>
    new Promise((resolve, reject) => {
      const bad = badCommand(args);
      if (bad) return reject(new DaemonError(bad));
      const line = `${args.join(' ')}\n`;
      const chunks: Buffer[] = [];
      const c = createConnection(path, () => (body ? c.end(Buffer.concat([Buffer.from(line), body])) : c.end(line)));
      if (body) timeoutMs = bodyTimeoutMs;
      const timer = setTimeout(() => {
        c.destroy();
        reject(new DaemonDown(`the xdp-sni daemon is not answering (no answer to '${args[0]}' within ${timeoutMs / 1000} s)`));
      }, timeoutMs);
      c.on('data', (b: Buffer) => chunks.push(b));
      c.on('close', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        const m = /(?:^|\n)rc=(-?\d+)\n?$/.exec(text);
        if (!m) return reject(new DaemonDown(`the xdp-sni daemon is not answering (it closed the connection without an answer to '${args[0]}')`));
        resolve({ rc: Number(m[1]), out: text.slice(0, m.index + (m[0].startsWith('\n') ? 1 : 0)) });
      });
      c.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new DaemonDown(`the xdp-sni daemon is not answering (${path}: ${e.code ?? e.message})`));
      });
    });
}

/** Run a command and fail on a non-zero rc. */
export async function must(ctl: Ctl, args: string[], body?: Buffer): Promise<string> {
  const r = await ctl(args, body);
  if (r.rc !== 0) {
    // the daemon sends a command's error messages on the connection too
    const why = r.out.split('\n').map((l) => l.trim()).filter(Boolean).slice(-3).join('; ').slice(0, 600);
    throw new DaemonError(`the daemon refused '${args.slice(0, 3).join(' ')}${args.length > 3 ? ' ...' : ''}' (rc=${r.rc}${why ? `: ${why}` : ''})`);
  }
  return r.out;
}

export interface Status {
  loaded: boolean;
  mode: 'block' | 'monitor' | '?';
  rst: boolean;
  /** block mode: what a ClientHello with no readable name gets */
  unreadable: 'block' | 'pass';
  ports: string;
  /** events for every name read (all) or only listed ones */
  log?: 'all' | 'listed';
  /** ms since the epoch the daemon started (over its socket only) */
  since?: number;
  domains: number;
  attached: { dev: string; mode: string }[];
  counters: Record<string, number>;
}

export function parseCounters(text: string): Record<string, number> {
  const c: Record<string, number> = {};
  for (const l of text.split('\n')) {
    const m = /^([a-z_]+)\s+(\d+)$/.exec(l.trim());
    if (m) c[m[1]] = Number(m[2]);
  }
  return c;
}

export function parseStatus(rc: number, text: string): Status {
  const st: Status = { loaded: rc === 0, mode: '?', rst: false, unreadable: 'block', ports: 'none', domains: 0, attached: [], counters: {} };
  if (rc !== 0) return st;
  for (const l of text.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(l.trim());
    if (!m) continue;
    const [, k, v] = m;
    if (k === 'mode') st.mode = v === 'block' ? 'block' : v === 'monitor' ? 'monitor' : '?';
    else if (k === 'rst') st.rst = v === 'on';
    else if (k === 'unreadable') st.unreadable = v === 'pass' ? 'pass' : 'block';
    else if (k === 'ports') st.ports = v;
    else if (k === 'log') st.log = v === 'all' ? 'all' : v === 'listed' ? 'listed' : undefined;
    else if (k === 'daemon' && /^since\s+\d+$/.test(v)) st.since = Number(v.replace(/^since\s+/, '')) * 1000;
    else if (k === 'domains') st.domains = Number(v);
    else if (k === 'attached' && v !== 'none') {
      const a = /^(\S+) \((\w+)\)$/.exec(v);
      if (a) st.attached.push({ dev: a[1], mode: a[2] });
    }
  }
  st.counters = parseCounters(text);
  delete st.counters.domains;
  delete st.counters.ports;
  return st;
}

export interface Entry {
  name: string;
  flags: string;
  subdomains: boolean;
}

/** `list`: NAME<TAB>FLAGS[<TAB>(not in the kernel map)] */
export function parseList(text: string): Entry[] {
  const out: Entry[] = [];
  for (const l of text.split('\n')) {
    if (!l) continue;
    const [name, flags = 'exact', note] = l.split('\t');
    out.push({ name, flags: note ? `${flags} ${note}` : flags, subdomains: flags.includes('subdomains') });
  }
  return out;
}

/** the largest --offset and --limit `list` takes (the tool's LIST_MAX) */
export const LIST_MAX = 1_048_576;

/** `list --offset N --limit M --match TEXT`: the counts, and the page in name order */
export interface ListPage {
  /** names in the category */
  total: number;
  /** ... that contain the match (total without one) */
  matching: number;
  entries: Entry[];
}

/** "# total N matching M", then the page's lines as parseList reads them */
export function parseListPage(text: string): ListPage {
  const nl = text.indexOf('\n');
  const m = /^# total (\d+) matching (\d+)$/.exec(nl < 0 ? text : text.slice(0, nl));
  if (!m) throw new Error("list: unexpected answer (no first line '# total N matching M')");
  return { total: Number(m[1]), matching: Number(m[2]), entries: parseList(nl < 0 ? '' : text.slice(nl + 1)) };
}

export function parseExempt(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f:.]+\/\d+$/i.test(l));
}
