// The control tool against a private bpffs: domains, validation, import,
// settings, status/stats, replay with the pinned list, verify, control socket.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { execa } from 'execa';
import { createConnection } from 'node:net';
import {
  buildBpf, mountBpffs, runTool, toolEnv, tool, sniObj, passObj, replay, fixturesDir, tempDir, rmrf,
} from './lib.js';

let fs: Awaited<ReturnType<typeof mountBpffs>>;
let env: Record<string, string>;
let dir: string;
beforeAll(async () => {
  await buildBpf();
  fs = await mountBpffs();
  env = toolEnv(fs);
  dir = tempDir('xsni-cli-');
});
afterAll(async () => {
  await fs?.cleanup();
  rmrf(dir);
});

const t = (...args: string[]) => runTool(args, env);
const listed = async () => (await t('list')).stdout.trim().split('\n').filter(Boolean).map((l) => l.split('\t').slice(0, 2).join(' '));

describe('xdp-sni tool', () => {
  it('verify loads both objects through the verifier', async () => {
    for (const o of [sniObj, passObj]) {
      const r = await runTool(['verify', o]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/loaded: \d+ verified insns/);
    }
  });

  it('verify fails on a file that is not an object', async () => {
    const bad = join(dir, 'bad.o');
    writeFileSync(bad, 'not elf');
    expect((await runTool(['verify', bad])).code).not.toBe(0);
  });

  it('status says not loaded before anything is pinned', async () => {
    const r = await t('status');
    expect(r.code).toBe(3);
  });

  it('add, list, del', async () => {
    expect((await t('add', 'WWW.Example.COM.')).code).toBe(0);
    expect((await t('add', 'example.org', '--subdomains')).code).toBe(0);
    expect((await t('add', '*.wild.example')).code).toBe(0);
    expect(await listed()).toEqual(['www.example.com exact', 'example.org subdomains', 'wild.example subdomains']);
    expect((await t('add', 'www.example.com', '--subdomains')).code).toBe(0);
    expect(await listed()).toContain('www.example.com exact,subdomains');
    expect((await t('del', 'www.example.com')).code).toBe(0);
    expect(await listed()).toEqual(['example.org subdomains', 'wild.example subdomains']);
    const r = await t('del', 'never-added.example');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not listed/);
  });

  it('list --offset --limit --match: a page in name order after "# total N matching M"; without them the list as before', async () => {
    const f = join(dir, 'page.txt');
    // 250 names, not in order, some with their subdomains
    const names = Array.from({ length: 250 }, (_, i) => `p${String((i * 7919) % 250).padStart(3, '0')}.page.example`);
    writeFileSync(f, names.map((n, i) => (i % 5 === 0 ? `${n} subdomains` : n)).join('\n'));
    expect((await t('import', f)).code).toBe(0);
    const flags = (n: string) => (names.indexOf(n) % 5 === 0 ? 'subdomains' : 'exact');
    const sorted = [...names].sort();
    const total = (await t('list')).stdout.split('\n').filter(Boolean).length;
    const page = async (...args: string[]) => {
      const r = await t('list', ...args);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split('\n').filter(Boolean);
    };
    expect(await page('--match', '.page.example', '--limit', '3')).toEqual([
      `# total ${total} matching 250`, ...sorted.slice(0, 3).map((n) => `${n}\t${flags(n)}`),
    ]);
    expect(await page('--match=PAGE.EXAMPLE', '--offset=245', '--limit=10')).toEqual([
      `# total ${total} matching 250`, ...sorted.slice(245).map((n) => `${n}\t${flags(n)}`),
    ]);
    expect(await page('--match', 'p12', '--offset', '1', '--limit', '2')).toEqual([`# total ${total} matching 10`, `p121.page.example\t${flags('p121.page.example')}`, `p122.page.example\t${flags('p122.page.example')}`]);
    // past the end: the counts only; no match: the same
    expect(await page('--match', '.page.example', '--offset', '250')).toEqual([`# total ${total} matching 250`]);
    expect(await page('--match', 'nothing-has-this')).toEqual([`# total ${total} matching 0`]);
    // --offset alone: every name from there on
    expect((await page('--offset', '0')).length).toBe(total + 1);
    // a saved name the kernel's table lacks says so, as in the whole list
    const state = join(fs.stateDir, 'domains.list');
    const saved = readFileSync(state, 'utf8');
    writeFileSync(state, `${saved}p999.page.example\texact\t1\n`);
    expect(await page('--match', 'p999.')).toEqual([`# total ${total + 1} matching 1`, 'p999.page.example\texact\t(not in the kernel map)']);
    writeFileSync(state, saved);
    // without the new options: the whole list in its saved order, no count line
    const whole = await page();
    expect(whole.filter((l) => l.includes('.page.example'))).toEqual(names.map((n) => `${n}\t${flags(n)}`));
    expect(whole.every((l) => /^[a-z0-9._-]+\t(exact|subdomains|exact,subdomains)$/.test(l))).toBe(true);
    expect((await t('del', ...names)).code).toBe(0);
  });

  it('list refuses a bad --offset or --limit with a clear message and changes nothing', async () => {
    expect((await t('add', 'keep.page.example')).code).toBe(0);
    const state = join(fs.stateDir, 'domains.list');
    const before = { file: readFileSync(state), list: (await t('list')).stdout };
    for (const [args, msg] of [
      [['--offset', '-1'], "list: --offset takes a whole number (N), not '-1'"],
      [['--offset=-5', '--limit=10'], "list: --offset takes a whole number (N), not '-5'"],
      [['--offset', 'abc'], "list: --offset takes a whole number (N), not 'abc'"],
      [['--offset', '1048577'], 'list: --offset must be 0 to 1048576, not 1048577'],
      [['--limit', '0'], 'list: --limit must be 1 to 1048576, not 0'],
      [['--limit', '1048577'], 'list: --limit must be 1 to 1048576, not 1048577'],
      [['--limit', '99999999999999999999999'], "list: --limit takes a whole number (N), not '99999999999999999999999'"],
      [['--limit', '1e3'], "list: --limit takes a whole number (N), not '1e3'"],
      [['--limit', ' 5'], "list: --limit takes a whole number (N), not ' 5'"],
      [['--limit', '+5'], "list: --limit takes a whole number (N), not '+5'"],
      [['--limit='], "list: --limit takes a whole number (N), not ''"],
      [['--limit'], 'list: --limit needs a value (N)'],
    ] as [string[], string][]) {
      const r = await t('list', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toBe(`xdp-sni: ${msg}`);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    expect(readFileSync(state)).toEqual(before.file);
    expect((await t('list')).stdout).toBe(before.list);
    // the largest values are taken
    expect((await t('list', '--offset', '1048576', '--limit', '1048576')).stdout).toMatch(/^# total \d+ matching \d+$/);
    expect((await t('del', 'keep.page.example')).code).toBe(0);
  });

  const bad: [string, RegExp][] = [
    ['bücher.example', /punycode/],
    ['has space.example', /invalid character/],
    ['a..b', /empty label/],
    ['-lead.example', /starts with '-'/],
    ['trail-.example', /ends with '-'/],
    [`${'a'.repeat(64)}.example`, /longer than 63/],
    [`${'abcdefghi.'.repeat(25)}abcd`, /253/],
    ['', /empty/],
    ['.', /empty/],
    ['xn--', /punycode|ends with/],
    ['semi;colon.example', /invalid character/],
    ['192.0.2.1', /an IPv4 address \(dotted quad\) is not a server name/],
  ];
  for (const [name, msg] of bad) {
    it(`rejects '${name.length > 30 ? name.slice(0, 30) + '…' : name}' and changes nothing`, async () => {
      const before = await listed();
      const r = await t('add', '--', 'good-one.example', name);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(msg);
      expect(await listed()).toEqual(before);
    });
  }

  it('a dotted quad listed before it was refused can still be deleted', async () => {
    expect((await t('add', 'seed.example')).code).toBe(0); // maps and state file exist
    const state = join(fs.stateDir, 'domains.list');
    writeFileSync(state, `${readFileSync(state, 'utf8')}10.9.8.7\texact\n`);
    expect(await listed()).toContain('10.9.8.7 exact');
    const r = await t('del', '10.9.8.7');
    expect(r.code, r.stderr).toBe(0);
    expect(await listed()).not.toContain('10.9.8.7 exact');
    expect((await t('del', 'seed.example')).code).toBe(0);
  });

  it('accepts punycode, digits, underscores and a 253-byte name', async () => {
    const n253 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    const r = await t('add', 'xn--bcher-kva.example', '_dmarc.x1.example', n253);
    expect(r.code, r.stderr).toBe(0);
    const l = await listed();
    expect(l).toContain('xn--bcher-kva.example exact');
    expect(l).toContain(`${n253} exact`);
  });

  it('import reports bad lines by number and imports nothing, unless --skip-bad', async () => {
    const f = join(dir, 'hosts.txt');
    writeFileSync(f, [
      '# a hosts file',
      '127.0.0.1 localhost',
      '0.0.0.0 ads.example.net tracker.example.net # two names',
      '',
      'plain.example',
      'sub.example subdomains',
      '::1 ip6-localhost',
      'bad..name',
      '0.0.0.0 ok.example b@d.example',
      '*.star.example',
    ].join('\n'));
    const before = await listed();
    const r = await t('import', f);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/hosts\.txt:8: bad domain 'bad\.\.name'/);
    expect(r.stderr).toMatch(/hosts\.txt:9: bad domain 'b@d\.example'/);
    expect(r.stderr).not.toMatch(/:3:|:5:|:6:|:10:/);
    expect(await listed()).toEqual(before);
    const r2 = await t('import', f, '--skip-bad');
    expect(r2.code, r2.stderr).toBe(0);
    const l = await listed();
    for (const e of ['ads.example.net exact', 'tracker.example.net exact', 'plain.example exact', 'sub.example subdomains', 'ok.example exact', 'star.example subdomains'])
      expect(l).toContain(e);
    expect(l.some((x) => x.startsWith('localhost'))).toBe(false);
  });

  it('import: a UTF-8 byte order mark does not reject the first line', async () => {
    const f = join(dir, 'bom.txt');
    writeFileSync(f, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('bom-first.example\nbom-second.example\n')]));
    const r = await t('import', f);
    expect(r.code, r.stderr).toBe(0);
    expect(await listed()).toEqual(expect.arrayContaining(['bom-first.example exact', 'bom-second.example exact']));
  });

  it('mode, rst, ports and exemptions are stored in the pinned settings', async () => {
    expect((await t('mode', 'monitor')).code).toBe(0);
    expect((await t('rst', 'off')).code).toBe(0);
    expect((await t('ports', '443,8443')).code).toBe(0);
    expect((await t('exempt', 'add', '192.0.2.0/24')).code).toBe(0);
    expect((await t('exempt', 'add', '2001:db8::/32')).code).toBe(0);
    expect((await t('mode', 'sideways')).code).toBe(2);
    expect((await t('ports', '0')).code).toBe(1);
    expect((await t('exempt', 'add', '300.1.1.1')).code).toBe(1);
    const s = JSON.parse((await t('status', '--json')).stdout);
    expect(s).toMatchObject({ loaded: true, mode: 'monitor', rst: false, ports: '443,8443' });
    expect(s.domains).toBeGreaterThan(5);
    expect((await t('exempt', 'list')).stdout.trim().split('\n').sort()).toEqual(['192.0.2.0/24', '2001:db8::/32']);
    expect((await t('exempt', 'del', '192.0.2.0/24')).code).toBe(0);
    expect((await t('exempt', 'list')).stdout.trim()).toBe('2001:db8::/32');
    await t('mode', 'block');
    await t('rst', 'on');
    await t('ports', '443');
  });

  it('log all|listed switches events for unlisted names on and off', async () => {
    expect((await t('status')).stdout).toMatch(/^log +listed$/m);
    expect((await t('log', 'all')).code).toBe(0);
    expect((await t('status')).stdout).toMatch(/^log +all$/m);
    expect((await t('log', 'sometimes')).code).toBe(2);
    expect((await t('log', 'listed')).code).toBe(0);
    expect((await t('status')).stdout).toMatch(/^log +listed$/m);
  });

  it('stats prints every counter', async () => {
    const s = JSON.parse((await t('stats', '--json')).stdout);
    for (const k of ['packets', 'clienthellos', 'sni_found', 'sni_multiseg', 'blocked', 'exempted', 'parse_errors', 'given_up', 'events_lost'])
      expect(s[k]).toBe(0);
  });

  it('replay uses the pinned blocklist when no --blocklist is given', async () => {
    await t('add', 'www.example.com');
    const r = await replay(join(fixturesDir, 'curl-www.pcap'), { env });
    expect(r.packets.find((p) => p.event)!.verdict).toBe('DROP');
    await t('del', 'www.example.com');
    const r2 = await replay(join(fixturesDir, 'curl-www.pcap'), { env });
    expect(r2.packets.find((p) => p.event)!.verdict).toBe('PASS');
  });

  it('maps pinned anew (after a reboot or a reinstall) get the saved blocklist back', async () => {
    await t('add', 'www.example.com');
    await t('add', 'example.org', '--subdomains');
    // what a reboot does to the pins: they are gone, the state file stays
    rmrf(env.XDP_SNI_PIN_DIR);
    expect((await t('status')).code).not.toBe(0);
    expect((await t('init')).code).toBe(0);
    expect(await listed()).toEqual(expect.arrayContaining(['www.example.com exact', 'example.org subdomains']));
    expect((await t('list')).stdout).not.toContain('not in the kernel map');
    const r = await replay(join(fixturesDir, 'curl-www.pcap'), { env });
    expect(r.packets.find((p) => p.event)!.verdict).toBe('DROP');
    await t('del', 'www.example.com', 'example.org');
  });

  it('concurrent adds and imports lose no name (the list is locked while it changes)', async () => {
    const files = [0, 1].map((k) => {
      const f = join(dir, `conc${k}.txt`);
      writeFileSync(f, Array.from({ length: 3000 }, (_, i) => `c${k}-${i}.conc.example`).join('\n') + '\n');
      return f;
    });
    const adds = Array.from({ length: 6 }, (_, k) => t('add', ...Array.from({ length: 20 }, (_, i) => `a${k}-${i}.conc.example`)));
    const res = await Promise.all([...files.map((f) => t('import', f)), ...adds]);
    for (const r of res) expect(r.code, r.stderr).toBe(0);
    const names = (await t('list')).stdout.split('\n').filter((l) => l.includes('.conc.example'));
    expect(names.length).toBe(2 * 3000 + 6 * 20);
    expect(names.filter((l) => l.includes('not in the kernel map'))).toEqual([]);
    const st = JSON.parse((await t('status', '--json')).stdout);
    expect(st.domains).toBeGreaterThanOrEqual(2 * 3000 + 6 * 20);
    const gone = await t('del', ...Array.from({ length: 20 }, (_, i) => `a0-${i}.conc.example`));
    expect(gone.code).toBe(0);
    for (const f of files) expect((await t('import', f)).stdout).toMatch(/imported 3000 names \(0 new/);
  });

  it('replay prints a text line per packet and the mean time with --repeat', async () => {
    const r = await execa(tool, ['replay', join(fixturesDir, 'curl-www.pcap'), '--repeat', '50', '--blocklist', '/dev/null'], { env: { ...process.env, ...env } });
    const lines = String(r.stdout).split('\n');
    expect(lines.filter((l) => /^\d+\t(PASS|DROP|TX)\t\d+\t[\d.]+ns \((flows|wall)\)/.test(l)).length).toBe(23);
    expect(lines.some((l) => /sni=www\.example\.com verdict=pass/.test(l))).toBe(true);
    expect(r.stdout).toMatch(/mean [\d.]+ ns per packet over 23 packets x 50 runs/);
  });

  it('replay --repeat times a packet with an event as fresh flows, others by the wall clock; --timing forces one', async () => {
    const pcap = join(fixturesDir, 'curl-www.pcap');
    const auto = await replay(pcap, { repeat: 2000, blocklist: [] });
    const hello = auto.packets.findIndex((p) => p.event);
    expect(hello).toBeGreaterThanOrEqual(0);
    auto.packets.forEach((p, i) => {
      expect(p.ns).toBeGreaterThan(0);
      expect(p.timing).toBe(i === hello ? 'flows' : 'wall');
    });
    for (const timing of ['kernel', 'wall', 'flows'] as const) {
      const r = await replay(pcap, { repeat: 2000, blocklist: [], timing });
      expect(r.packets.every((p) => p.timing === timing && p.ns! > 0)).toBe(true);
    }
    const bad = await execa(tool, ['replay', pcap, '--repeat', '10', '--timing', 'fast'], { env: { ...process.env, ...env }, reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--timing must be auto, kernel, wall or flows, not "fast"/);
  });

  it('has help for every subcommand', async () => {
    for (const c of ['attach', 'detach', 'daemon', 'add', 'del', 'list', 'import', 'stats', 'status', 'mode', 'replay', 'verify', 'exempt', 'ports', 'rst', 'log']) {
      const r = await runTool([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`usage: xdp-sni ${c}`));
    }
  });

  it('takes only the options a command declares, before or after its words; globals anywhere', async () => {
    const r = await t('stats', '--dev', 'lo');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('xdp-sni: stats: unknown option --dev (see `xdp-sni stats --help`)');
    expect((await t('add', 'x.example', '--json')).code).toBe(2);
    expect((await t('list', '--json')).stderr).toMatch(/list: unknown option --json/);
    expect((await t('status', '--mode', 'block')).code).toBe(2);
    expect((await runTool(['--bogus', 'status'], env)).code).toBe(2);
    // a value is required; a flag takes none
    expect((await t('attach', '--dev')).stderr).toMatch(/attach: --dev needs a value \(IFACE\)/);
    expect((await t('stats', '--json=yes')).stderr).toMatch(/stats: --json takes no value/);
    // options after the command, globals before or after it, --opt=value
    const other = { ...env, XDP_SNI_PIN_DIR: '/nonexistent/pins' };
    expect((await runTool(['status', '--json', `--pin-dir=${env.XDP_SNI_PIN_DIR}`], other)).code).toBe(0);
    expect((await runTool(['--pin-dir', env.XDP_SNI_PIN_DIR, 'status', '--json'], other)).code).toBe(0);
    expect((await runTool(['status', '--json'], other)).code).toBe(3);
    // the wrong words: the usage line from the table, exit status 2
    const u = await t('mode');
    expect(u.code).toBe(2);
    expect(u.stderr).toBe('usage: xdp-sni mode monitor|block');
  });

  it('the daemon serves the control socket and adopts the pinned state', async () => {
    const sock = join(dir, 'ctl.sock');
    const d = execa(tool, ['daemon', '--socket', sock, '--syslog-socket', join(dir, 'nolog')], { env: { ...process.env, ...env }, reject: false });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      const ask = (line: string) => new Promise<string>((resolve, reject) => {
        let out = '';
        const c = createConnection(sock, () => c.write(line + '\n'));
        c.on('data', (b) => (out += b));
        c.on('end', () => resolve(out));
        c.on('error', reject);
      });
      expect(await ask('ping')).toMatch(/pong/);
      expect(await ask('add live.example subdomains')).toMatch(/added live\.example \(subdomains\)[\s\S]*rc=0/);
      expect(await listed()).toContain('live.example subdomains');
      expect(await ask('add bad..example')).toMatch(/bad domain 'bad\.\.example': empty label[\s\S]*\nrc=1\n$/);
      // a page of the list over the socket; a bad value is refused there too
      expect(await ask('list --match=LIVE.example --limit=5')).toMatch(/^# total \d+ matching 1\nlive\.example\tsubdomains\nrc=0\n$/);
      expect(await ask('list --offset=-1')).toMatch(/--offset takes a whole number \(N\), not '-1'\n(?:[\s\S]*\n)?rc=2\n$/);
      const st = await ask('stats --json');
      expect(JSON.parse(st.replace(/rc=0\n$/, '')).packets).toBeTypeOf('number');
      expect(await ask('del live.example')).toMatch(/rc=0/);
      expect(await ask('status')).toMatch(/mode\s+block/);
      expect(await ask('bogus')).toMatch(/rc=2/);
      // the allow-list is the command table's: every other command is refused
      const list = (await runTool(['help', '--list'])).stdout.split('\n');
      const allowed = list.find((l) => l.startsWith('socket '))!.split(' ').slice(1);
      const all = list.filter((l) => l.startsWith('command ')).map((l) => l.split(' ')[1]);
      expect(allowed).toEqual(expect.arrayContaining(['add', 'del', 'list', 'stats', 'status', 'mode', 'rst', 'log', 'ports', 'exempt']));
      for (const c of all.filter((c) => !allowed.includes(c)))
        expect(await ask(`${c} --dev lo`)).toBe(`error command ${c} is not allowed over the control socket\nrc=2\n`);
      expect(all).toEqual(expect.arrayContaining(['attach', 'replay', 'daemon', 'import']));
      expect(await ask('stats')).toMatch(/^packets +\d+\n[\s\S]*\nrc=0\n$/);
      // options: the command's own, never a global one
      expect(await ask('stats --pin-dir /tmp')).toMatch(/stats: unknown option --pin-dir[\s\S]*\nrc=2\n$/);
      expect(await ask('del live.example subdomains')).toMatch(/del: unknown option --subdomains[\s\S]*\nrc=2\n$/);
    } finally {
      d.kill('SIGTERM');
      await d;
    }
    expect(readFileSync(join(fs.stateDir, 'domains.list'), 'utf8')).not.toMatch(/live\.example/);
  });
});
