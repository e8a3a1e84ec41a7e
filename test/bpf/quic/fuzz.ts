// The differential fuzz of the QUIC Initial decoder: flows of client
// Initials built by the reference encoder from real and synthetic
// ClientHellos, cut into CRYPTO pieces, then damaged. Each case is one flow
// (its own source port); the reference decoder (reference.ts) says what each
// flow must give, and `xdp-sni quic-decode --json` must give the same.
// Reproducible by seed (a case depends only on the seed and its index).
import { clientHello, ext, prng, udpFrame } from '../lib.js';
import { cryptoFrame, ackFrame, closeFrame, encodeInitial, ping, varint, V1, V2, dcidKey, refFlowResult, type Result } from './reference.js';

export interface Case {
  sport: number;
  kind: string;
  datagrams: Buffer[];
}

export interface Expect {
  sport: number;
  dcid: string | null;
  result: Result;
  name?: string;
  initials: number;
}

/** Mutations, each applied to a share of the cases. */
const KINDS = [
  'clean', 'truncate', 'flip-header', 'flip-length', 'flip-token', 'flip-any', 'wrong-dcid', 'bad-varint-frame',
  'huge-offset', 'bad-frame', 'overlap-differs', 'hello-damaged', 'short-datagram', 'v2', 'extra-frames',
] as const;

const pick = <T>(r: () => number, v: readonly T[]): T => v[Math.floor(r() * v.length)];
const int = (r: () => number, n: number) => Math.floor(r() * n);

function randName(r: () => number): string {
  const labels = 1 + int(r, 4);
  const parts: string[] = [];
  for (let i = 0; i < labels; i++) {
    let s = '';
    const n = 1 + int(r, 12);
    for (let j = 0; j < n; j++) s += pick(r, 'abcdefghijklmnopqrstuvwxyz0123456789-'.split(''));
    parts.push(s);
  }
  return `${parts.join('.')}.example`;
}

/** the handshake message (no record header) of a synthetic ClientHello:
 * a random name, ALPN h3, sometimes an ECH extension, sometimes long */
function synthHello(r: () => number): Buffer {
  const after = [ext(0x0010, Buffer.from([0, 3, 2, 0x68, 0x33])), ext(0x002b, Buffer.from([2, 3, 4]))];
  if (int(r, 2)) after.push(ext(0xfe0d, Buffer.alloc(1 + int(r, 300), 0xec)));
  if (int(r, 4) === 0) after.push(ext(0x0015, Buffer.alloc(int(r, 6000))));
  return clientHello(randName(r), { after }).subarray(5);
}

/** cut [0, len) into n pieces; each piece may be extended backwards (overlap) */
function pieces(r: () => number, len: number, n: number, overlap: boolean): [number, number][] {
  const cuts = new Set<number>();
  while (cuts.size < Math.min(n - 1, len - 1)) cuts.add(1 + int(r, len - 1));
  const pts = [0, ...[...cuts].sort((a, b) => a - b), len];
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < pts.length; i++) {
    const back = overlap && i > 0 ? Math.min(pts[i], int(r, 40)) : 0;
    out.push([pts[i] - back, pts[i + 1]]);
  }
  return out;
}

function shuffle<T>(r: () => number, v: T[]): T[] {
  for (let i = v.length - 1; i > 0; i--) {
    const j = int(r, i + 1);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

/** one case: a flow of datagrams */
export function makeCase(seed: number, index: number, hellos: Buffer[]): Case {
  const r = prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const kind = KINDS[index % KINDS.length];
  const hello = int(r, 3) ? pick(r, hellos) : synthHello(r);
  const dcid = Buffer.alloc(int(r, 4) ? 8 : int(r, 21));
  for (let i = 0; i < dcid.length; i++) dcid[i] = int(r, 256);
  const version = kind === 'v2' ? V2 : V1;
  const n = 1 + int(r, 5);
  let ps = shuffle(r, pieces(r, hello.length, n, int(r, 3) === 0));
  if (int(r, 4) === 0) ps = [...ps, ...ps.slice(0, 1 + int(r, ps.length))]; // retransmissions
  // frames per packet: 1 or 2 pieces
  const packets: Buffer[][] = [];
  for (let i = 0; i < ps.length;) {
    const k = int(r, 3) === 0 ? 2 : 1;
    packets.push(ps.slice(i, i + k).map(([a, b]) => cryptoFrame(a, hello.subarray(a, b))));
    i += k;
  }
  // damage before encryption: it decrypts, the content is bad
  const target = int(r, packets.length);
  const tf = packets[target];
  if (kind === 'bad-varint-frame') {
    tf.push(Buffer.from([0x06, 0xc0 | int(r, 64)])); // CRYPTO with an 8-byte varint cut short
  } else if (kind === 'huge-offset') {
    tf.push(Buffer.concat([Buffer.from([0x06]), varint(pick(r, [16384, 16385, 65536, 2 ** 40, 2 ** 53 - 1]) - int(r, 3)), varint(5), Buffer.alloc(5, 1)]));
  } else if (kind === 'bad-frame') {
    tf.splice(int(r, tf.length + 1), 0, Buffer.from([pick(r, [0x04, 0x05, 0x07, 0x08, 0x0f, 0x18, 0x1d, 0x1e, 0x30, 0x40])]));
  } else if (kind === 'overlap-differs' && hello.length > 10) {
    const at = int(r, hello.length - 4);
    const copy = Buffer.from(hello.subarray(at, at + 4));
    copy[int(r, 4)] ^= 1 + int(r, 255);
    tf.push(cryptoFrame(at, copy));
  } else if (kind === 'extra-frames') {
    tf.unshift(pick(r, [ping(), ackFrame(int(r, 100), [[0, 1]], !!int(r, 2)), closeFrame(0x0a, 'bye')]));
  }
  let plain = packets.map((fr) => Buffer.concat(fr));
  if (kind === 'hello-damaged') {
    // the hello's bytes changed consistently: the reference parser judges
    const h = Buffer.from(hello);
    for (let i = 0; i < 1 + int(r, 3); i++) h[int(r, h.length)] = int(r, 256);
    plain = packets.map((fr, pi) => Buffer.concat(fr.map((_f, fi) => {
      const [a, b] = ps[packets.slice(0, pi).reduce((s, x) => s + x.length, 0) + fi] ?? [0, 0];
      return cryptoFrame(a, h.subarray(a, b));
    })));
  }
  const pnBase = int(r, 4) === 0 ? int(r, 1000) : 0;
  let datagrams = plain.map((payload, i) => encodeInitial({
    version, dcid, pn: pnBase + i, pnLen: 1 + int(r, 4), payload, padTo: kind === 'short-datagram' && i === target ? 0 : 1200,
    scid: Buffer.alloc(int(r, 2) ? 8 : 0, 0x5c), token: int(r, 5) === 0 ? Buffer.alloc(int(r, 60), 0x7e) : undefined,
  }));
  // coalesce two packets into one datagram now and then
  if (datagrams.length > 1 && int(r, 5) === 0) {
    const i = int(r, datagrams.length - 1);
    datagrams.splice(i, 2, Buffer.concat([datagrams[i], datagrams[i + 1]]));
  }
  // damage after encryption
  const d = datagrams[int(r, datagrams.length)];
  const hdrEnd = Math.min(d.length, 30);
  const flip = (at: number) => {
    if (at < d.length) d[at] ^= 1 << int(r, 8);
  };
  switch (kind) {
    case 'truncate': {
      const i = datagrams.indexOf(d);
      datagrams[i] = d.subarray(0, int(r, d.length));
      break;
    }
    case 'flip-header': flip(int(r, hdrEnd)); break;
    case 'flip-length': flip(6 + d[5] + 1 + (d[6 + d[5]] ?? 0) + 1 + int(r, 2)); break;
    case 'flip-token': flip(6 + d[5] + 1 + (d[6 + d[5]] ?? 0) + int(r, 2)); break;
    case 'flip-any': for (let i = 0; i < 1 + int(r, 3); i++) flip(int(r, d.length)); break;
    case 'wrong-dcid': if (d[5] > 0) flip(6 + int(r, d[5])); break;
    default: break;
  }
  if (int(r, 8) === 0) datagrams = shuffle(r, datagrams);
  return { sport: 1024 + index, kind, datagrams };
}

/** frames for a pcap, and what the reference expects per flow (sport, DCID) */
export function expectations(cases: Case[]): { frames: Buffer[]; expect: Expect[] } {
  const frames: Buffer[] = [];
  const expect: Expect[] = [];
  for (const c of cases) {
    const groups = new Map<string, Buffer[]>();
    for (const d of c.datagrams) {
      frames.push(udpFrame({ sport: c.sport, dport: 443, payload: d }));
      const k = dcidKey(d);
      groups.set(k, [...(groups.get(k) ?? []), d]);
    }
    for (const [k, ds] of groups) {
      const r = refFlowResult(ds);
      expect.push({ sport: c.sport, dcid: k === '-' ? null : k, result: r.result, name: r.name, initials: r.initials });
    }
  }
  return { frames, expect };
}
