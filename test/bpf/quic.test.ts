// The user-space QUIC Initial decoder (bpf/cli/quic.c, `xdp-sni
// quic-decode`): the RFC 9001 A.2 test vector, the browser captures of
// test/fixtures/quic/, every split and order of the CRYPTO data re-encrypted
// by the reference encoder (quic/reference.ts), each malformed case with its
// result code, and a differential fuzz against the reference decoder.
// No root needed: pcaps in, lines out.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildBpf, runTool, readPcap, writePcap, udpFrame, tempDir, rmrf, repoRoot, clientHello, sniExt, ext } from './lib.js';
import {
  V1, V2, clientKeys, hpMask, encodeInitial, cryptoFrame, padding, ping, ackFrame, closeFrame, varint,
  cryptoStream, refFlowResult, RefFlow, type Result,
} from './quic/reference.js';
import { makeCase, expectations } from './quic/fuzz.js';

const fx = join(repoRoot, 'test', 'fixtures', 'quic');
let dir: string;
let driver: string;
beforeAll(async () => {
  await buildBpf();
  dir = tempDir('xsni-quic-');
  driver = join(dir, 'quic-driver');
  const cli = join(repoRoot, 'bpf', 'cli');
  await execa('gcc', ['-O1', '-g', '-Wall', '-Wextra', '-Werror', '-I', join(repoRoot, 'bpf'), '-I', cli, '-o', driver,
    join(repoRoot, 'test', 'unit', 'c', 'quic_driver.c'), join(cli, 'quic_crypto.c'), '-lcrypto']);
});
afterAll(() => rmrf(dir));

interface Flow {
  src: string;
  sport: number;
  dcid: string | null;
  version: number;
  result: Result;
  sni: string | null;
  initials: number;
  datagrams: number;
  unusable: number;
  ech: boolean;
  alpn: string;
  reason: string | null;
}
interface Decoded {
  datagrams: number;
  skipped: number;
  flows: Flow[];
  timing?: { rounds: number; initials: number; ns_per_initial: { median: number; min: number; max: number } };
}

let pcapN = 0;
async function decode(frames: Buffer[] | string, extra: string[] = []): Promise<Decoded> {
  let file = frames as string;
  if (typeof frames !== 'string') {
    file = join(dir, `t${pcapN++}.pcap`);
    writePcap(file, frames);
  }
  const r = await runTool(['quic-decode', file, '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Decoded;
}

/** the RFC 9001 A.2 vector file: "name = hex" entries, hex over several lines */
function vector(): Record<string, Buffer> {
  const out: Record<string, string> = {};
  let cur = '';
  for (const line of readFileSync(join(fx, 'rfc9001-a2.txt'), 'utf8').split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-z_0-9]+)\s*=\s*(.*)$/.exec(line);
    if (m) {
      cur = m[1];
      out[cur] = m[2];
    } else if (cur) out[cur] += line;
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Buffer.from(v.replace(/\s+/g, ''), 'hex')]));
}

/** UDP payloads to port 443 of an Ethernet/IPv4 pcap, with their source port */
function udpPayloads(file: string): { sport: number; payload: Buffer }[] {
  const out: { sport: number; payload: Buffer }[] = [];
  for (const f of readPcap(file)) {
    if (f.readUInt16BE(12) !== 0x0800 || f[23] !== 17) continue;
    const l4 = 14 + (f[14] & 15) * 4;
    if (f.readUInt16BE(l4 + 2) !== 443) continue;
    out.push({ sport: f.readUInt16BE(l4), payload: f.subarray(l4 + 8, l4 + f.readUInt16BE(l4 + 4)) });
  }
  return out;
}

/** the fixtures as INDEX.md lists them */
function fixtures(): { file: string; browser: string; sni: string; flows: number }[] {
  const rows = readFileSync(join(fx, 'INDEX.md'), 'utf8').split('\n').filter((l) => /^\| [a-z]+-.*\.pcap \|/.test(l));
  return rows.map((l) => {
    const c = l.split('|').map((s) => s.trim());
    return { file: c[1], browser: c[2], sni: c[5], flows: Number(c[6]) };
  });
}

const udp = (sport: number, payload: Buffer) => udpFrame({ sport, dport: 443, payload });
const DCID = Buffer.from('0011223344556677', 'hex');
/** a ClientHello handshake message (no record header) */
const hs = (name = 'listed.example', o: Parameters<typeof clientHello>[1] = {}) => clientHello(name, o).subarray(5);
const initial = (payload: Buffer, o: Partial<Parameters<typeof encodeInitial>[0]> = {}) =>
  encodeInitial({ dcid: DCID, pn: 0, payload, padTo: 1200, ...o });

describe('RFC 9001 Appendix A.2 (client Initial)', () => {
  const v = vector();
  it('the reference derives the keys and builds the very packet of the RFC', () => {
    const k = clientKeys(V1, v.dcid);
    expect(k.initialSecret.toString('hex')).toBe(v.initial_secret.toString('hex'));
    expect(k.secret.toString('hex')).toBe(v.client_initial_secret.toString('hex'));
    expect([k.key, k.iv, k.hp].map((b) => b.toString('hex'))).toEqual([v.key, v.iv, v.hp].map((b) => b.toString('hex')));
    expect(hpMask(k.hp, v.sample).toString('hex')).toBe(v.mask.toString('hex'));
    const payload = Buffer.concat([v.crypto_frame, padding(1162 - v.crypto_frame.length)]);
    const pkt = encodeInitial({ version: V1, dcid: v.dcid, pn: 2, pnLen: 4, payload });
    expect(pkt.toString('hex')).toBe(v.protected_packet.toString('hex'));
  });

  it('the C module derives the same keys and mask (test/unit/c/quic_driver.c)', async () => {
    const r = await execa(driver, ['keys', '1', v.dcid.toString('hex')]);
    expect(String(r.stdout).split('\n')).toEqual([
      `secret ${v.client_initial_secret.toString('hex')}`, `key ${v.key.toString('hex')}`,
      `iv ${v.iv.toString('hex')}`, `hp ${v.hp.toString('hex')}`,
    ]);
    const m = await execa(driver, ['mask', '1', v.dcid.toString('hex'), v.sample.toString('hex')]);
    expect(String(m.stdout)).toBe(`mask ${v.mask.toString('hex')}`);
  });

  it('quic-decode reads example.com from the protected packet', async () => {
    const d = await decode([udp(50000, v.protected_packet)]);
    expect(d.flows).toHaveLength(1);
    expect(d.flows[0]).toMatchObject({ dcid: '8394c8f03e515708', version: 1, result: 'OK', sni: 'example.com', initials: 1, ech: false, alpn: 'alpn' });
  });
});

describe('browser captures (test/fixtures/quic)', () => {
  const list = fixtures();
  it('INDEX.md lists every capture of the folder, both browsers', () => {
    const files = readdirSync(fx).filter((f) => f.endsWith('.pcap')).sort();
    expect(list.map((f) => f.file).sort()).toEqual(files);
    expect(new Set(list.map((f) => f.browser))).toEqual(new Set(['chromium', 'firefox']));
  });

  for (const f of list) {
    it(`${f.file}: ${f.sni} in every flow, the same as the reference`, async () => {
      const d = await decode(join(fx, f.file));
      expect(d.flows).toHaveLength(f.flows);
      const payloads = udpPayloads(join(fx, f.file));
      for (const fl of d.flows) {
        expect(fl, JSON.stringify(fl)).toMatchObject({ result: 'OK', sni: f.sni, version: 1, ech: true, alpn: 'h3' });
        // the ClientHello spans two Initials in both browsers
        expect(fl.initials).toBe(2);
        const ref = refFlowResult(payloads.filter((p) => p.sport === fl.sport).map((p) => p.payload));
        expect({ result: ref.result, name: ref.name, initials: ref.initials }).toEqual({ result: fl.result, name: fl.sni, initials: fl.initials });
      }
    });
  }

  it('Chromium sends its CRYPTO frames out of order; Firefox carries an ML-KEM key share', () => {
    const first = (file: string) => {
      const ps = udpPayloads(join(fx, file));
      const f = new RefFlow();
      for (const p of ps.filter((x) => x.sport === ps[0].sport)) f.feed(p.payload);
      return f;
    };
    const c = first(list.find((f) => f.browser === 'chromium')!.file);
    expect(c.cryptoLog.some(([off], i) => i > 0 && off < c.cryptoLog[i - 1][0])).toBe(true);
    const ff = first(list.find((f) => f.browser === 'firefox')!.file);
    const hello = ff.buf.subarray(0, ff.helloLen);
    expect(hello.includes(Buffer.from([0x11, 0xec]))).toBe(true); // X25519MLKEM768 (0x11ec)
  });
});

/** every permutation of [0..n) */
function perms(n: number): number[][] {
  if (n === 1) return [[0]];
  return perms(n - 1).flatMap((p) => Array.from({ length: n }, (_v, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

describe('every split and order of the CRYPTO data', () => {
  it('1..4 pieces in every order, with retransmissions, overlaps, two frames a packet and coalesced packets', async () => {
    const v = vector();
    const hellos: [string, Buffer][] = [
      ['example.com', cryptoStream([v.protected_packet])],
      ...['chromium', 'firefox'].map((b) => {
        const f = fixtures().find((x) => x.browser === b)!;
        const ps = udpPayloads(join(fx, f.file));
        return [f.sni, cryptoStream(ps.filter((p) => p.sport === ps[0].sport).map((p) => p.payload))] as [string, Buffer];
      }),
    ];
    const frames: Buffer[] = [];
    const want = new Map<number, { name: string; initials: number }>();
    let sport = 2000;
    for (const [name, hello] of hellos) {
      for (let n = 1; n <= 4; n++) {
        const cut = (i: number) => Math.floor((hello.length * i) / n);
        for (const order of perms(n)) {
          for (const variant of ['plain', 'retransmit', 'overlap', 'two-a-packet', 'coalesced']) {
            let ps: [number, number][] = order.map((i) => [cut(i), cut(i + 1)]);
            if (variant === 'overlap') ps = ps.map(([a, b]) => [Math.max(0, a - 37), Math.min(hello.length, b + 11)]);
            if (variant === 'retransmit') ps = [...ps, ...ps];
            const packets: Buffer[][] = variant === 'two-a-packet'
              ? ps.reduce<Buffer[][]>((acc, p, i) => (i % 2 ? acc[acc.length - 1].push(cryptoFrame(p[0], hello.subarray(p[0], p[1]))) : acc.push([cryptoFrame(p[0], hello.subarray(p[0], p[1]))]), acc), [])
              : ps.map(([a, b]) => [cryptoFrame(a, hello.subarray(a, b))]);
            const dcid = Buffer.from([sport >> 8, sport & 255, 1, 2, 3, 4, 5, 6]);
            let dgs = packets.map((fr, pn) => encodeInitial({ dcid, pn, payload: Buffer.concat(fr), padTo: variant === 'coalesced' ? 0 : 1200 }));
            if (variant === 'coalesced') dgs = [Buffer.concat([...dgs, Buffer.alloc(Math.max(0, 1200 - dgs.reduce((s, d) => s + d.length, 0)))])];
            // the decoder stops at the ClientHello's end: later Initials are not decrypted
            const ref = refFlowResult(dgs);
            expect(ref.result).toBe('OK');
            for (const d of dgs) frames.push(udp(sport, d));
            want.set(sport, { name, initials: ref.initials });
            sport++;
          }
        }
      }
    }
    const d = await decode(frames);
    expect(d.flows).toHaveLength(want.size);
    for (const fl of d.flows) {
      expect({ sport: fl.sport, result: fl.result, sni: fl.sni, initials: fl.initials })
        .toEqual({ sport: fl.sport, result: 'OK', sni: want.get(fl.sport)!.name, initials: want.get(fl.sport)!.initials });
    }
  });
});

describe('malformed, truncated and unusual Initials', () => {
  const h = hs();
  const half = Math.floor(h.length / 2);
  const long = 'a'.repeat(63) + '.' + 'b'.repeat(63) + '.' + 'c'.repeat(63) + '.' + 'd'.repeat(62);
  const cases: [string, Buffer[], Result, string?][] = [
    ['whole hello in one Initial', [initial(cryptoFrame(0, h))], 'OK', 'listed.example'],
    ['QUIC v2 (RFC 9369)', [initial(cryptoFrame(0, h), { version: V2 })], 'OK', 'listed.example'],
    ['PING, ACK (with ECN) and CONNECTION_CLOSE around the CRYPTO frame',
      [initial(Buffer.concat([ping(), ackFrame(3, [[1, 0]], true), cryptoFrame(0, h), closeFrame(0, 'x')]))], 'OK', 'listed.example'],
    ['a 1-byte packet number and a token', [initial(cryptoFrame(0, h), { pnLen: 1, token: Buffer.alloc(40, 9) })], 'OK', 'listed.example'],
    ['name in upper case with a trailing dot', [initial(cryptoFrame(0, hs('WWW.Listed.Example.')))], 'OK', 'www.listed.example'],
    ['an Initial coalesced with a 0-RTT packet', [Buffer.concat([initial(cryptoFrame(0, h), { padTo: 0 }), Buffer.from([0xd0, 0, 0, 0, 1]), Buffer.alloc(1200, 0)])], 'OK', 'listed.example'],
    ['half of the hello', [initial(cryptoFrame(0, h.subarray(0, half)))], 'NEED_MORE'],
    ['the second half only', [initial(cryptoFrame(half, h.subarray(half)))], 'NEED_MORE'],
    ['no server_name', [initial(cryptoFrame(0, hs('x', { noSni: true })))], 'NO_SNI'],
    ['a short header', [Buffer.concat([Buffer.from([0x40]), Buffer.alloc(1199, 1)])], 'NOT_INITIAL'],
    ['a Handshake packet', [(() => { const p = initial(cryptoFrame(0, h)); p[0] = (p[0] & 0xcf) | 0x20; return p; })()], 'NOT_INITIAL'],
    ['a v1 Initial type in a v2 packet', [(() => { const p = initial(cryptoFrame(0, h)); p.writeUInt32BE(V2, 1); return p; })()], 'NOT_INITIAL'],
    ['draft-29 version', [(() => { const p = initial(cryptoFrame(0, h)); p.writeUInt32BE(0xff00001d, 1); return p; })()], 'UNSUPPORTED_VERSION'],
    ['keys of another DCID', [initial(cryptoFrame(0, h), { keysDcid: Buffer.from('0102030405060708', 'hex') })], 'UNDECRYPTABLE'],
    ['a flipped ciphertext byte', [(() => { const p = initial(cryptoFrame(0, h)); p[100] ^= 4; return p; })()], 'UNDECRYPTABLE'],
    ['no header protection', [initial(cryptoFrame(0, h), { noHp: true })], 'UNDECRYPTABLE'],
    ['DCID length 21', [(() => { const p = initial(cryptoFrame(0, h)); p[5] = 21; return p; })()], 'MALFORMED'],
    ['Length past the datagram', [(() => { const p = initial(cryptoFrame(0, h)); return p.subarray(0, p.length - 1); })()], 'MALFORMED'],
    ['token length past the datagram', [(() => { const p = initial(cryptoFrame(0, h)); p[6 + 8 + 1] = 0x7f; p[6 + 8 + 2] = 0xff; return p; })()], 'MALFORMED'],
    ['a datagram under 1200 bytes', [initial(cryptoFrame(0, h), { padTo: 0 })], 'MALFORMED'],
    ['an empty datagram', [Buffer.alloc(0)], 'MALFORMED'],
    ['a STREAM frame', [initial(Buffer.concat([cryptoFrame(0, h), Buffer.from([0x08, 0, 1, 0x61])]))], 'MALFORMED'],
    ['a frame type in two bytes', [initial(Buffer.concat([Buffer.from([0x40, 0x06]), varint(0), varint(h.length), h]))], 'MALFORMED'],
    ['a packet without frames', [Buffer.concat([initial(Buffer.alloc(0), { padTo: 0 }), Buffer.alloc(1200)])], 'MALFORMED'],
    ['reserved bits set', [initial(cryptoFrame(0, h), { reserved: 1 })], 'MALFORMED'],
    ['a retransmission that differs', [initial(Buffer.concat([cryptoFrame(0, h.subarray(0, half)), cryptoFrame(10, Buffer.from('zzzz'))]))], 'MALFORMED'],
    ['CRYPTO at offset 16380, 8 bytes', [initial(Buffer.concat([cryptoFrame(0, h.subarray(0, 10)), cryptoFrame(16380, Buffer.alloc(8))]))], 'MALFORMED'],
    ['CRYPTO at offset 2^62-2, 5 bytes', [initial(Buffer.concat([Buffer.from([0x06]), varint(2n ** 62n - 2n), varint(5), Buffer.alloc(5)]))], 'MALFORMED'],
    ['a CRYPTO length past the packet', [initial(Buffer.concat([Buffer.from([0x06, 0x00, 0x7f, 0xff]), h]), { padTo: 0 }).subarray(0)].map((p) => Buffer.concat([p, Buffer.alloc(1200)])), 'MALFORMED'],
    ['an ACK range count past the packet', [initial(Buffer.concat([cryptoFrame(0, h), Buffer.from([0x02, 0, 0, 0x7f, 0xff, 0])]), { padTo: 0 })].map((p) => Buffer.concat([p, Buffer.alloc(1200)])), 'MALFORMED'],
    ['data past the ClientHello', [initial(Buffer.concat([cryptoFrame(0, h), cryptoFrame(h.length, Buffer.from('x'))]))], 'MALFORMED'],
    ['a ServerHello, not a ClientHello', [initial(cryptoFrame(0, Buffer.concat([Buffer.from([2]), h.subarray(1)])))], 'MALFORMED'],
    ['a ClientHello over 16 KiB', [initial(cryptoFrame(0, Buffer.from([1, 0, 0x50, 0])))], 'MALFORMED'],
    ['a host_name over 253 bytes', [initial(cryptoFrame(0, hs(long + '.e')))], 'MALFORMED'],
    ['a host_name of 253 bytes', [initial(cryptoFrame(0, hs(long.slice(0, 251) + '.e')))], 'OK', long.slice(0, 251) + '.e'],
    ['two server_name extensions', [initial(cryptoFrame(0, hs('a.example', { after: [sniExt('b.example')] })))], 'MALFORMED'],
    ['extensions past the message', [initial(cryptoFrame(0, hs('a.example', { extsLen: 2000 })))], 'MALFORMED'],
    ['after the name, damaged retransmissions are not even decrypted',
      [initial(cryptoFrame(0, h)), (() => { const p = initial(cryptoFrame(0, h), { pn: 1 }); p[300] ^= 1; return p; })()], 'OK', 'listed.example'],
    ['an undecryptable datagram before the hello changes nothing',
      [initial(cryptoFrame(0, h), { keysDcid: Buffer.alloc(8, 1) }), initial(cryptoFrame(0, h), { pn: 1 })], 'OK', 'listed.example'],
    ['the ALPN and ECH extensions', [initial(cryptoFrame(0, hs('e.example', { after: [ext(0x10, Buffer.from([0, 9, 2, 0x68, 0x33, 5, 0x68, 0x33, 0x2d, 0x32, 0x39])), ext(0xfe0d, Buffer.alloc(90, 1))] })))], 'OK', 'e.example'],
  ];

  it('each case gets its result code, the same as the reference', async () => {
    const frames: Buffer[] = [];
    cases.forEach(([, dgs], i) => dgs.forEach((d) => frames.push(udp(3000 + i, d))));
    const d = await decode(frames);
    cases.forEach(([what, dgs, want, name], i) => {
      const fl = d.flows.filter((f) => f.sport === 3000 + i);
      expect(fl, what).toHaveLength(1);
      expect({ what, result: fl[0].result, sni: fl[0].sni }).toEqual({ what, result: want, sni: name ?? null });
      const ref = refFlowResult(dgs);
      expect({ what, ref: ref.result }).toEqual({ what, ref: want });
      if (fl[0].result !== 'OK' && fl[0].result !== 'NEED_MORE' && fl[0].result !== 'NO_SNI') expect(fl[0].reason, what).toBeTruthy();
    });
    const alpn = d.flows.find((f) => f.sni === 'e.example')!;
    expect(alpn).toMatchObject({ alpn: 'h3,h3-29', ech: true });
  });

  it('a capture that is not a pcap, or not Ethernet, is refused with a message', async () => {
    const bad = join(dir, 'bad.pcap');
    await execa('sh', ['-c', `printf 'not a pcap at all' > ${bad}`]);
    const r = await runTool(['quic-decode', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a (classic )?pcap/);
    expect((await runTool(['quic-decode'])).code).toBe(2);
  });
});

describe('differential fuzz against the reference decoder', () => {
  const seed = Number(process.env.QUIC_FUZZ_SEED ?? 20261130);
  const count = Number(process.env.QUIC_FUZZ_CASES ?? 3000);
  const budgetMs = Number(process.env.QUIC_FUZZ_MS ?? 20_000);

  it(`seed ${seed}: ${count} cases (at most ${budgetMs / 1000} s of generation), truncations at every length`, async () => {
    const v = vector();
    const hellos = [cryptoStream([v.protected_packet]), ...fixtures().filter((_f, i) => i % 3 === 0).map((f) => {
      const ps = udpPayloads(join(fx, f.file));
      return cryptoStream(ps.filter((p) => p.sport === ps[0].sport).map((p) => p.payload));
    })];
    const t0 = Date.now();
    const cases = [];
    for (let i = 0; i < count && Date.now() - t0 < budgetMs; i++) cases.push(makeCase(seed, i, hellos));
    // one real Initial truncated at every length, each its own flow
    const real = v.protected_packet;
    for (let l = 0; l < real.length; l++) cases.push({ sport: 40000 + l, kind: 'truncate-every', datagrams: [real.subarray(0, l)] });
    const { frames, expect: want } = expectations(cases);
    const d = await decode(frames);
    const got = new Map(d.flows.map((f) => [`${f.sport}/${f.dcid}`, f]));
    const stats = new Map<string, number>();
    let names = 0, mismatches = 0;
    const bad: string[] = [];
    for (const w of want) {
      const f = got.get(`${w.sport}/${w.dcid}`);
      expect(f, `flow ${w.sport}/${w.dcid} missing`).toBeDefined();
      stats.set(f!.result, (stats.get(f!.result) ?? 0) + 1);
      if (f!.sni !== null) names++;
      // never a name the reference does not read
      if (f!.sni !== null && f!.sni !== w.name) bad.push(`${w.sport}: C ${f!.sni}, reference ${w.name}`);
      if (f!.result !== w.result || (f!.sni ?? undefined) !== w.name) {
        mismatches++;
        if (bad.length < 10) bad.push(`${w.sport}/${w.dcid} (${cases.find((c) => c.sport === w.sport)?.kind}): C ${f!.result} ${f!.sni} ${f!.reason}, reference ${w.result} ${w.name}`);
      }
    }
    expect(d.flows.length).toBe(want.length);
    console.log(`quic fuzz seed ${seed}: ${cases.length} cases, ${want.length} flows, ${names} names; results ${JSON.stringify(Object.fromEntries(stats))}; ${mismatches} mismatches`);
    expect(bad).toEqual([]);
    expect(mismatches).toBe(0);
    expect(stats.get('MALFORMED') ?? 0).toBeGreaterThan(100);
    expect(names).toBeGreaterThan(100);
  });
});

describe('cost', () => {
  it('--repeat prints the ns per Initial decrypted (key derivation included)', async () => {
    const f = fixtures()[0];
    const d = await decode(join(fx, f.file), ['--repeat', '200']);
    expect(d.timing!.rounds).toBe(200);
    expect(d.timing!.initials).toBe(2 * f.flows);
    expect(d.timing!.ns_per_initial.min).toBeGreaterThan(0);
    console.log(`quic-decode cost, ${f.file}: ${JSON.stringify(d.timing)}`);
  });
});
