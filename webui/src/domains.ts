// Domain and input rules, the same as the xdp-sni CLI (normalise_domain and
// parse_list_file in bpf/cli/domains.c): at most 253 bytes after removing a
// leading "*." and a trailing dot, labels of 1..63 bytes of letters, digits,
// '-' (not first or last) and '_', ASCII only (IDNs as punycode), lowercased,
// and not a dotted-quad IPv4 address.
import { isIPv4, isIPv6 } from 'node:net';

export const NAME_MAX = 253;

export interface Normalised {
  name: string;
  subdomains: boolean;
}

export class InputError extends Error {}
/** A dotted-quad IPv4 address: refused as a name, but one listed before may be removed. */
export class DottedQuadError extends InputError {
  constructor(readonly normalised: Normalised) {
    super('an IPv4 address (dotted quad) is not a server name: a ClientHello never carries an address as its name (RFC 6066), so it would never match');
  }
}

/** Validate and normalise one name; throws InputError with the CLI's reason. */
export function normaliseDomain(input: string, subdomains = false): Normalised {
  let s = input;
  if (s.length > NAME_MAX + 3) throw new InputError(`name longer than ${NAME_MAX} bytes`);
  if (s.startsWith('*.')) {
    s = s.slice(2);
    subdomains = true;
  }
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s.length === 0) throw new InputError('empty domain name');
  if (Buffer.byteLength(s, 'utf8') > NAME_MAX) throw new InputError(`name is ${Buffer.byteLength(s, 'utf8')} bytes long, the limit is ${NAME_MAX}`);
  let lab = 0;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) throw new InputError(`non-ASCII character at byte ${i + 1}: give internationalised names as punycode (xn--...)`);
    const ch = s[i];
    if (ch === '.') {
      if (lab === 0) throw new InputError(`empty label at byte ${i + 1}`);
      if (out.endsWith('-')) throw new InputError(`label ends with '-' at byte ${i}`);
      lab = 0;
      out += '.';
      continue;
    }
    if (!/[A-Za-z0-9_-]/.test(ch)) {
      const shown = c >= 0x20 && c < 0x7f ? ch : '?';
      throw new InputError(`invalid character '${shown}' at byte ${i + 1} (allowed: letters, digits, '-', '_', '.')`);
    }
    if (ch === '-' && lab === 0) throw new InputError(`label starts with '-' at byte ${i + 1}`);
    if (++lab > 63) throw new InputError(`label longer than 63 bytes at byte ${i + 1}`);
    out += ch.toLowerCase();
  }
  if (out.endsWith('-')) throw new InputError("label ends with '-'");
  if (/^\d+\.\d+\.\d+\.\d+$/.test(out)) throw new DottedQuadError({ name: out, subdomains });
  return { name: out, subdomains };
}

const HOSTS_SKIP = new Set([
  'localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback',
  'ip6-localnet', 'ip6-mcastprefix', 'ip6-allnodes', 'ip6-allrouters', 'ip6-allhosts', '0.0.0.0',
]);

export interface ImportLine {
  line: number;
  text: string;
}
export interface ImportResult {
  /** Names to add, in order of first appearance; flags OR-ed like the CLI's list. */
  accepted: Normalised[];
  /** Lines that gave at least one name. */
  acceptedLines: number;
  rejected: (ImportLine & { reason: string })[];
  /** Comment/blank lines and hosts lines with only localhost-style names. */
  ignored: number;
}

/** Without a leading UTF-8 byte order mark (U+FEFF), which is not part of the first line. */
export function stripBom(text: string): string {
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/**
 * Parse a pasted or uploaded list: one name per line ("NAME", "NAME
 * subdomains", "*.NAME") or hosts-file lines ("ADDRESS NAME..."; localhost
 * names skipped). '#' starts a comment. Same rules as `xdp-sni import`.
 */
export function parseImport(text: string, subdomains = false): ImportResult {
  text = stripBom(text);
  const names = new Map<string, Normalised>();
  const rejected: ImportResult['rejected'] = [];
  let ignored = 0;
  let acceptedLines = 0;
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const body = raw.replace(/[#\r].*$/s, '');
    const toks = body.split(/[ \t]+/).filter(Boolean);
    if (toks.length === 0) {
      ignored++;
      return;
    }
    const hosts = isIPv4(toks[0]) || isIPv6(toks[0]);
    let lineSub = subdomains;
    let nameToks = toks;
    if (!hosts && toks.length === 2 && toks[1] === 'subdomains') {
      lineSub = true;
      nameToks = [toks[0]];
    }
    if (!hosts && nameToks.length > 1) {
      rejected.push({ line: lineNo, text: raw, reason: `unexpected text '${nameToks[1]}' after the name (expected 'NAME', 'NAME subdomains' or 'IP NAME...')` });
      return;
    }
    if (hosts) nameToks = toks.slice(1);
    const got: Normalised[] = [];
    const errors: string[] = [];
    for (const tok of nameToks) {
      if (hosts && HOSTS_SKIP.has(tok)) continue;
      try {
        got.push(normaliseDomain(tok, lineSub));
      } catch (e) {
        errors.push(`bad domain '${tok.length > 60 ? `${tok.slice(0, 60)}...` : tok}': ${(e as Error).message}`);
      }
    }
    // like the CLI: a bad name rejects its line, the good names of a hosts line still count
    if (errors.length) rejected.push({ line: lineNo, text: raw, reason: errors.join('; ') });
    if (got.length === 0) {
      if (!errors.length) ignored++;
      return;
    }
    acceptedLines++;
    for (const n of got) {
      const prev = names.get(n.name);
      names.set(n.name, { name: n.name, subdomains: (prev?.subdomains ?? false) || n.subdomains });
    }
  });
  return { accepted: [...names.values()], acceptedLines, rejected, ignored };
}

/** A port list as the CLI takes it: 1..65535, comma or space separated. Returns "443,8443". */
export function normalisePorts(input: string): string {
  const toks = input.split(/[ ,]+/).filter(Boolean);
  if (toks.length === 0) throw new InputError('give at least one port (to stop reading ClientHellos, use Disable)');
  if (toks.length > 32) throw new InputError('at most 32 ports');
  const ports = new Set<number>();
  for (const t of toks) {
    if (!/^[0-9]{1,5}$/.test(t) || Number(t) < 1 || Number(t) > 65535) throw new InputError(`bad port '${t.slice(0, 20)}' (1 to 65535)`);
    ports.add(Number(t));
  }
  return [...ports].sort((a, b) => a - b).join(',');
}

/** An IPv4 or IPv6 address or prefix; returns it with host bits cleared, e.g. "10.1.0.0/16". */
export function normalisePrefix(input: string): string {
  const s = input.trim();
  const m = /^([0-9A-Fa-f:.]+)(?:\/([0-9]{1,3}))?$/.exec(s);
  if (!m) throw new InputError(`bad prefix '${s.slice(0, 50)}' (e.g. 192.0.2.0/24, 2001:db8::/32)`);
  const [, addr, lenStr] = m;
  if (isIPv4(addr)) {
    const len = lenStr === undefined ? 32 : Number(lenStr);
    if (len > 32) throw new InputError(`bad prefix length /${lenStr} for IPv4`);
    const n = addr.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n);
    const mask = len === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - len)) - 1n);
    const v = n & mask;
    return `${[24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 255n)).join('.')}/${len}`;
  }
  if (isIPv6(addr) && !addr.includes('.')) {
    const len = lenStr === undefined ? 128 : Number(lenStr);
    if (len > 128) throw new InputError(`bad prefix length /${lenStr} for IPv6`);
    const [h, t] = addr.includes('::') ? addr.split('::') : [addr, undefined];
    const hp = h ? h.split(':') : [];
    const tp = t ? t.split(':') : [];
    const words = t === undefined ? hp : [...hp, ...Array(8 - hp.length - tp.length).fill('0'), ...tp];
    let n = 0n;
    for (const w of words) n = (n << 16n) | BigInt(parseInt(w, 16));
    const all = (1n << 128n) - 1n;
    const mask = len === 0 ? 0n : all ^ ((1n << BigInt(128 - len)) - 1n);
    const v = n & mask;
    const out: string[] = [];
    for (let i = 7; i >= 0; i--) out.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
    return `${compressV6(out)}/${len}`;
  }
  throw new InputError(`bad prefix '${s.slice(0, 50)}' (e.g. 192.0.2.0/24, 2001:db8::/32)`);
}

/** RFC 5952 text form, as inet_ntop prints it. */
function compressV6(words: string[]): string {
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}
