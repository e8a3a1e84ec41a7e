// Policies in the data plane: categories, client groups (the longest
// prefix wins, a MAC address wins over any prefix), allow-list mode and
// weekly schedule windows. Everything is set up with the tool's own
// commands on pinned maps (a private bpffs), and judged by the real program:
// replay reuses the pinned list and policy. Bad input must change nothing;
// concurrent changes must all land.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildBpf, mountBpffs, toolEnv, runTool, replay, writePcap, tcpFrame, clientHello, rmrf, tempDir } from './lib.js';

type Bpffs = Awaited<ReturnType<typeof mountBpffs>>;
let b: Bpffs;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  await buildBpf();
  b = await mountBpffs();
  // the box's local time is what windows mean; any zone will do for the
  // tests, as long as it is not UTC, so that a UTC slip would show
  env = { ...toolEnv(b), TZ: 'America/New_York' };
  dir = tempDir('xsni-policy-');
});
afterAll(async () => {
  await b?.cleanup();
  if (dir) rmrf(dir);
});

async function ok(...args: string[]): Promise<string> {
  const r = await runTool(args, env);
  expect(r.code, `xdp-sni ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

interface Probe {
  src: string;
  name: string;
  mac?: string;
  v6?: boolean;
}

let sport = 31000;
/** Each probe as a one-packet ClientHello; its verdict and event. */
async function judge(probes: Probe[]) {
  const frames = probes.map((p) => tcpFrame({ src: p.src, dst: p.v6 ? 'fd00::2' : '10.9.0.2', v6: p.v6, srcMac: p.mac, sport: sport++, seq: 1, payload: clientHello(p.name) }));
  const f = join(dir, `p${sport}.pcap`);
  writePcap(f, frames);
  const r = await replay(f, { env });
  expect(r.packets.length).toBe(probes.length);
  return r.packets.map((p, i) => ({ ...probes[i], verdict: p.verdict, event: p.event }));
}

const verdicts = async (probes: Probe[]) => (await judge(probes)).map((p) => `${p.src} ${p.name} ${p.verdict}`);

describe('policy in the data plane (pinned maps, replay)', () => {
  it('starts as before: one list, "blocklist", blocked for everyone', async () => {
    await ok('init');
    expect(await ok('category', 'list')).toBe('blocklist\t0');
    expect(await ok('group', 'list')).toBe('default\tmode=blocklist\tblock=blocklist\tallow=-\tclients=0');
    await ok('add', 'plain.test');
    expect(await verdicts([{ src: '10.9.0.1', name: 'plain.test' }, { src: '10.9.0.1', name: 'other.test' }])).toEqual([
      '10.9.0.1 plain.test DROP',
      '10.9.0.1 other.test PASS',
    ]);
  });

  it('categories: a name in several, subdomains per category; a group blocks only its own categories', async () => {
    await ok('category', 'add', 'social');
    await ok('category', 'add', 'ads');
    await ok('add', '--category', 'social', '--subdomains', 'face.test');
    await ok('add', '--category', 'ads', 'ads.face.test'); // exact, in a second category
    await ok('add', '--category', 'ads', 'tracker.test');
    await ok('group', 'add', 'kids');
    await ok('group', 'block', 'kids', 'blocklist,social');
    await ok('client', 'add', 'kids', '10.9.1.0/24');
    expect(await ok('list', '--category', 'social')).toBe('face.test\tsubdomains');
    expect(await ok('list', '--category', 'ads')).toBe('ads.face.test\texact\ntracker.test\texact');
    expect(await ok('list')).toBe('plain.test\texact');
    expect(await ok('category', 'list')).toBe('blocklist\t1\nsocial\t1\nads\t2');
    const r = await judge([
      { src: '10.9.1.5', name: 'face.test' },
      { src: '10.9.1.5', name: 'www.face.test' },
      { src: '10.9.1.5', name: 'ads.face.test' }, // ads (exact) and social (parent with subdomains)
      { src: '10.9.1.5', name: 'tracker.test' },
      { src: '10.9.0.1', name: 'face.test' }, // default group: social is not blocked
      { src: '10.9.0.1', name: 'tracker.test' },
      { src: '10.9.0.1', name: 'plain.test' },
    ]);
    expect(r.map((p) => p.verdict)).toEqual(['DROP', 'DROP', 'DROP', 'PASS', 'PASS', 'PASS', 'DROP']);
    // the event names the group and every category the name is in
    expect(r.map((p) => [p.event?.group, p.event?.cats])).toEqual([
      [1, 0b010],
      [1, 0b010],
      [1, 0b110],
      [1, 0b100],
      [0, 0b010],
      [0, 0b100],
      [0, 0b001],
    ]);
    expect(r[4].event?.verdict).toBe('pass');
  });

  it('groups: the longest prefix wins, a MAC address wins over any prefix, IPv6 prefixes, others are default', async () => {
    await ok('group', 'add', 'staff');
    await ok('group', 'block', 'staff', '-');
    await ok('client', 'add', 'staff', '10.9.1.77'); // inside kids' /24
    await ok('client', 'add', 'staff', '02:00:00:00:aa:01');
    await ok('client', 'add', 'kids', 'fd00:1::/64');
    await ok('client', 'add', 'staff', 'fd00:1::/48'); // shorter: kids' /64 wins inside it
    const r = await judge([
      { src: '10.9.1.5', name: 'face.test' }, // kids
      { src: '10.9.1.77', name: 'face.test' }, // staff (/32 over /24)
      { src: '10.9.1.77', name: 'plain.test' }, // staff blocks nothing
      { src: '10.9.2.1', name: 'plain.test', mac: '02:00:00:00:aa:01' }, // staff by MAC
      { src: '10.9.1.5', name: 'face.test', mac: '02:00:00:00:aa:01' }, // the MAC wins over kids' /24
      { src: 'fd00:1::9', name: 'face.test', v6: true }, // kids (/64 over /48)
      { src: 'fd00:1:0:1::9', name: 'face.test', v6: true }, // staff (/48 only)
      { src: 'fd00:9::1', name: 'plain.test', v6: true }, // default
    ]);
    expect(r.map((p) => `${p.verdict} ${p.event?.group}`)).toEqual(['DROP 1', 'PASS 2', 'PASS 2', 'PASS 2', 'PASS 2', 'DROP 1', 'PASS 2', 'DROP 0']);
    expect(await ok('client', 'list')).toBe('10.9.1.0/24\tkids\n10.9.1.77/32\tstaff\n02:00:00:00:aa:01\tstaff\nfd00:1::/64\tkids\nfd00:1::/48\tstaff');
    await ok('client', 'del', '02:00:00:00:aa:01');
    expect((await judge([{ src: '10.9.1.5', name: 'face.test', mac: '02:00:00:00:aa:01' }]))[0].verdict).toBe('DROP');
  });

  it('allow-list mode: only names in an allowed category pass; a blocked category still blocks', async () => {
    await ok('category', 'add', 'school');
    await ok('add', '--category', 'school', '--subdomains', 'learn.test');
    await ok('add', '--category', 'school', 'face.test'); // also social, which kids block
    await ok('group', 'allow', 'kids', 'school');
    await ok('group', 'mode', 'kids', 'allow-only');
    const r = await judge([
      { src: '10.9.1.5', name: 'learn.test' },
      { src: '10.9.1.5', name: 'maths.learn.test' },
      { src: '10.9.1.5', name: 'unlisted.test' },
      { src: '10.9.1.5', name: 'face.test' },
      { src: '10.9.0.1', name: 'unlisted.test' }, // default group: not allow-only
    ]);
    expect(r.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'DROP', 'DROP', 'PASS']);
    expect(r[2].event?.verdict).toBe('block');
    await ok('group', 'mode', 'kids', 'blocklist');
    expect((await judge([{ src: '10.9.1.5', name: 'unlisted.test' }]))[0].verdict).toBe('PASS');
  });

  it('schedule windows: days, minutes and over midnight, in local time, written by apply', async () => {
    // kids: ads blocked on school days 08:00-16:00; only school sites from 21:00 to 07:00
    await ok('schedule', 'add', 'kids', 'mon-fri', '08:00-16:00', 'block', 'ads');
    await ok('schedule', 'add', 'kids', 'daily', '21:00-07:00', 'allow-only', 'school');
    expect(await ok('schedule', 'list')).toMatch(/^1\tkids mon,tue,wed,thu,fri 08:00-16:00 block ads\t(open|closed)\n2\tkids daily 21:00-07:00 allow-only school\t(open|closed)$/);
    const probes: Probe[] = [
      { src: '10.9.1.5', name: 'tracker.test' },
      { src: '10.9.1.5', name: 'unlisted.test' },
      { src: '10.9.0.1', name: 'tracker.test' },
    ];
    const at = async (when: string) => {
      await ok('schedule', 'apply', '--at', when);
      return (await judge(probes)).map((p) => p.verdict).join(' ');
    };
    // 2026-11-30 is a Monday
    expect(await at('2026-11-30 07:59')).toBe('PASS PASS PASS');
    expect(await at('2026-11-30 08:00')).toBe('DROP PASS PASS');
    expect(await at('2026-11-30 15:59')).toBe('DROP PASS PASS');
    expect(await at('2026-11-30 16:00')).toBe('PASS PASS PASS');
    expect(await at('2026-11-29 10:00')).toBe('PASS PASS PASS'); // Sunday
    expect(await at('2026-11-29 21:00')).toBe('DROP DROP PASS'); // allow-only: neither is a school site
    expect(await at('2026-11-30 06:59')).toBe('DROP DROP PASS'); // Sunday's window, over midnight
    expect(await at('2026-11-30 07:00')).toBe('PASS PASS PASS');
    // one moment, two zones: 17:00 UTC is 12:00 in New York (window open)
    // and 17:00 in UTC (closed). Windows follow the box's local clock.
    const moment = `@${Date.UTC(2026, 10, 30, 17, 0) / 1000}`;
    expect(await at(moment)).toBe('DROP PASS PASS');
    const r = await runTool(['schedule', 'apply', '--at', moment], { ...env, TZ: 'UTC' });
    expect(r.code).toBe(0);
    expect((await judge(probes)).map((p) => p.verdict).join(' ')).toBe('PASS PASS PASS');
    await ok('schedule', 'del', '2');
    await ok('schedule', 'del', '1');
    await ok('schedule', 'apply');
    expect(await ok('schedule', 'list')).toBe('');
  });

  it('bad input gets a clear error and changes nothing: not the policy file, not the maps', async () => {
    const file = join(b.stateDir, 'policy');
    const before = readFileSync(file, 'utf8');
    const probes: Probe[] = [
      { src: '10.9.1.5', name: 'face.test' },
      { src: '10.9.1.77', name: 'plain.test' },
      { src: '10.9.0.1', name: 'tracker.test' },
    ];
    const judged = (await judge(probes)).map((p) => p.verdict);
    const bad: [string[], RegExp][] = [
      [['category', 'add', 'Bad_Name'], /bad category name 'Bad_Name'/],
      [['category', 'add', 'social'], /category social exists/],
      [['category', 'del', 'blocklist'], /cannot be removed/],
      [['group', 'add', '9kids'], /bad group name/],
      [['group', 'block', 'kids', 'social,nosuch'], /no category 'nosuch'/],
      [['group', 'block', 'nobody', 'ads'], /no group nobody/],
      [['group', 'mode', 'kids', 'strict'], /bad mode 'strict'/],
      [['group', 'del', 'default'], /cannot be removed/],
      [['client', 'add', 'kids', '10.1.2.3/33'], /bad client '10.1.2.3\/33'/],
      [['client', 'add', 'kids', '01:00:5e:00:00:01'], /bad client/], // a group address
      [['client', 'add', 'nobody', '10.1.2.3'], /no group nobody/],
      [['client', 'del', '10.7.7.7'], /10.7.7.7\/32 is in no group/],
      [['schedule', 'add', 'kids', 'mon-xyz', '08:00-09:00', 'block', 'ads'], /bad days 'mon-xyz'/],
      [['schedule', 'add', 'kids', 'mon', '08:00-08:00', 'block', 'ads'], /bad time span/],
      [['schedule', 'add', 'kids', 'mon', '25:00-26:00', 'block', 'ads'], /bad time span/],
      [['schedule', 'add', 'kids', 'mon', '08:00-09:00', 'throttle', 'ads'], /bad action 'throttle'/],
      [['schedule', 'add', 'kids', 'mon', '08:00-09:00', 'block', 'nosuch'], /no category 'nosuch'/],
      [['schedule', 'del', '7'], /no window 7/],
      [['schedule', 'apply', '--at', 'tomorrow'], /bad --at 'tomorrow'/],
      [['add', '--category', 'nosuch', 'x.test'], /no category 'nosuch'/],
      [['del', '--category', 'ads', 'plain.test'], /plain.test is not listed in ads/],
    ];
    for (const [args, msg] of bad) {
      const r = await runTool(args, env);
      expect(r.code, `xdp-sni ${args.join(' ')}`).not.toBe(0);
      expect(r.stderr, `xdp-sni ${args.join(' ')}`).toMatch(msg);
    }
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(existsSync(`${file}.tmp`)).toBe(false);
    expect((await judge(probes)).map((p) => p.verdict)).toEqual(judged);
  });

  it('a policy file that does not parse is refused with its line, and the last good policy stays', async () => {
    const file = join(b.stateDir, 'policy');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, `${good}group 5 broken block=nosuch allow=- mode=blocklist\n`);
    const r = await runTool(['group', 'add', 'late'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/policy:\d+: unknown category/);
    const l = await runTool(['group', 'list'], env);
    expect(l.code).toBe(1);
    writeFileSync(file, good);
  });

  it('category del: out of every group, window and name; names in no other category leave the table', async () => {
    await ok('schedule', 'add', 'kids', 'daily', '00:00-24:00', 'block', 'ads,social');
    await ok('schedule', 'add', 'kids', 'daily', '00:00-24:00', 'block', 'ads');
    await ok('category', 'del', 'ads');
    expect(await ok('category', 'list')).toBe('blocklist\t1\nsocial\t1\nschool\t2');
    expect(await ok('schedule', 'list')).toMatch(/^1\tkids daily 00:00-24:00 block social\topen$/);
    expect(await ok('group', 'list')).not.toMatch(/ads/);
    // ads.face.test was in ads alone (exact): gone; its parent face.test (social) still covers it
    const domains = readFileSync(join(b.stateDir, 'domains.list'), 'utf8');
    expect(domains).not.toMatch(/tracker\.test|ads\.face\.test/);
    const r = await judge([
      { src: '10.9.1.5', name: 'tracker.test' },
      { src: '10.9.1.5', name: 'ads.face.test' },
    ]);
    expect(r.map((p) => [p.verdict, p.event?.cats ?? 0])).toEqual([
      ['PASS', 0],
      ['DROP', 0b010],
    ]);
    await ok('schedule', 'del', '1');
    // a new category takes the free bit; it starts empty
    await ok('category', 'add', 'gaming');
    expect(await ok('list', '--category', 'gaming')).toBe('');
  });

  it('a domains.list from before categories (NAME<TAB>FLAGS) loads into blocklist', async () => {
    const c = await mountBpffs();
    try {
      const e = { ...toolEnv(c), TZ: 'UTC' };
      const { mkdirSync } = await import('node:fs');
      mkdirSync(c.stateDir, { recursive: true });
      writeFileSync(join(c.stateDir, 'domains.list'), 'old.test\texact\nwide.test\tsubdomains\n');
      expect((await runTool(['init'], e)).code).toBe(0);
      expect((await runTool(['list'], e)).stdout).toBe('old.test\texact\nwide.test\tsubdomains');
      const f = join(dir, 'old.pcap');
      writePcap(f, ['old.test', 'a.wide.test', 'new.test'].map((n, i) => tcpFrame({ sport: 32000 + i, seq: 1, payload: clientHello(n) })));
      const r = await replay(f, { env: e });
      expect(r.packets.map((p) => p.verdict)).toEqual(['DROP', 'DROP', 'PASS']);
    } finally {
      await c.cleanup();
    }
  });

  it('concurrent changes all land: 12 category adds and 12 client adds at once', async () => {
    const runs = [
      ...Array.from({ length: 12 }, (_, i) => runTool(['category', 'add', `c${i}`], env)),
      ...Array.from({ length: 12 }, (_, i) => runTool(['client', 'add', 'staff', `10.77.${i}.0/24`], env)),
    ];
    const res = await Promise.all(runs);
    expect(res.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    const cats = (await ok('category', 'list')).split('\n').filter((l) => /^c\d+\t/.test(l));
    expect(cats.length).toBe(12);
    const clients = (await ok('client', 'list')).split('\n').filter((l) => l.startsWith('10.77.'));
    expect(clients.length).toBe(12);
    const r = await judge(Array.from({ length: 12 }, (_, i) => ({ src: `10.77.${i}.9`, name: 'plain.test' })));
    expect(r.map((p) => p.event?.group)).toEqual(Array(12).fill(2));
  });
});
