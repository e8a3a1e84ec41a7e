// bpf/cli/domains.c without root or libbpf: a small C driver
// (test/unit/c/domains_driver.c) compiled with gcc against it.
// Normalisation and its errors, the right-to-left FNV-1a hash (against the
// same hash computed here), list files in plain and hosts format, and the
// state file.
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
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
    join(repo, 'test', 'unit', 'c', 'domains_driver.c'), join(cli, 'domains.c'), join(cli, 'log.c')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = async (...args: string[]) => {
  const r = await execa(driver, args, { reject: false });
  return { code: r.exitCode, out: String(r.stdout).split('\n').filter(Boolean), err: String(r.stderr) };
};

/** FNV-1a 64 over the name from its last byte to its first, as xdp_sni.h defines it. */
function fnvRightToLeft(name: string): string {
  const b = Buffer.from(name, 'latin1');
  let h = 0xcbf29ce484222325n;
  for (let i = b.length - 1; i >= 0; i--) h = ((h ^ BigInt(b[i])) * 0x100000001b3n) & 0xffffffffffffffffn;
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

  it('hashes from right to left, as the program does', async () => {
    const names = ['example.com', 'www.example.com', 'a', 'xn--bcher-kva.example', 'com'];
    const r = await run('hash', ...names);
    expect(r.out).toEqual(names.map(fnvRightToLeft));
    // the known FNV-1a offset basis and one step, so the TS copy is checked too
    expect(fnvRightToLeft('')).toBe('cbf29ce484222325');
    expect(fnvRightToLeft('a')).toBe('af63dc4c8601ec8c');
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
});
