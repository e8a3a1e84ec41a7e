// DPI-evasion techniques over real TCP, through xdp_sni attached in native
// mode on the firewall's client-facing veth, against the real TLS server
// (tls-server.mjs). One test per technique; each sends a listed name
// (blocked.example: the server must never parse its hello, and the counters
// and syslog must show the block) and an unlisted one (allowed.example: the
// server must parse exactly one hello per connection).
//
// Techniques 1, 2 and 6 use a real TLS client (Python's ssl) on a kernel
// socket; 3-5 need segments a kernel socket never sends (out of order,
// overlapping, low TTL): raw-tcp.py builds those by hand with raw sockets
// (see its header), with an nftables rule in the client namespace keeping
// the client kernel from resetting the connection it does not know.
//
// The replay-layer tests of the same techniques: test/bpf/flows.test.ts and
// test/bpf/malformed.test.ts.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBpf, tool, readPcap, clientStreams, firstRecord, fixturesDir, sniRange } from '../bpf/lib.js';
import { renameHello } from '../bpf/fuzz/generate.js';
import { setup, nsExec, syslog, waitFor, SERVER4, CLIENT4, type Topo } from './topology.js';
import { ask as askOn, detachAndCleanup, xsni } from './tool.js';

const here = dirname(fileURLToPath(import.meta.url));
const SENDER = join(here, 'raw-tcp.py');
// Debian's python3 (stdlib only); a python3 on PATH otherwise
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
/** SO_MARK of the raw sender's own final RST: the nftables rule lets it out */
const MARK = 0x5a5a;
const LISTED = 'blocked.example';
const UNLISTED = 'allowed.example';

let t: Topo;

const ask = (line: string, timeoutMs = 2000) => askOn(t, line, timeoutMs);
let daemon: ResultPromise | undefined;

const x = (args: string[], ns?: string) => xsni(t, args, ns);


const stats = async () => JSON.parse((await x(['stats', '--json'])).stdout) as Record<string, number>;
function delta(a: Record<string, number>, b: Record<string, number>, keys: string[]) {
  // a counter the program lacks counts 0 (so a build without it fails on the numbers)
  return Object.fromEntries(keys.map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]));
}

/** Server events since `from` (an index into its log), up to `to`. */
/** A listed run (bad) then an unlisted one (good), each one connection:
 * the server acknowledged the listed hello only up to the segment that
 * completes its name, and never parsed it; the unlisted hello whole, once. */
function expectListedCutUnlistedWhole(bad: { from: number; res: RawResult; cut: number }, good: { from: number; res: RawResult; len: number }) {
  expect(bad.res.acked).toBe(bad.cut);
  expect(good.res.acked).toBe(good.len);
  expect(serverSince(bad.from, good.from).hello(LISTED)).toBe(0);
  expect(serverSince(bad.from, good.from).conns).toBe(1);
  expect(serverSince(good.from).hello(UNLISTED)).toBe(1);
  expect(serverSince(good.from).conns).toBe(1);
}

function serverSince(from: number, to?: number) {
  const evs = t.serverLog().slice(from, to);
  return {
    hello: (name: string) => evs.filter((e) => e.ev === 'hello' && e.sni === name).length,
    hellos: evs.filter((e) => e.ev === 'hello').length,
    secure: evs.filter((e) => e.ev === 'secure').length,
    // TCP connections accepted (the port of one reset before the accept is unknown)
    conns: evs.filter((e) => e.ev === 'conn').length,
  };
}

/** The xdp-sni syslog lines of connections from CLIENT4:port. */
function logLines(port: number): string[] {
  return syslog(t).split('\n').filter((l) => l.includes(` src=${CLIENT4}:${port} `));
}
async function waitLog(port: number, n = 1) {
  await waitFor(() => logLines(port).length >= n, 5000, `syslog line for port ${port}`);
  // and no more come
  await new Promise((r) => setTimeout(r, 200));
  return logLines(port);
}

// ---------------------------------------------------------------- senders
interface TlsResult { ok: boolean; error: string | null; body: string; hello_len: number; records: number; writes: number; name_at: [number, number] | null; piece_ends: number[] }
type Anchor = ['start' | 'name' | 'nameEnd', number];
interface TlsJob {
  sport: number;
  server_name: string | null;
  check_hostname?: boolean;
  records?: Anchor[];
  writes?: { kind: 'all' | 'records' } | { kind: 'tiny'; from: Anchor; to: Anchor; sizes: number[] };
  gap?: number;
}

/** A real TLS client (Python ssl) on a kernel socket in the client namespace. */
async function tls(job: TlsJob): Promise<TlsResult> {
  const r = await nsExec(t.c, PYTHON, [SENDER], {
    input: JSON.stringify({ mode: 'tls', dst: SERVER4, dport: 443, cafile: t.ca, timeout: 5, ...job }),
    timeout: 30_000,
  });
  if (r.exitCode !== 0) throw new Error(`raw-tcp.py (tls) failed: ${r.stderr}`);
  return JSON.parse(String(r.stdout)) as TlsResult;
}

interface Seg { off: number; len: number; data?: Buffer; ttl?: number; delay?: number }
interface RawResult { synack: boolean; sent: number; acked: number; rsts: number; received: { flags: number; len: number; ack: number }[] }

/** Hand-made segments of one connection from CLIENT4:sport. The client
 * kernel's RSTs from that port are dropped meanwhile (nftables, client
 * namespace only), and the rule is removed on every path. */
async function raw(sport: number, payload: Buffer, segs: Seg[], wait = 0.5): Promise<RawResult> {
  const table = `xsni_raw_${sport}`;
  const nft = async (args: string[], input?: string) => {
    const r = await nsExec(t.c, 'nft', args, input === undefined ? {} : { input });
    if (r.exitCode !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
  };
  await nft(['-f', '-'], [
    `table inet ${table} {`,
    '  chain out {',
    '    type filter hook output priority 0; policy accept;',
    `    meta mark != ${MARK} ip daddr ${SERVER4} tcp sport ${sport} tcp dport 443 tcp flags & rst == rst drop`,
    '  }',
    '}',
    '',
  ].join('\n'));
  try {
    const job = {
      mode: 'raw', src: CLIENT4, dst: SERVER4, sport, dport: 443, payload: payload.toString('hex'), wait, mark: MARK,
      segments: segs.map((s) => ({ off: s.off, len: s.len, ttl: s.ttl ?? 64, delay: s.delay ?? 0.05, ...(s.data ? { data: s.data.toString('hex') } : {}) })),
    };
    const r = await nsExec(t.c, PYTHON, [SENDER], { input: JSON.stringify(job), timeout: 30_000 });
    if (r.exitCode !== 0) throw new Error(`raw-tcp.py (raw) failed: ${r.stderr}`);
    const res = JSON.parse(String(r.stdout)) as RawResult;
    if (!res.synack) throw new Error(`no SYN-ACK from the server for port ${sport}`);
    return res;
  } finally {
    await nsExec(t.c, 'nft', ['delete', 'table', 'inet', table]);
  }
}

/** A realistic ClientHello (curl 7.88 / OpenSSL 3.0, 517 bytes) carrying `name`. */
const curlHello = firstRecord(clientStreams(readPcap(join(fixturesDir, 'curl-www.pcap')))[0].data);
const hello = (name: string) => renameHello(curlHello, name);

beforeAll(async () => {
  for (const bin of [PYTHON, 'nft']) {
    const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', bin], { reject: false });
    if (r.exitCode !== 0) throw new Error(`${bin} is not installed`);
  }
  await buildBpf();
  t = await setup();
  try {
    const a = await x(['attach', '--dev', 'f0', '--mode', 'native'], t.f);
    if (a.code !== 0) throw new Error(`attach failed: ${a.stderr}`);
    const add = await x(['add', LISTED]);
    if (add.code !== 0) throw new Error(add.stderr);
    daemon = execa(tool, ['daemon', '--socket', t.ctlSock, '--syslog-socket', t.syslogSock], {
      reject: false, buffer: false, env: { ...process.env, ...t.env },
    });
    t.procs.push({ name: 'daemon', p: daemon });
    await waitFor(async () => (await ask('ping').catch(() => '')).includes('pong'), 10_000, 'daemon control socket');
    const s = JSON.parse((await x(['status', '--json'], t.f)).stdout);
    expect(s.attached).toEqual([{ dev: 'f0', mode: 'native' }]);
    expect(s.mode).toBe('block');
  } catch (e) {
    await t.cleanup();
    throw e;
  }
}, 120_000);

afterAll(async () => {
  await detachAndCleanup(t);
}, 60_000);

describe('DPI evasion over real TCP (netns, native XDP)', () => {
  it('1. a ClientHello in three TLS records, one cut inside the name (kernel socket): listed name blocked, unlisted handshake completes', async () => {
    const from = t.serverLog().length;
    const s0 = await stats();
    // cuts in the handshake message: 30 bytes before the name, and 4 bytes into it
    const records: Anchor[] = [['name', -30], ['name', 4]];
    const bad = [
      await tls({ sport: 41101, server_name: LISTED, records, writes: { kind: 'all' } }),
      await tls({ sport: 41102, server_name: LISTED, records, writes: { kind: 'records' } }),
    ];
    for (const r of bad) {
      expect(r.records).toBe(3);
      expect(r.ok).toBe(false);
      expect(r.error).toBe('reset');
    }
    expect(bad.map((r) => r.writes)).toEqual([1, 3]);
    const good = [
      await tls({ sport: 41103, server_name: UNLISTED, records, writes: { kind: 'all' } }),
      await tls({ sport: 41104, server_name: UNLISTED, records, writes: { kind: 'records' } }),
    ];
    for (const r of good) {
      expect(r.error).toBeNull();
      expect(r.ok).toBe(true);
      expect(r.body).toMatch(/xsni-ok allowed\.example/);
    }
    const srv = serverSince(from);
    expect(srv.hello(LISTED)).toBe(0);
    expect(srv.hello(UNLISTED)).toBe(2);
    expect(srv.secure).toBe(2);
    expect(srv.conns).toBe(4);
    const d = delta(s0, await stats(), ['blocked', 'unreadable', 'reordered']);
    expect(d).toEqual({ blocked: 2, unreadable: 0, reordered: 0 });
    // one block line each; the hello in one segment, and in three
    const l1 = await waitLog(41101), l2 = await waitLog(41102);
    expect(l1.length).toBe(1);
    expect(l1[0]).toMatch(/sni=blocked\.example verdict=block .* segments=1 /);
    expect(l2.length).toBe(1);
    expect(l2[0]).toMatch(/sni=blocked\.example verdict=block .* segments=[23] /);
    expect(logLines(41103).length + logLines(41104).length).toBe(0);
  });

  it('2. tiny segments: the hello written in 1-5 byte pieces around the name with TCP_NODELAY', async () => {
    const from = t.serverLog().length;
    const s0 = await stats();
    const writes = { kind: 'tiny' as const, from: ['name', -10] as Anchor, to: ['nameEnd', 5] as Anchor, sizes: [1, 2, 3, 4, 5] };
    const bad = await tls({ sport: 41201, server_name: LISTED, writes, gap: 0.02 });
    expect(bad.ok).toBe(false);
    expect(bad.error).toBe('reset');
    const good = await tls({ sport: 41202, server_name: UNLISTED, writes, gap: 0.02 });
    expect(good.error).toBeNull();
    expect(good.body).toMatch(/xsni-ok allowed\.example/);
    expect(good.writes).toBe(bad.writes);
    expect(bad.writes).toBeGreaterThanOrEqual(10);
    const srv = serverSince(from);
    expect(srv.hello(LISTED)).toBe(0);
    expect(srv.hello(UNLISTED)).toBe(1);
    expect(srv.conns).toBe(2);
    const d = delta(s0, await stats(), ['blocked', 'unreadable', 'reordered']);
    expect(d).toEqual({ blocked: 1, unreadable: 0, reordered: 0 });
    // the name is read across the pieces: the segment that completes it is
    // the one whose piece holds the name's last byte
    const nameLast = bad.name_at![1] - 1;
    const seg = bad.piece_ends.findIndex((e) => e > nameLast) + 1;
    const lines = await waitLog(41201);
    expect(lines.length).toBe(1);
    // (writes the kernel merges under load only lower the count)
    const got = Number(/ segments=(\d+) /.exec(lines[0])?.[1]);
    expect(lines[0]).toMatch(/sni=blocked\.example verdict=block /);
    expect(got).toBeGreaterThan(1);
    expect(got).toBeLessThanOrEqual(seg);
    expect(seg).toBeGreaterThan(5);
  });

  it('3. out-of-order segments: the third before the second is dropped (held), read when the sender resends it', async () => {
    const cases = [{ name: LISTED, sport: 41301 }, { name: UNLISTED, sport: 41302 }];
    const out: { name: string; from: number; d: Record<string, number>; res: RawResult; len: number; cut: number }[] = [];
    for (const c of cases) {
      const rec = hello(c.name);
      const cut = sniRange(rec).nameStart + 4;
      const A = { off: 0, len: 100 }, B = { off: 100, len: cut - 100 }, C = { off: cut, len: rec.length - cut };
      const from = t.serverLog().length;
      const s0 = await stats();
      // A, then C ahead of the gap (dropped by the program), B, and C again
      const res = await raw(c.sport, rec, [A, C, B, C]);
      out.push({ name: c.name, from, d: delta(s0, await stats(), ['blocked', 'reordered', 'unreadable']), res, len: rec.length, cut });
    }
    const [bad, good] = out;
    expect(bad.d).toEqual({ blocked: 1, reordered: 1, unreadable: 0 });
    expect(good.d).toEqual({ blocked: 0, reordered: 1, unreadable: 0 });
    // the server got A and B of the listed hello, never C; all of the other
    expectListedCutUnlistedWhole(bad, good);
    const lines = await waitLog(41301);
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/sni=blocked\.example verdict=block .* segments=3 /);
    expect(logLines(41302).length).toBe(0);
  });

  it('4. overlapping retransmission: the second segment starts 20 bytes inside the first and carries the rest of the name', async () => {
    const out: { from: number; d: Record<string, number>; res: RawResult; len: number; cut: number }[] = [];
    for (const [name, sport] of [[LISTED, 41401], [UNLISTED, 41402]] as const) {
      const rec = hello(name);
      const { nameStart } = sniRange(rec);
      const cut = nameStart + 4;
      const from = t.serverLog().length;
      const s0 = await stats();
      const res = await raw(sport, rec, [{ off: 0, len: cut }, { off: nameStart - 16, len: rec.length - (nameStart - 16) }]);
      out.push({ from, d: delta(s0, await stats(), ['blocked', 'reordered', 'unreadable']), res, len: rec.length, cut });
    }
    const [bad, good] = out;
    expect(bad.d).toEqual({ blocked: 1, reordered: 0, unreadable: 0 });
    expect(good.d).toEqual({ blocked: 0, reordered: 0, unreadable: 0 });
    expectListedCutUnlistedWhole(bad, good);
    const lines = await waitLog(41401);
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/sni=blocked\.example verdict=block .* segments=2 /);
  });

  it('5. a fake ClientHello with TTL 1 (dies at the firewall) on the real one\'s sequence numbers: before it, amid it, or as a fake first part', async () => {
    const variants = ['fake-first', 'fake-after-first-segment', 'fake-first-part'] as const;
    const run = async (real: string, fakeName: string, sport: number, v: typeof variants[number]) => {
      const rec = hello(real);
      const fake = hello(fakeName);
      const cut = sniRange(rec).nameStart + 4;
      const A: Seg = { off: 0, len: cut }, B: Seg = { off: cut, len: rec.length - cut };
      const F: Seg = v === 'fake-first-part' ? { off: 0, len: 60, data: fake.subarray(0, 60), ttl: 1 } : { off: 0, len: fake.length, data: fake, ttl: 1 };
      const segs = v === 'fake-after-first-segment' ? [A, F, B] : [F, A, B];
      return { res: await raw(sport, rec, segs), len: rec.length, cut };
    };
    // the listed name behind a fake for an unlisted one
    let from = t.serverLog().length;
    let s0 = await stats();
    const bad = [];
    for (const [i, v] of variants.entries()) bad.push(await run(LISTED, UNLISTED, 41501 + i, v));
    let d = delta(s0, await stats(), ['blocked', 'reordered', 'unreadable']);
    // the fake sent after the first real segment is held (a lower TTL)
    expect(d).toEqual({ blocked: 3, reordered: 1, unreadable: 0 });
    let srv = serverSince(from);
    expect(srv.hello(LISTED)).toBe(0);
    expect(srv.hello(UNLISTED)).toBe(0);    // the fakes never reach the server
    expect(srv.conns).toBe(3);
    for (const b of bad) expect(b.res.acked).toBe(b.cut);
    for (const [i] of variants.entries()) {
      const lines = await waitLog(41501 + i);
      expect(lines.length, `port ${41501 + i}`).toBe(1);
      expect(lines[0]).toMatch(/sni=blocked\.example verdict=block /);
    }
    // and an unlisted name behind a fake for another unlisted one still passes
    from = t.serverLog().length;
    s0 = await stats();
    const good = [];
    for (const [i, v] of variants.entries()) good.push(await run(UNLISTED, 'decoy.example', 41511 + i, v));
    d = delta(s0, await stats(), ['blocked', 'reordered', 'unreadable']);
    expect(d).toEqual({ blocked: 0, reordered: 1, unreadable: 0 });
    srv = serverSince(from);
    expect(srv.hello(UNLISTED)).toBe(3);
    expect(srv.hello('decoy.example')).toBe(0);
    expect(srv.conns).toBe(3);
    for (const g of good) expect(g.res.acked).toBe(g.len);
  });

  it('6. a hello with no server_name, and one whose host_name is 254 bytes: blocked as unreadable (kernel socket)', async () => {
    const long = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(62)].join('.');
    expect(long.length).toBe(254);
    const from = t.serverLog().length;
    const s0 = await stats();
    const noSni = await tls({ sport: 41601, server_name: null, check_hostname: false });
    const tooLong = await tls({ sport: 41602, server_name: long, check_hostname: false });
    for (const r of [noSni, tooLong]) {
      expect(r.ok).toBe(false);
      expect(r.error).toBe('reset');
    }
    expect(noSni.name_at).toBeNull();
    expect(tooLong.name_at![1] - tooLong.name_at![0]).toBe(254);
    const good = await tls({ sport: 41603, server_name: UNLISTED });
    expect(good.body).toMatch(/xsni-ok allowed\.example/);
    const srv = serverSince(from);
    expect(srv.conns).toBe(3);
    expect(srv.hellos).toBe(1);             // only allowed.example's
    expect(srv.hello(UNLISTED)).toBe(1);
    expect(srv.secure).toBe(1);
    const d = delta(s0, await stats(), ['blocked', 'unreadable', 'no_sni', 'reordered']);
    expect(d).toEqual({ blocked: 2, unreadable: 2, no_sni: 1, reordered: 0 });
    for (const port of [41601, 41602]) {
      const lines = await waitLog(port);
      expect(lines.length, `port ${port}`).toBe(1);
      expect(lines[0]).toMatch(new RegExp(`xdp-sni\\[\\d+\\]: sni= verdict=unreadable-block src=${CLIENT4.replace(/\./g, '\\.')}:${port} `));
    }
    expect(logLines(41603).length).toBe(0);
  });
});
