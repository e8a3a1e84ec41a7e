// Seeded generator of fuzz cases for the differential fuzz of xdp-sni's
// ClientHello parser (see run.ts). A case is the client-to-server byte
// stream of one TCP connection (what the server receives, in order) and the
// TCP segments that carry it, in sending order, possibly with evasion
// tricks: reordering, overlapping retransmissions, a decoy hello the server
// never receives.
//
// Sources: the ClientHello record of every connection of every fixture in
// test/fixtures/clienthello, and synthetic hellos made with lib.ts's
// clientHello(). Each case is reproducible from (seed, id) alone.
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import {
  readPcap, clientStreams, firstRecord, fixturesDir, clientHello, ext, prng, tcpFrame,
} from '../lib.js';
import { lowerName, parseClientHello } from './reference.js';

export interface Segment {
  /** stream offset of the first byte (negative: before the stream) */
  off: number;
  data: Buffer;
  /** a decoy the server never receives (not part of the stream) */
  decoy?: boolean;
}

export interface FuzzCase {
  id: number;
  source: string;
  /** what was done to it, in order */
  tags: string[];
  /** the bytes the server receives, in order */
  stream: Buffer;
  /** the segments, in sending order */
  segments: Segment[];
  isn: number;
  v6: boolean;
  /** normalised names this case contributes to the blocklist */
  listed: string[];
  /** the decoy hello's name (lower case), never listed */
  decoyName?: string;
}

type Rnd = () => number;
const int = (r: Rnd, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));   // [lo, hi]
const pick = <T>(r: Rnd, xs: ArrayLike<T>): T => xs[Math.floor(r() * xs.length)];
const chance = (r: Rnd, p: number) => r() < p;
const bytes = (r: Rnd, n: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
};
function shuffle<T>(r: Rnd, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
const u16 = (n: number) => Buffer.from([(n >> 8) & 255, n & 255]);

// ---------------------------------------------------------------- names
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const INNER = ALNUM + '-';

function label(r: Rnd, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += i === 0 || i === n - 1 ? pick(r, ALNUM) : pick(r, INNER);
  return s;
}

/** A valid DNS name of exactly `len` bytes (labels of 1..63). */
export function randomName(r: Rnd, len = int(r, 3, 40)): string {
  const labels: string[] = [];
  let rem = len;
  while (rem > 0) {
    if (rem <= 63 && (labels.length > 0 || rem < 4 || chance(r, 0.3))) {
      labels.push(label(r, rem));
      break;
    }
    const k = int(r, 1, Math.min(63, rem - 2));
    labels.push(label(r, k));
    rem -= k + 1;
  }
  return labels.join('.');
}

/** A name the blocklist accepts: xdp-sni's rules (labels 1..63 of
 * letters, digits, '-', '_', no '-' at either end; at most 253 bytes). */
export function listable(lower: string): boolean {
  if (lower.length < 1 || lower.length > 253) return false;
  return lower.split('.').every((l) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l));
}

// ---------------------------------------------------------------- model
interface Ext { type: number; data: Buffer }
interface Hello {
  hsType: number;
  legacy: Buffer;
  random: Buffer;
  sid: Buffer;
  suites: Buffer;
  comp: Buffer;
  exts: Ext[];
}

/** Split a well-formed ClientHello record (fixture or clientHello()). */
function parseHello(rec: Buffer): Hello {
  let o = 5 + 4;
  const legacy = rec.subarray(o, o + 2);
  const random = rec.subarray(o + 2, o + 34);
  o += 34;
  const sid = rec.subarray(o + 1, o + 1 + rec[o]);
  o += 1 + rec[o];
  const suites = rec.subarray(o + 2, o + 2 + rec.readUInt16BE(o));
  o += 2 + suites.length;
  const comp = rec.subarray(o + 1, o + 1 + rec[o]);
  o += 1 + rec[o];
  const end = o + 2 + rec.readUInt16BE(o);
  o += 2;
  const exts: Ext[] = [];
  while (o < end) {
    const len = rec.readUInt16BE(o + 2);
    exts.push({ type: rec.readUInt16BE(o), data: Buffer.from(rec.subarray(o + 4, o + 4 + len)) });
    o += 4 + len;
  }
  return { hsType: rec[5], legacy, random, sid, suites, comp, exts };
}

interface Field { at: number; size: 1 | 2 | 3; kind: string }

/** The handshake message of a model, and where its length fields are. */
function encode(h: Hello): { hs: Buffer; fields: Field[] } {
  const fields: Field[] = [];
  const parts: Buffer[] = [];
  let at = 4;
  const put = (b: Buffer) => {
    parts.push(b);
    at += b.length;
  };
  put(h.legacy);
  put(h.random);
  fields.push({ at, size: 1, kind: 'session id' });
  put(Buffer.from([h.sid.length]));
  put(h.sid);
  fields.push({ at, size: 2, kind: 'cipher suites' });
  put(u16(h.suites.length));
  put(h.suites);
  fields.push({ at, size: 1, kind: 'compression' });
  put(Buffer.from([h.comp.length]));
  put(h.comp);
  fields.push({ at, size: 2, kind: 'extensions' });
  put(u16(h.exts.reduce((a, e) => a + 4 + e.data.length, 0)));
  for (const e of h.exts) {
    fields.push({ at: at + 2, size: 2, kind: e.type === 0 ? 'sni ext length' : 'ext length' });
    if (e.type === 0 && e.data.length >= 5) {
      // list length, then each entry's length
      fields.push({ at: at + 4, size: 2, kind: 'list length' });
      let q = 2;
      const listEnd = Math.min(2 + e.data.readUInt16BE(0), e.data.length);
      while (q + 3 <= listEnd) {
        fields.push({ at: at + 4 + q + 1, size: 2, kind: 'name length' });
        q += 3 + e.data.readUInt16BE(q + 1);
      }
    }
    put(Buffer.concat([u16(e.type), u16(e.data.length), e.data]));
  }
  const body = Buffer.concat(parts);
  const hdr = Buffer.from([h.hsType, (body.length >> 16) & 255, (body.length >> 8) & 255, body.length & 255]);
  fields.push({ at: 1, size: 3, kind: 'handshake' });
  return { hs: Buffer.concat([hdr, body]), fields };
}

function sniData(entries: { type: number; name: Buffer }[]): Buffer {
  const list = Buffer.concat(entries.map((e) => Buffer.concat([Buffer.from([e.type]), u16(e.name.length), e.name])));
  return Buffer.concat([u16(list.length), list]);
}

// ---------------------------------------------------------------- sources
let fixtureHellos: { file: string; rec: Buffer }[] | undefined;
export function fixtureRecords(): { file: string; rec: Buffer }[] {
  if (!fixtureHellos) {
    fixtureHellos = [];
    for (const file of readdirSync(fixturesDir).filter((f) => f.endsWith('.pcap')).sort()) {
      clientStreams(readPcap(join(fixturesDir, file))).forEach((s, k) => {
        if (s.data[0] === 0x16) fixtureHellos!.push({ file: `${file}#${k}`, rec: Buffer.from(firstRecord(s.data)) });
      });
    }
  }
  return fixtureHellos;
}

/** A copy of a well-formed ClientHello record (a fixture's) whose
 * server_name extension carries one host_name, `name`; every other field
 * and extension is kept (the live evasion tests send it). */
export function renameHello(rec: Buffer, name: string): Buffer {
  const h = parseHello(rec);
  const sni = h.exts.find((e) => e.type === 0);
  if (!sni) throw new Error('renameHello: the hello has no server_name');
  sni.data = sniData([{ type: 0, name: Buffer.from(name, 'latin1') }]);
  const { hs } = encode(h);
  return Buffer.concat([rec.subarray(0, 3), u16(hs.length), hs]);
}

function greaseType(r: Rnd): number {
  const n = int(r, 0, 15);
  return (n << 12) | 0x0a00 | (n << 4) | 0x0a;
}

/** A synthetic hello from clientHello(): random extensions in random order. */
function synthetic(r: Rnd, name: string, tags: string[]): Buffer {
  const pool: Buffer[] = [
    ext(0x000a, Buffer.from([0, 6, 0, 0x1d, 0, 0x17, 0, 0x18])),
    ext(0x000b, Buffer.from([1, 0])),
    ext(0x000d, Buffer.from([0, 8, 4, 3, 8, 4, 4, 1, 5, 3])),
    ext(0x0010, Buffer.from([0, 12, 2, 0x68, 0x32, 8, ...Buffer.from('http/1.1')])),
    ext(0x002b, Buffer.from([4, 3, 4, 3, 3])),
    ext(0x002d, Buffer.from([1, 1])),
    ext(0x0033, Buffer.concat([u16(36), u16(0x1d), u16(32), bytes(r, 32)])),
    ext(0x0017, Buffer.alloc(0)),
    ext(0xff01, Buffer.from([0])),
    ext(0x0005, Buffer.from([1, 0, 0, 0, 0])),
    ext(0x0023, chance(r, 0.5) ? Buffer.alloc(0) : bytes(r, int(r, 16, 200))),
  ];
  // a post-quantum hybrid key share (as Chromium and Firefox send) instead of x25519 alone
  if (chance(r, 0.1)) pool[6] = ext(0x0033, Buffer.concat([u16(1220), u16(0x11ec), u16(1216), bytes(r, 1216)]));
  const chosen = shuffle(r, pool).slice(0, int(r, 1, pool.length));
  if (chance(r, 0.3)) {
    tags.push('grease');
    const g1 = greaseType(r);
    let g2 = greaseType(r);
    while (g2 === g1) g2 = greaseType(r);
    chosen.unshift(ext(g1, Buffer.alloc(0)));
    chosen.push(ext(g2, Buffer.from([0])));
  }
  if (chance(r, 0.3)) {
    tags.push('ech');
    chosen.splice(int(r, 0, chosen.length), 0, ext(0xfe0d, bytes(r, int(r, 90, 300))));
  }
  shuffle(r, chosen);
  if (chance(r, 0.3)) {
    tags.push('padding');
    chosen.push(ext(0x0015, Buffer.alloc(int(r, 0, 400))));
  }
  const at = int(r, 0, chosen.length);
  return clientHello(name, { before: chosen.slice(0, at), after: chosen.slice(at) });
}

// ---------------------------------------------------------------- mutations
const LEN_KINDS = ['handshake', 'session id', 'cipher suites', 'extensions', 'ext length', 'sni ext length', 'list length', 'name length'];

function mutateValue(r: Rnd, v: number, max: number): number {
  const d = pick(r, [1, -1, 2, -2, 3, -3, 8, -8]);
  switch (int(r, 0, 4)) {
    case 0: return 0;
    case 1: return max;
    case 2: return int(r, 0, max);
    default: return Math.min(max, Math.max(0, v + d));
  }
}

function writeField(b: Buffer, f: Field, v: number) {
  for (let i = f.size - 1; i >= 0; i--) {
    b[f.at + i] = v & 255;
    v >>>= 8;
  }
}
function readField(b: Buffer, f: Field): number {
  let v = 0;
  for (let i = 0; i < f.size; i++) v = v * 256 + b[f.at + i];
  return v;
}

const BAD_MAJORS = [0, 1, 2, 4, 0x7f, 0xfe, 0xff];

/** Wrap a handshake message in records of the given fragment sizes. */
function wrap(hs: Buffer, cuts: number[], versions: number[]): { stream: Buffer; headers: number[] } {
  const points = [0, ...cuts, hs.length];
  const parts: Buffer[] = [];
  const headers: number[] = [];
  let at = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const frag = hs.subarray(points[i], points[i + 1]);
    const v = versions[i];
    headers.push(at);
    parts.push(Buffer.from([0x16, v >> 8, v & 255, frag.length >> 8, frag.length & 255]), frag);
    at += 5 + frag.length;
  }
  return { stream: Buffer.concat(parts), headers };
}

function sortedCuts(r: Rnd, n: number, len: number): number[] {
  const s = new Set<number>();
  for (let i = 0; i < n && len > 1; i++) s.add(int(r, 1, len - 1));
  return [...s].sort((a, b) => a - b);
}

// ---------------------------------------------------------------- segments
function segmentStream(r: Rnd, stream: Buffer, tags: string[], nameEnd: number | undefined): Segment[] {
  const len = stream.length;
  let cuts: number[] = [];
  const mode = pick(r, ['whole', 'whole', 'mss', 'mss', 'mss', 'random', 'random', 'random', 'tiny', 'tiny', 'small']);
  if (mode === 'mss') {
    const mss = pick(r, [1448, 1448, 1428, 1200, 536, int(r, 50, 1448)]);
    for (let o = mss; o < len; o += mss) cuts.push(o);
  } else if (mode === 'random') {
    cuts = sortedCuts(r, int(r, 1, 6), len);
  } else if (mode === 'tiny') {
    // 1-byte segments over a window: around the name's end, the start, or anywhere
    const w = int(r, 2, 40);
    const centre = nameEnd !== undefined && chance(r, 0.6) ? nameEnd - int(r, 0, 30) : chance(r, 0.3) ? 0 : int(r, 0, len);
    const a = Math.max(1, centre - (w >> 1));
    const set = new Set(sortedCuts(r, int(r, 0, 2), len));
    for (let o = a; o < Math.min(len, a + w); o++) set.add(o);
    cuts = [...set].sort((x, y) => x - y);
  } else if (mode === 'small') {
    const max = Math.max(8, Math.floor(len / 16));
    for (let o = int(r, 1, max); o < len; o += int(r, 1, max)) cuts.push(o);
  }
  tags.push(`seg:${mode}`);
  const points = [0, ...cuts.filter((c) => c > 0 && c < len), len];
  const segs: Segment[] = [];
  for (let i = 0; i + 1 < points.length; i++) segs.push({ off: points[i], data: stream.subarray(points[i], points[i + 1]) });
  return segs;
}

function evade(r: Rnd, segs: Segment[], stream: Buffer, tags: string[]): Segment[] {
  if (segs.length >= 2 && chance(r, 0.1)) {
    const i = int(r, 0, segs.length - 2);
    const j = chance(r, 0.6) ? i + 1 : int(r, i + 1, segs.length - 1);
    const [s] = segs.splice(i, 1);
    segs.splice(j, 0, s);
    tags.push(`reorder:${i}->${j}`);
  }
  if (stream.length >= 2 && chance(r, 0.1)) {
    const i = int(r, 0, segs.length - 1);
    const s = segs[i];
    const a = s.off + int(r, 0, Math.max(0, s.data.length - 1));
    const c = Math.min(stream.length, s.off + s.data.length + int(r, 0, 300));
    if (c > a) {
      const retx: Segment = { off: a, data: stream.subarray(a, c) };
      if (chance(r, 0.5)) {
        // what it covers is not sent again: later segments inside [a, c)
        // are left out, one that runs past c starts at c instead
        const rest = segs.slice(i + 1)
          .filter((x) => !(x.off >= a && x.off + x.data.length <= c))
          .map((x) => (x.off >= a && x.off < c ? { off: c, data: stream.subarray(c, x.off + x.data.length) } : x));
        segs = [...segs.slice(0, i + 1), retx, ...rest];
        tags.push(`overlap-recut:${a}-${c}`);
      } else {
        segs.splice(i + 1, 0, retx);
        tags.push(`overlap:${a}-${c}`);
      }
    }
  }
  if (chance(r, 0.03)) {
    // the first segment sent again, unchanged
    segs.splice(int(r, 1, segs.length), 0, { ...segs[0] });
    tags.push('retx-first');
  }
  return segs;
}

/**
 * What a TCP sender does about the segments the data plane holds back. In
 * block mode, while a ClientHello is being read, a segment that comes ahead
 * of a gap is dropped, so the server never gets it and the client sends it
 * again after the gap is filled. The model: once the stream's first segment
 * has been seen (before that the data plane knows of no hello and passes
 * what it gets), a segment past the bytes received so far, before `until`,
 * is dropped. After each segment that fills the gap, the dropped ones are
 * sent again, in order, each at most three times. If the data plane is then
 * still waiting for bytes the server has (they passed before the
 * hello's first segment came, or the hello started over), the client's next
 * flight, an application-data record past the stream, arrives and is sent
 * again, as a client does while its data is not acknowledged: HOLD_MAX + 1
 * times in all.
 */
/** XSNI_HOLD_MAX of bpf/xdp_sni.h */
const HOLD_MAX = 8;

function resendHeld(segs: Segment[], until: number, tags: string[]): Segment[] {
  const out: Segment[] = [];
  let next = 0, started = false, resent = 0;
  const held: { s: Segment; tries: number }[] = [];
  const take = (g: Segment): boolean => {
    out.push(g);
    if (g.decoy) return false;
    const end = g.off + g.data.length;
    if (g.off === 0) {
      started = true;           // (again: the data plane starts over)
      next = end;
      return false;
    }
    if (!started) return false;
    if (g.off > next) {
      return next < until ? true : false;
    }
    next = Math.max(next, end);
    return false;
  };
  for (const g of segs) {
    if (take(g)) {
      held.push({ s: g, tries: 0 });
      continue;
    }
    // the gap may be filled: the held segments again, in stream order
    let again = true;
    while (again && held.length) {
      again = false;
      held.sort((x, y) => x.s.off - y.s.off);
      for (let i = 0; i < held.length; i++) {
        const h = held[i];
        if (h.s.off > next || h.tries >= 3) continue;
        held.splice(i--, 1);
        h.tries++;
        resent++;
        if (take({ ...h.s })) held.push(h);
        else again = true;
      }
    }
  }
  if (resent) tags.push(`resend-held:${resent}`);
  const end = Math.max(0, ...segs.filter((x) => !x.decoy).map((x) => x.off + x.data.length));
  if (started && next < until && next < end) {
    const flight = Buffer.concat([Buffer.from([0x17, 3, 3, 0, 24]), Buffer.alloc(24, 0x5a)]);
    for (let i = 0; i <= HOLD_MAX; i++) out.push({ off: end, data: flight });
    tags.push('stuck:next-flight');
  }
  return out;
}

// ---------------------------------------------------------------- cases
/** Case `id` of the fuzz run with `seed`. */
export function generateCase(seed: number, id: number): FuzzCase {
  const r = prng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(id + 1, 0x85ebca6b)) >>> 0);
  const tags: string[] = [];
  const listed = new Set<string>();
  const newName = () => {
    let n = randomName(r, chance(r, 0.06) ? pick(r, [63, 64, 200, 250, 251, 252, 253, 254, 255, 256, 300, int(r, 100, 600)]) : undefined);
    if (chance(r, 0.15)) {
      n = [...n].map((c) => (chance(r, 0.5) ? c.toUpperCase() : c)).join('');
      tags.push('upper');
    }
    if (chance(r, 0.1)) {
      n += '.';
      tags.push('trailing-dot');
    }
    if (n.length > 100) tags.push(`name-len:${n.length}`);
    const l = lowerName(n);
    if (listable(l)) listed.add(l);
    return n;
  };

  // ---- the hello
  let source: string;
  let h: Hello;
  const fx = fixtureRecords();
  if (chance(r, 0.4)) {
    const f = pick(r, fx);
    source = `fixture:${f.file}`;
    h = parseHello(f.rec);
    const sni = h.exts.find((e) => e.type === 0);
    if (sni && chance(r, 0.7)) {
      sni.data = sniData([{ type: 0, name: Buffer.from(newName(), 'latin1') }]);
      tags.push('renamed');
    } else if (sni) {
      const n = sni.data.subarray(5).toString('latin1');
      listed.add(lowerName(n));
    }
  } else {
    source = 'synthetic';
    h = parseHello(synthetic(r, newName(), tags));
    if (chance(r, 0.3)) h.sid = Buffer.alloc(0);
    if (chance(r, 0.3)) h.suites = bytes(r, 2 * int(r, 1, 40));
    h.random = bytes(r, 32);
  }

  // ---- structural mutations
  const sniIdx = () => h.exts.findIndex((e) => e.type === 0);
  if (chance(r, 0.05) && sniIdx() >= 0) {
    const second = { type: 0, data: sniData([{ type: 0, name: Buffer.from(chance(r, 0.5) ? newName() : h.exts[sniIdx()].data.subarray(5).toString('latin1'), 'latin1') }]) };
    h.exts.splice(int(r, 0, h.exts.length), 0, second);
    tags.push('dup-sni-ext');
  }
  if (chance(r, 0.07) && sniIdx() >= 0) {
    const e = h.exts[sniIdx()];
    const host = { type: 0, name: e.data.subarray(5) };
    const others = Array.from({ length: int(r, 1, 2) }, () => ({ type: int(r, 1, 255), name: bytes(r, int(r, 0, 20)) }));
    const entries = chance(r, 0.2) ? others : shuffle(r, [host, ...others]);
    if (chance(r, 0.2)) entries.push({ type: 0, name: Buffer.from(newName(), 'latin1') });   // two host_names
    e.data = sniData(entries);
    tags.push(`name-entries:${entries.map((x) => x.type).join(',')}`);
  }
  if (chance(r, 0.03) && sniIdx() >= 0) {
    h.exts.splice(sniIdx(), 1);
    tags.push('no-sni');
  }
  if (chance(r, 0.03)) {
    // a second extension of a type other than server_name: against RFC 8446
    // 4.2, but every byte keeps its meaning (see reference.ts)
    const others = h.exts.filter((e) => e.type !== 0);
    if (others.length) {
      const e = pick(r, others);
      h.exts.splice(int(r, 0, h.exts.length), 0, { type: e.type, data: Buffer.from(e.data) });
      tags.push(`dup-ext:0x${e.type.toString(16)}`);
    }
  }
  if (chance(r, 0.02)) {
    h.hsType = pick(r, [0, 2, 4, 11, 16, 20, int(r, 0, 255)]);
    tags.push(`hs-type:${h.hsType}`);
  }
  if (chance(r, 0.02)) {
    // a large extension of a type the hello does not have yet (a second one
    // of a type would make the hello malformed, RFC 8446 4.2)
    const type = [0x0015, 0xfe0d, 0x0023, 0x4469].find((t) => !h.exts.some((e) => e.type === t));
    if (type !== undefined) h.exts.splice(int(r, 0, h.exts.length), 0, { type, data: bytes(r, int(r, 1000, 9000)) });
    tags.push('big-ext');
  }

  // ---- the handshake message and its length fields
  const { hs, fields } = encode(h);
  if (chance(r, 0.2)) {
    const kind = pick(r, LEN_KINDS);
    const cands = fields.filter((f) => f.kind === kind);
    if (cands.length) {
      const f = pick(r, cands);
      const max = f.size === 1 ? 255 : f.size === 2 ? 0xffff : 0xffffff;
      const old = readField(hs, f);
      const v = mutateValue(r, old, max);
      writeField(hs, f, v);
      tags.push(`len:${kind}:${old}->${v}`);
    }
  }

  // ---- records
  let cuts: number[] = [];
  if (chance(r, 0.12)) {
    cuts = chance(r, 0.3) ? sortedCuts(r, int(r, 1, 3), hs.length)
      : hs.length > 4 ? [pick(r, [1, 2, 3, 4, 5, 40, int(r, 1, hs.length - 1), hs.length - 1])] : [];
    if (cuts.length) tags.push(`records:${cuts.length + 1}@${cuts.join(',')}`);
  }
  const versions = Array.from({ length: cuts.length + 1 }, (_, i) => (i === 0 ? pick(r, [0x0301, 0x0301, 0x0303]) : 0x0303));
  if (chance(r, 0.06)) {
    const i = int(r, 0, versions.length - 1);
    versions[i] = (pick(r, BAD_MAJORS) << 8) | int(r, 0, 4);
    tags.push(`rec-version:${i}:${versions[i].toString(16)}`);
  } else if (chance(r, 0.05)) {
    versions[0] = 0x0300 | pick(r, [0, 2, 4, 0xff]);
  }
  const wrapped = wrap(hs, cuts, versions);
  let stream = wrapped.stream;
  if (chance(r, 0.05)) {
    const at = pick(r, wrapped.headers) + 3;
    const old = stream.readUInt16BE(at);
    const v = pick(r, [0, 1, 3, 4, 16384, 16385, 0xffff, Math.max(0, old + pick(r, [-2, -1, 1, 2]))]);
    stream.writeUInt16BE(v, at);
    tags.push(`len:record:${old}->${v}`);
  }
  if (chance(r, 0.08)) {
    // what a client may send right after the hello: change_cipher_spec, data
    stream = Buffer.concat([stream, Buffer.from([0x14, 3, 3, 0, 1, 1]), Buffer.from([0x17, 3, 3, 0, 40]), bytes(r, 40)]);
    tags.push('trailer');
  }

  // ---- byte-level mutations
  const before = parseClientHello(stream);
  const nameEnd = 'nameEndOffset' in before ? before.nameEndOffset : undefined;
  if (chance(r, 0.15)) {
    const n = int(r, 1, 4);
    const at: string[] = [];
    for (let k = 0; k < n; k++) {
      const near = nameEnd !== undefined && chance(r, 0.4);
      const i = near ? Math.max(0, Math.min(stream.length - 1, nameEnd! - int(r, 1, 40))) : int(r, 0, stream.length - 1);
      stream[i] = chance(r, 0.5) ? stream[i] ^ (1 << int(r, 0, 7)) : int(r, 0, 255);
      at.push(String(i));
    }
    tags.push(`flip:${at.join(',')}`);
  }
  if (chance(r, 0.06) && stream.length > 1) {
    const at = nameEnd !== undefined && chance(r, 0.5) ? Math.max(1, Math.min(stream.length - 1, nameEnd + int(r, -3, 3))) : int(r, 1, stream.length - 1);
    stream = stream.subarray(0, at);
    tags.push(`truncate:${at}`);
  }

  // ---- segments and evasion
  let segments = evade(r, segmentStream(r, stream, tags, nameEnd), stream, tags);
  let decoyName: string | undefined;
  if (chance(r, 0.05)) {
    decoyName = `decoy-${randomName(r, int(r, 3, 20))}`;
    const d = clientHello(decoyName);
    const how = pick(r, ['same-seq', 'same-seq-cut', 'before']);
    const data = how === 'same-seq-cut' ? d.subarray(0, int(r, 1, d.length - 1)) : d;
    segments = [{ off: how === 'before' ? -d.length : 0, data, decoy: true }, ...segments];
    tags.push(`decoy:${how}`);
  }

  segments = resendHeld(segments, nameEnd ?? stream.length, tags);

  // every byte of the stream is sent at least once
  const covered = new Uint8Array(stream.length);
  for (const g of segments) if (!g.decoy) covered.fill(1, g.off, g.off + g.data.length);
  if (covered.includes(0)) throw new Error(`fuzz case ${id} (seed ${seed}): segments leave stream bytes out (${tags.join(' ')})`);

  return {
    id, source, tags, stream, segments,
    isn: chance(r, 0.1) ? (0xffffffff - int(r, 0, 3000)) >>> 0 : Math.floor(r() * 2 ** 32),
    v6: chance(r, 0.1),
    listed: [...listed],
    decoyName,
  };
}

/** The frames of one case: one TCP connection with source port `sport`
 * (no handshake: the program starts a flow at its first payload, as
 * split.test.ts's flows do). */
export function caseFrames(c: FuzzCase, sport: number): Buffer[] {
  // a decoy is sent the way evasion tools send one: with a TTL too low to
  // reach the server
  return c.segments.map((s) => tcpFrame({ sport, seq: (c.isn + s.off) >>> 0, payload: s.data, v6: c.v6, ttl: s.decoy ? 3 : 64 }));
}
