// QUIC=filter (issue 14, item 3): the program copies a client's QUIC Initials
// to user space (capped per flow), the daemon's code (quic_gate.c, run by
// `replay --quic` on the replay's maps, or by the daemon itself on the pinned
// ones) decodes them, judges the name like a TLS hello's and writes the
// flow's verdict, which the program enforces on every later packet of the
// 4-tuple.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import {
  buildBpf, replay, readPcap, writePcap, udpFrame, tcpFrame, clientHello, tempDir, rmrf, mountBpffs, runTool,
  toolEnv, tool, type ReplayResult, type ReplayOpts,
} from './lib.js';
import { encodeInitial, cryptoFrame, ping, V2 } from './quic/reference.js';

const fixtures = join(__dirname, '..', 'fixtures', 'quic');
const FILES = ['chromium', 'firefox'].flatMap((b) =>
  ['allowed', 'listed', 'long'].flatMap((n) => [1, 2].map((r) => `${b}-${n}-run${r}.pcap`)));
const nameOf = (f: string) =>
  f.includes('-listed-') ? 'listed.example' : f.includes('-allowed-') ? 'allowed.example' : 'a.very.long.subdomain.name.for.quic.example.org';

let dir: string;
let n = 0;
beforeAll(async () => {
  await buildBpf();
  dir = tempDir('xsni-quicf-');
});
afterAll(() => rmrf(dir));

async function run(frames: Buffer[], o: ReplayOpts = {}): Promise<ReplayResult> {
  const p = join(dir, `q${n++}.pcap`);
  writePcap(p, frames);
  return replay(p, { blocklist: ['listed.example'], quic: 'filter', ...o });
}

/** a seeded shuffle (mulberry32) */
function shuffle<T>(a: T[], seed: number): T[] {
  const r = [...a];
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = r.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [r[i], r[j]] = [r[j], r[i]];
  }
  return r;
}

/** One QUIC flow decided once: the index of the deciding packet; before it
 * every packet passed (filter) or was held (hold), after it every packet
 * meets the verdict. */
function expectOneVerdict(r: ReplayResult, name: string, blocked: boolean, mode: 'filter' | 'hold' = 'filter'): number {
  const ev = r.packets.filter((p) => p.event);
  expect(ev.length, 'one event per flow').toBe(1);
  expect(ev[0].event!.door).toBe('quic');
  expect(ev[0].sni).toBe(name);
  expect(ev[0].event!.verdict).toBe(blocked ? 'block' : 'pass');
  const k = r.packets.findIndex((p) => p.quic?.decided && p.event);
  expect(k).toBeGreaterThanOrEqual(0);
  for (let i = 0; i <= k; i++) expect(r.packets[i].verdict, `packet ${i + 1} before the verdict`).toBe(mode === 'hold' ? 'DROP' : 'PASS');
  for (let i = k + 1; i < r.packets.length; i++) expect(r.packets[i].verdict, `packet ${i + 1} after the verdict`).toBe(blocked ? 'DROP' : 'PASS');
  expect(r.quic_counters!.quic_copied).toBeLessThanOrEqual(4);
  return k;
}

describe('QUIC=filter: the fixtures through the program and the daemon code', () => {
  for (const f of FILES) {
    it(`${f}: copied, decoded, judged once, enforced`, async () => {
      const r = await replay(join(fixtures, f), { blocklist: ['listed.example'], quic: 'filter' });
      const listed = f.includes('-listed-');
      const k = expectOneVerdict(r, nameOf(f), listed);
      // every Initial up to the verdict was copied; none after
      expect(r.quic_counters!.quic_copied).toBe(k + 1);
      expect(r.quic_counters![listed ? 'quic_dropped' : 'quic_passed']).toBe(r.packets.length - k - 1);
      expect(r.quic_stats![listed ? 'blocked' : 'passed']).toBe(1);
      expect(r.quic_stats!.undecryptable).toBe(0);
      // the TLS path saw nothing
      expect(r.counters.packets).toBe(0);
    });
  }

  it('QUIC off (the default): UDP is untouched, nothing copied', async () => {
    const r = await replay(join(fixtures, 'chromium-listed-run1.pcap'), { blocklist: ['listed.example'] });
    expect(r.packets.every((p) => p.verdict === 'PASS' && !p.event)).toBe(true);
    expect(r.quic_counters).toBeUndefined();
  });

  it('hold: the undecided flow\'s Initials are dropped too, the verdict then applies', async () => {
    for (const f of ['chromium-allowed-run1.pcap', 'firefox-listed-run2.pcap']) {
      const r = await replay(join(fixtures, f), { blocklist: ['listed.example'], quic: 'hold' });
      expectOneVerdict(r, nameOf(f), f.includes('-listed-'), 'hold');
    }
  });

  it('every order of the datagrams gives the same verdict, once', async () => {
    for (const f of ['chromium-listed-run1.pcap', 'chromium-allowed-run2.pcap', 'firefox-listed-run2.pcap', 'firefox-long-run2.pcap']) {
      const dg = readPcap(join(fixtures, f));
      const orders = [dg.slice().reverse(), [dg[1], dg[0], ...dg.slice(2)], ...[1, 2, 3, 4, 5].map((s) => shuffle(dg, s * 7919))];
      for (const o of orders) {
        const r = await run(o);
        expectOneVerdict(r, nameOf(f), f.includes('-listed-'));
      }
    }
  });
});

// ---------------------------------------------------------------- synthetic
const SRC = '10.9.0.1';
function initial(name: string, o: { dcid?: Buffer; pn?: number; version?: number; keysDcid?: Buffer; hello?: Buffer; off?: number } = {}): Buffer {
  const hello = o.hello ?? clientHello(name).subarray(5);
  return encodeInitial({
    version: o.version, dcid: o.dcid ?? Buffer.from('0102030405060708', 'hex'), pn: o.pn ?? 0,
    payload: cryptoFrame(o.off ?? 0, hello), padTo: 1250, keysDcid: o.keysDcid,
  });
}
const udp = (payload: Buffer, sport = 40000, extra: { src?: string; dst?: string; dport?: number; srcMac?: string; v6?: boolean } = {}) =>
  udpFrame({ src: extra.src ?? SRC, dst: extra.dst, sport, dport: extra.dport ?? 443, payload, srcMac: extra.srcMac, v6: extra.v6 });
/** a short-header (1-RTT) packet: no DCID length, nothing to read */
const shortHdr = () => Buffer.concat([Buffer.from([0x43]), randomBytes(40)]);

describe('QUIC=filter: what the program copies and what it leaves alone', () => {
  it('non-Initial UDP, other ports, small datagrams: untouched, not copied', async () => {
    const r = await run([
      udp(shortHdr(), 40001),                                   // a short header, no flow
      udp(initial('listed.example'), 40002, { dport: 8443 }),   // an unwatched port
      udp(Buffer.from('dns-ish'), 40003, { dport: 53 }),
      udp(initial('listed.example').subarray(0, 1100), 40004),  // under 1200 bytes
    ]);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'PASS']);
    expect(r.quic_counters!.quic_copied).toBe(0);
    expect(r.quic_counters!.quic_short).toBe(1);
    expect(r.packets.some((p) => p.event)).toBe(false);
  });

  it('IPv6 and QUIC v2 are judged too', async () => {
    const r = await run([udp(initial('listed.example'), 40010, { v6: true }), udp(ping(), 40010, { v6: true })]);
    expectOneVerdict(r, 'listed.example', true);
    const r2 = await run([udp(initial('listed.example', { version: V2 }), 40011), udp(shortHdr(), 40011)]);
    expectOneVerdict(r2, 'listed.example', true);
  });

  it('caps the copies at 4 a flow; an undecided flow\'s other packets wait (dropped)', async () => {
    // pieces from offset 100: the ClientHello never starts, no verdict
    const hello = clientHello('listed.example').subarray(5);
    const frames = [...Array(10).keys()].map((i) => udp(initial('', { pn: i, hello: hello.subarray(100, 150), off: 100 }), 40020));
    const r = await run([...frames, udp(shortHdr(), 40020)]);
    expect(r.quic_counters!.quic_initials).toBe(10);
    expect(r.quic_counters!.quic_copied).toBe(4);
    expect(r.quic_counters!.quic_capped).toBe(6);
    expect(r.packets.slice(0, 10).every((p) => p.verdict === 'PASS')).toBe(true);
    expect(r.packets[10].verdict).toBe('DROP');
    expect(r.quic_counters!.quic_held).toBe(1);
    expect(r.packets.some((p) => p.event)).toBe(false);
  });

  it('a blocked flow drops every packet of its 4-tuple; other flows pass', async () => {
    const r = await run([
      udp(initial('listed.example'), 40030), udp(initial('allowed.example', { dcid: Buffer.from('aabbccdd', 'hex') }), 40031),
      udp(shortHdr(), 40030), udp(shortHdr(), 40031), udp(initial('listed.example', { pn: 1 }), 40030),
      udp(shortHdr(), 40032), // no flow: untouched
    ]);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'DROP', 'PASS', 'DROP', 'PASS']);
    expect(r.packets.filter((p) => p.event).map((p) => `${p.sni} ${p.event!.verdict}`)).toEqual(['listed.example block', 'allowed.example pass']);
  });

  it('malformed, truncated, undecryptable Initials: counted, never a verdict; the flow can still be decided', async () => {
    const good = initial('listed.example');
    const flipped = Buffer.from(good);
    for (let i = 60; i < 80; i++) flipped[i] ^= 0x5a;                          // damaged ciphertext
    const wrongKeys = initial('listed.example', { keysDcid: Buffer.from('ffffffffffffffff', 'hex') });
    const truncated = Buffer.concat([good.subarray(0, 1210)]);                  // cut short, >= 1200
    const garbage = Buffer.concat([Buffer.from([0xc0, 0, 0, 0, 1, 0x50]), randomBytes(1244)]); // a DCID length of 80
    const zeroLen = Buffer.concat([Buffer.from([0xc0, 0, 0, 0, 1, 0, 0]), Buffer.alloc(1243)]);
    const bad = [flipped, wrongKeys, truncated, garbage, zeroLen];
    const r = await run([...bad.map((b, i) => udp(b, 40040 + i)), ...bad.map((b, i) => udp(shortHdr(), 40040 + i))]);
    expect(r.packets.some((p) => p.event)).toBe(false);
    expect(r.packets.slice(0, 5).every((p) => p.verdict === 'PASS')).toBe(true);
    // no verdict: their flows stay undecided (their other packets wait)
    expect(r.packets.slice(5).every((p) => p.verdict === 'DROP')).toBe(true);
    expect(r.quic_stats!.undecryptable + r.quic_stats!.bad_header).toBe(5);
    expect(r.quic_stats!.blocked + r.quic_stats!.passed).toBe(0);
    // a bad copy first, then the good Initial: decided
    const r2 = await run([udp(flipped, 40050), udp(good, 40050), udp(shortHdr(), 40050)]);
    expect(r2.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'DROP']);
    expect(r2.packets[1].event?.verdict).toBe('block');
  });

  it('a decrypted ClientHello without a name follows UNREADABLE, like a TLS one', async () => {
    const noSni = clientHello('', { noSni: true }).subarray(5);
    const blockR = await run([udp(initial('', { hello: noSni }), 40060), udp(shortHdr(), 40060)]);
    expect(blockR.packets[0].event?.verdict).toBe('unreadable-block');
    expect(blockR.packets[1].verdict).toBe('DROP');
    const passR = await run([udp(initial('', { hello: noSni }), 40061), udp(shortHdr(), 40061)], { unreadable: 'pass' });
    expect(passR.packets[0].event?.verdict).toBe('unreadable-pass');
    expect(passR.packets[1].verdict).toBe('PASS');
  });
});

// ---------------------------------------------------------------- differential
describe('QUIC=filter: the daemon judges a name as the program does (differential)', () => {
  it('same name, same client: the same verdict, categories and group through both doors', async () => {
    const b = await mountBpffs();
    const env = toolEnv(b);
    const t = async (...a: string[]) => {
      const r = await runTool(a, env);
      expect(r.code, `${a.join(' ')}: ${r.stderr}`).toBe(0);
    };
    try {
      await t('init');
      await t('category', 'add', 'ads');
      await t('category', 'add', 'social');
      await t('add', 'listed.example');
      await t('add', 'tracker.example', '--subdomains', '--category', 'ads');
      await t('add', 'social.example', '--category', 'social');
      await t('add', 'deep.sub.example', '--subdomains', '--category', 'social');
      await t('group', 'add', 'kids');
      await t('group', 'block', 'kids', 'blocklist,social');
      await t('group', 'add', 'strict');
      await t('group', 'mode', 'strict', 'allow-only');
      await t('group', 'allow', 'strict', 'ads');
      await t('client', 'add', 'kids', '10.9.1.0/24');
      await t('client', 'add', 'strict', '02:00:00:00:00:77');
      await t('client', 'add', 'kids', 'fd00:1::/64');
      const names = ['listed.example', 'LISTED.Example', 'listed.example.', 'x.listed.example', 'a.b.tracker.example', 'tracker.example',
        'social.example', 'www.social.example', 'deep.sub.example', 'q.deep.sub.example', 'sub.example', 'unlisted.example'];
      const clients = [
        { src: '10.9.0.1' }, { src: '10.9.1.7' }, { src: '10.9.2.1', srcMac: '02:00:00:00:00:77' }, { src: 'fd00:1::5', v6: true }, { src: 'fd00:2::5', v6: true },
      ];
      const frames: Buffer[] = [];
      const cases: string[] = [];
      let port = 20000;
      for (const c of clients) {
        for (const name of names) {
          cases.push(`${c.src} ${name}`);
          frames.push(tcpFrame({ src: c.src, v6: c.v6, srcMac: c.srcMac, sport: port++, seq: 1, payload: clientHello(name) }));
          frames.push(udp(initial(name, { dcid: randomBytes(8) }), port++, c));
        }
      }
      const p = join(dir, 'diff.pcap');
      writePcap(p, frames);
      for (const o of [{}, { mode: 'monitor' as const }, { exempt: '10.9.1.0/24' }]) {
        const r = await replay(p, { quic: 'filter', env, ...o });
        const seen = { block: 0, pass: 0 };
        for (let i = 0; i < cases.length; i++) {
          const tls = r.packets[2 * i].event, quic = r.packets[2 * i + 1].event;
          expect(tls, cases[i]).toBeDefined();
          expect(quic, cases[i]).toBeDefined();
          expect(quic!.door).toBe('quic');
          expect({ case: cases[i], v: quic!.verdict, cats: quic!.cats, group: quic!.group })
            .toEqual({ case: cases[i], v: tls!.verdict, cats: tls!.cats, group: tls!.group });
          expect(r.packets[2 * i + 1].sni).toBe(r.packets[2 * i].sni!.toLowerCase().replace(/\.$/, ''));
          if (tls!.verdict === 'block') seen.block++;
          else seen.pass++;
        }
        if (!('mode' in o)) expect(seen.block).toBeGreaterThan(10); // the policy does something
      }
    } finally {
      await b.cleanup();
    }
  });
});

// ---------------------------------------------------------------- the daemon
describe('QUIC=filter: the daemon (ring, decode, verdict map) on the pinned maps', () => {
  it('decides each flow from the program\'s copies, in any order; its verdicts are enforced', async () => {
    const b = await mountBpffs();
    const env = toolEnv(b);
    const sock = join(b.dir, 'ctl.sock');
    await runTool(['init'], env);
    await runTool(['add', 'listed.example'], env);
    await runTool(['log', 'all'], env);
    const d = execa(tool, ['daemon', '--socket', sock, '--syslog-socket', join(b.dir, 'nolog')], { env: { ...process.env, ...env }, reject: false });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      const flows: { f: string; frames: Buffer[] }[] = [];
      let s = 0;
      for (const f of ['chromium-listed-run1.pcap', 'firefox-listed-run2.pcap', 'chromium-allowed-run1.pcap', 'firefox-long-run1.pcap']) {
        const dg = readPcap(join(fixtures, f));
        flows.push({ f, frames: dg }, { f, frames: dg.slice().reverse() }, { f, frames: shuffle(dg, ++s) });
      }
      // each order a 4-tuple of its own: the source port's bytes of the
      // Ethernet/IPv4/UDP frame (offset 34)
      const relabel = (fr: Buffer, port: number) => {
        const c = Buffer.from(fr);
        c.writeUInt16BE(port, 34);
        c.writeUInt16BE(0, 40); // no UDP checksum
        return c;
      };
      const all = flows.map((fl, i) => ({ ...fl, frames: fl.frames.map((fr) => relabel(fr, 30000 + i)) }));
      // every datagram through the program on the pinned maps; the daemon
      // reads the copies and writes the verdicts
      const first = join(b.dir, 'first.pcap');
      writePcap(first, all.flatMap((fl) => fl.frames));
      await replay(first, { quic: 'daemon', env });
      await new Promise((r) => setTimeout(r, 500));
      // then each flow's next packets meet its verdict
      const next = join(b.dir, 'next.pcap');
      writePcap(next, all.flatMap((fl, i) => [udp(shortHdr(), 30000 + i, { src: '10.203.0.1', dst: '10.203.0.2' }), fl.frames[0]]));
      const r = await replay(next, { quic: 'daemon', env });
      all.forEach((fl, i) => {
        const want = fl.f.includes('listed') ? 'DROP' : 'PASS';
        expect([r.packets[2 * i].verdict, r.packets[2 * i + 1].verdict], fl.f).toEqual([want, want]);
      });
      // the history keeps each event's door (the web UI's log shows it): 12 quic events, nothing else
      let hist: string[][] = [];
      for (let i = 0; i < 30 && hist.length < 12; i++) {
        await new Promise((res) => setTimeout(res, 200));
        hist = String((await execa(tool, ['history', 'events', '--limit', '100'], { env: { ...process.env, ...env } })).stdout).split('\n').filter(Boolean).map((l) => l.split('\t'));
      }
      expect(hist.map((e) => e[7])).toEqual(Array(12).fill('quic'));
    } finally {
      d.kill('SIGTERM');
      const out = await d;
      await b.cleanup();
      const lines = String(out.stdout).split('\n').filter((l) => l.includes('door=quic'));
      // one line per flow (connection attempt), each with its real name
      expect(lines.length, String(out.stdout)).toBe(12);
      expect(lines.filter((l) => l.includes('sni=listed.example verdict=block')).length).toBe(6);
      expect(lines.filter((l) => l.includes('sni=allowed.example verdict=pass')).length).toBe(3);
      const waits = lines.map((l) => Number(/wait_us=(\d+)/.exec(l)![1])).sort((a, c) => a - c);
      console.log(`daemon first Initial -> verdict (replay-driven, µs): min ${waits[0]} median ${waits[waits.length >> 1]} max ${waits[waits.length - 1]}`);
    }
  });
});
