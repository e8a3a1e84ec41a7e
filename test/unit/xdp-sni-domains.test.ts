// bpf/cli/domains.c without root or libbpf: a small C driver
// (test/unit/c/domains_driver.c) compiled with gcc against it.
// Normalisation and its errors, the right-to-left FNV-1a hash (against the
// same hash computed here), list files in plain and hosts format, the state
// file, and a page of a category's names (name_page.c, with the driver).
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'bpf', 'cli');
let dir: string;
let driver: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xsni-domains-'));
  driver = join(dir, 'domains-driver');
  await execa('gcc', ['-O1', '-g', '-Wall', '-Wextra', '-Werror', '-Wno-format-truncation',
    '-I', join(repo, 'bpf'), '-I', cli, '-o', driver,
    join(repo, 'test', 'unit', 'c', 'domains_driver.c'), join(cli, 'domains.c'), join(cli, 'name_page.c'), join(cli, 'log.c')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = async (...args: string[]) => {
  const r = await execa(driver, args, { reject: false });
  return { code: r.exitCode, out: String(r.stdout).split('\n').filter(Boolean), err: String(r.stderr) };
};

/** The name key as xdp_sni.h defines it: 8-byte little-endian words from the
 * name's end (a first part of r < 8 bytes in the top r bytes of a last word),
 * then the length and a mix. Written from the comment, not from the C. */
function nameKey(name: string): string {
  const M = 0xffffffffffffffffn;
  const b = Buffer.from(name, 'latin1');
  let h = 0xcbf29ce484222325n;
  const word = (w: bigint) => { h = ((h ^ w) * 0x9e3779b97f4a7c15n) & M; };
  let i = b.length;
  for (; i >= 8; i -= 8) word(b.readBigUInt64LE(i - 8));
  if (i > 0) {
    let w = 0n;
    for (let j = 0; j < i; j++) w |= BigInt(b[j]) << BigInt(8 * (8 - i + j));
    word(w);
  }
  h ^= BigInt(b.length);
  h ^= h >> 33n; h = (h * 0xff51afd7ed558ccdn) & M;
  h ^= h >> 33n; h = (h * 0xc4ceb9fe1a85ec53n) & M;
  h ^= h >> 33n;
  return h.toString(16).padStart(16, '0');
}

describe('domains.c', () => {
  it('normalises: lower case, trailing dot, "*." as subdomains', async () => {
    const r = await run('norm', 'WWW.Example.COM.', '*.Example.org', 'xn--bcher-kva.example', '_dmarc.x1.example', 'a');
    expect(r.out).toEqual([
      'ok www.example.com sub=0',
      'ok example.org sub=1',
      'ok xn--bcher-kva.example sub=0',
      'ok _dmarc.x1.example sub=0',
      'ok a sub=0',
    ]);
  });

  it('refuses bad names with the message the tool prints', async () => {
    const cases: [string, RegExp][] = [
      ['', /^err empty domain name$/],
      ['.', /^err empty domain name$/],
      ['*.', /^err empty domain name$/],
      ['bücher.example', /^err non-ASCII character at byte 2: .*punycode/],
      ['has space.example', /^err invalid character ' ' at byte 4/],
      ['semi;colon.example', /^err invalid character ';' at byte 5/],
      ['a..b', /^err empty label at byte 3$/],
      ['-lead.example', /^err label starts with '-' at byte 1$/],
      ['trail-.example', /^err label ends with '-' at byte 6$/],
      ['example-', /^err label ends with '-'$/],
      [`${'a'.repeat(64)}.example`, /^err label longer than 63 bytes at byte 64$/],
      // an empty punycode label ends with '-': that check comes first
      ['xn--.example', /^err label ends with '-' at byte 4$/],
    ];
    const r = await run('norm', ...cases.map(([n]) => n));
    cases.forEach(([n, re], i) => expect(r.out[i], n).toMatch(re));
  });

  it('refuses a dotted-quad IPv4 address as a name, with the reason; a name with numeric labels stays', async () => {
    const r = await run('norm', '1.2.3.4', '*.10.0.0.1', '192.168.001.001.', '999.1.1.1', '1.2.3.4.example', '1.2.3', 'x1.2.3.4');
    for (const i of [0, 1, 2, 3]) expect(r.out[i]).toMatch(/^err an IPv4 address \(dotted quad\) is not a server name: .*RFC 6066/);
    expect(r.out.slice(4)).toEqual(['ok 1.2.3.4.example sub=0', 'ok 1.2.3 sub=0', 'ok x1.2.3.4 sub=0']);
    const f = join(dir, 'ips.txt');
    writeFileSync(f, '0.0.0.0 10.1.2.3 ok.example\n10.9.8.7\n');
    const p = await run('parse', f);
    expect(p.out).toEqual(['ok.example\texact', 'bad 1']);
    expect(p.err).toContain(`${f}:1: bad domain '10.1.2.3': an IPv4 address`);
  });

  it('takes 253 bytes and not 254; refuses a long argument before reading it', async () => {
    const n253 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    expect(n253.length).toBe(253);
    const r = await run('norm', n253, `${n253}.`, `*.${n253}.`, `${n253}d`, 'x'.repeat(300));
    expect(r.out).toEqual([
      `ok ${n253} sub=0`,
      `ok ${n253} sub=0`,
      `ok ${n253} sub=1`,
      'err name is 254 bytes long, the limit is 253',
      'err name longer than 253 bytes',
    ]);
  });

  it('hashes a name in 8-byte words from its end, as the program does', async () => {
    const names = ['example.com', 'www.example.com', 'a', 'xn--bcher-kva.example', 'com', 'abcdefgh', 'abcdefghi', 'x'.repeat(253)];
    const r = await run('hash', ...names);
    expect(r.out).toEqual(names.map(nameKey));
    // known answers from a third, separate implementation (Python), so the
    // TS copy is checked too
    expect(nameKey('')).toBe('efd01f60ba992926');
    expect(nameKey('a')).toBe('81ef57763d229ee8');
    expect(nameKey('www.example.com')).toBe('86ea0a6df989557c');
  });

  it('parses plain and hosts-format list files, reporting bad lines as FILE:LINE', async () => {
    const f = join(dir, 'hosts.txt');
    writeFileSync(f, [
      '# a hosts file',
      '127.0.0.1 localhost',
      '0.0.0.0 ads.example.net Tracker.Example.net # two names',
      '',
      'plain.example',
      'sub.example subdomains',
      '::1 ip6-localhost',
      'bad..name',
      '0.0.0.0 ok.example b@d.example',
      '*.star.example',
      'two words.example here',
      'plain.example subdomains\r',
    ].join('\n'));
    const r = await run('parse', f);
    expect(r.code).toBe(0);
    expect(r.out).toEqual([
      'ads.example.net\texact',
      'tracker.example.net\texact',
      'plain.example\texact,subdomains',
      'sub.example\tsubdomains',
      'ok.example\texact',
      'star.example\tsubdomains',
      'bad 3',
    ]);
    expect(r.err).toContain(`${f}:8: bad domain 'bad..name': empty label at byte 5`);
    expect(r.err).toContain(`${f}:9: bad domain 'b@d.example': invalid character '@'`);
    expect(r.err).toContain(`${f}:11: unexpected text 'words.example' after the name`);
    expect(r.err.split('\n').filter(Boolean)).toHaveLength(3);
    const sub = await run('parse', f, 'sub');
    expect(sub.out[0]).toBe('ads.example.net\tsubdomains');
    expect((await run('parse', join(dir, 'missing.txt'))).err).toMatch(/^xdp-sni: cannot open .*missing\.txt: No such file/);
  });

  it('a UTF-8 byte order mark before the first line is not part of it (only there)', async () => {
    const f = join(dir, 'bom.txt');
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    writeFileSync(f, Buffer.concat([bom, Buffer.from('first.example\nsecond.example\n')]));
    expect((await run('parse', f)).out).toEqual(['first.example\texact', 'second.example\texact', 'bad 0']);
    writeFileSync(f, Buffer.concat([bom, Buffer.from('0.0.0.0 hosts.example\n')]));
    expect((await run('parse', f)).out).toEqual(['hosts.example\texact', 'bad 0']);
    writeFileSync(f, Buffer.concat([Buffer.from('first.example\n'), bom, Buffer.from('second.example\n')]));
    const mid = await run('parse', f);
    expect(mid.out).toEqual(['first.example\texact', 'bad 1']);
    expect(mid.err).toContain(`${f}:2: bad domain`);
  });

  it('keeps the state file: flags merge, order stays; the categories in hex (bit 0 exact, bit 32 subdomains: blocklist)', async () => {
    const state = join(dir, 'state');
    expect((await run('state', state, 'b.example', 'a.example:sub')).out).toEqual(['b.example\texact', 'a.example\tsubdomains']);
    expect((await run('state', state, 'a.example', 'c.example')).out).toEqual([
      'b.example\texact', 'a.example\texact,subdomains', 'c.example\texact',
    ]);
    expect(readFileSync(join(state, 'domains.list'), 'utf8')).toBe('b.example\texact\t1\na.example\texact,subdomains\t100000001\nc.example\texact\t1\n');
  });

  it('reads the state file as it is: every line format, entries in no category and over-long names passed over, a last line without its newline', async () => {
    const state = join(dir, 'state-raw');
    mkdirSync(state, { recursive: true });
    expect((await run('entries', state)).out).toEqual(['end']); // no file: empty
    const long = `${'x'.repeat(250)}.example`;
    writeFileSync(join(state, 'domains.list'), [
      'new.example\texact\t100000008', // as saved: exact in category 3, with subdomains in 0
      'old.example\tsubdomains', // from before categories: category 0
      'older.example\texact,subdomains',
      'bare.example',
      'none.example\texact\t0', // in no category
      `${long}\texact\t1`,
      '',
      'last.example\texact\t4',
    ].join('\n'));
    expect((await run('entries', state)).out).toEqual([
      'new.example\t100000008', 'old.example\t100000000', 'older.example\t100000001', 'bare.example\t1', 'last.example\t4', 'end',
    ]);
    writeFileSync(join(state, 'domains.list'), '');
    expect((await run('entries', state)).out).toEqual(['end']);
  });

  describe('a page of a category in name order (name_page.c)', () => {
    /** byte order, as the tool sorts */
    const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    let state: string;
    let names: { name: string; cats: bigint }[];
    /** what `page` should print: the category's names holding MATCH in byte order, [offset, offset + limit) */
    const expected = (cat: number, offset: number, limit: number, match = '') => {
      const bit = (1n << BigInt(cat)) | (1n << BigInt(cat + 32));
      const inCat = names.filter((n) => n.cats & bit);
      const found = inCat.filter((n) => n.name.includes(match.toLowerCase())).sort((a, b) => byteOrder(a.name, b.name));
      return [`# total ${inCat.length} matching ${found.length}`, ...found.slice(offset, offset + limit).map((n) => `${n.name}\t${n.cats.toString(16)}`)];
    };
    beforeAll(() => {
      state = join(dir, 'state-page');
      mkdirSync(state, { recursive: true });
      // names that start one another (a, a.b, ab, a-b, a_b ...), digits, and a shuffled order
      let seed = 7; // xorshift32: the same names every run
      const rnd = () => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return (seed >>> 0) / 2 ** 32;
      };
      const alphabet = 'ab-_.09z';
      const set = new Set<string>(['a', 'a.b', 'ab', 'a-b', 'a_b', 'b', 'z.example', '0.example']);
      while (set.size < 30_000) {
        let n = '';
        const len = 1 + Math.floor(rnd() * 14);
        for (let i = 0; i < len; i++) n += alphabet[Math.floor(rnd() * alphabet.length)];
        set.add(n);
      }
      // category 0 exact, 3 with subdomains, or both
      names = [...set].map((name, i) => ({ name, cats: [0x1n, 0x800000000n, 0x800000001n][i % 3] }));
      for (let i = names.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [names[i], names[j]] = [names[j], names[i]];
      }
      writeFileSync(join(state, 'domains.list'), names.map((n) => `${n.name}\texact\t${n.cats.toString(16)}\n`).join(''));
    });

    it('orders only the page, the same as a sort of them all: first, middle, last, past the end, all of it', async () => {
      // 20,000 names in category 0: pages within the first 10,000 come from the heap, the others from all of them
      for (const [cat, offset, limit] of [
        [0, 0, 100], [0, 17, 3], [0, 1999, 100], [0, 9950, 50], [0, 9950, 51], [0, 10000, 100], [0, 12345, 100], [0, 19900, 200], [0, 19999, 1],
        [0, 20000, 10], [0, 999999, 5], [0, 0, 1048576], [0, 5, 1048576], [3, 0, 100], [3, 15000, 100], [5, 0, 10],
      ]) {
        const r = await run('page', state, String(cat), String(offset), String(limit));
        expect(r.code).toBe(0);
        expect(r.out, `${cat} ${offset} ${limit}`).toEqual(expected(cat, offset, limit));
      }
    });

    it('keeps the names that contain the match, in any case, and counts them', async () => {
      for (const [match, offset, limit] of [['A.B', 0, 50], ['_', 10, 20], ['Z.EXAMPLE', 0, 5], ['no-such', 0, 5], ['a', 100, 100]] as [string, number, number][]) {
        const r = await run('page', state, '0', String(offset), String(limit), match);
        expect(r.out, match).toEqual(expected(0, offset, limit, match));
      }
      expect((await run('page', state, '0', '0', '5', 'z.example')).out).toEqual(['# total 20000 matching 1', 'z.example\t1']);
    });

    it('pages a list saved in order, or in reverse order, as any other (the pivot is random)', async () => {
      const sorted = join(dir, 'state-sorted');
      mkdirSync(sorted, { recursive: true });
      const all = Array.from({ length: 200_000 }, (_, i) => `n${String(i).padStart(7, '0')}.example`);
      for (const [label, list] of [['ascending', all], ['descending', [...all].reverse()]] as const) {
        writeFileSync(join(sorted, 'domains.list'), list.map((n) => `${n}\texact\t1\n`).join(''));
        const t0 = performance.now();
        const first = await run('page', sorted, '0', '0', '3');
        expect(first.out, label).toEqual(['# total 200000 matching 200000', 'n0000000.example\t1', 'n0000001.example\t1', 'n0000002.example\t1']);
        const mid = await run('page', sorted, '0', '100000', '3');
        expect(mid.out, label).toEqual(['# total 200000 matching 200000', 'n0100000.example\t1', 'n0100001.example\t1', 'n0100002.example\t1']);
        expect(performance.now() - t0, label).toBeLessThan(5000);
      }
    });
  });
});
