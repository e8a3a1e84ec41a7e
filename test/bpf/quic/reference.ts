// A reference QUIC Initial encoder and decoder, with node:crypto, for the
// tests of xdp-sni's user-space decoder (bpf/cli/quic.c). Written from the
// RFCs, not from the C code:
//
//   RFC 9001 5.2  initial_secret = HKDF-Extract(initial_salt, client DCID);
//                 client_initial_secret = HKDF-Expand-Label(., "client in", "", 32)
//   RFC 9001 5.1  key/iv/hp = HKDF-Expand-Label(secret, "quic key"/"quic iv"/"quic hp")
//   RFC 8446 7.1  HkdfLabel { uint16 length; opaque label<7..255> = "tls13 " + Label;
//                 opaque context<0..255> }
//   RFC 9001 5.3  AEAD_AES_128_GCM, nonce = iv XOR packet number (left-padded),
//                 associated data = the header up to the end of the packet number
//   RFC 9001 5.4  header protection: sample = 16 bytes from pn_offset + 4;
//                 mask = AES-ECB(hp, sample); first byte ^= mask[0] & 0x0f (long
//                 header); packet number bytes ^= mask[1..]
//   RFC 9000 17.2.2 Initial { 1, 1, type 0 (v2: 1), reserved 2, pn length 2,
//                 version 32, DCID len 8 (<= 20), DCID, SCID len 8 (<= 20), SCID,
//                 token length (i), token, length (i), pn (8..32), payload }
//   RFC 9000 12.4 frames allowed in an Initial: PADDING, PING, ACK, CRYPTO,
//                 CONNECTION_CLOSE (0x1c); 12.2 coalesced packets; 14.1 a
//                 server drops a client Initial in a datagram under 1200 bytes
//   RFC 9000 A.3  packet number decoding
//   RFC 9369      QUIC v2: version 0x6b3343cf, its own salt, "quicv2 ..." labels,
//                 Initial type 1
//
// The decoder states the same rules as the C module's header comment (they
// are the decoder's contract, bpf/cli/quic.h), so the differential fuzz can
// ask for equal results; the ClientHello itself is read by the data plane's
// reference parser (test/bpf/fuzz/reference.ts).
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { parseClientHello } from '../fuzz/reference.js';

export const V1 = 0x00000001;
export const V2 = 0x6b3343cf;
export const HELLO_MAX = 16384;
export const MIN_DGRAM = 1200;

const SALTS: Record<number, Buffer> = {
  [V1]: Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'),
  [V2]: Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex'),
};

export interface Keys {
  initialSecret: Buffer;
  secret: Buffer;
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** HKDF-Expand-Label with an empty context (any length, RFC 5869 2.3). */
export function expandLabel(secret: Buffer, label: string, len: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([len >> 8, len & 255, full.length]), full, Buffer.from([0])]);
  const out: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < len; i++) {
    t = hmac(secret, Buffer.concat([t, info, Buffer.from([i])]));
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, len);
}

export function clientKeys(version: number, dcid: Buffer): Keys {
  const salt = SALTS[version];
  if (!salt) throw new Error(`no Initial salt for version 0x${version.toString(16)}`);
  const initialSecret = hmac(salt, dcid);
  const secret = expandLabel(initialSecret, 'client in', 32);
  const p = version === V2 ? 'quicv2' : 'quic';
  return { initialSecret, secret, key: expandLabel(secret, `${p} key`, 16), iv: expandLabel(secret, `${p} iv`, 12), hp: expandLabel(secret, `${p} hp`, 16) };
}

export function hpMask(hp: Buffer, sample: Buffer): Buffer {
  const c = createCipheriv('aes-128-ecb', hp, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(sample), c.final()]).subarray(0, 5);
}

function nonce(iv: Buffer, pn: bigint): Buffer {
  const n = Buffer.from(iv);
  for (let i = 0; i < 8; i++) n[11 - i] ^= Number((pn >> BigInt(8 * i)) & 0xffn);
  return n;
}

// ------------------------------------------------------------ varints, frames
/** RFC 9000 16; `len` forces a longer encoding (1, 2, 4 or 8 bytes). */
export function varint(v: number | bigint, len?: number): Buffer {
  const n = BigInt(v);
  const l = len ?? (n < 64n ? 1 : n < 16384n ? 2 : n < 1073741824n ? 4 : 8);
  const b = Buffer.alloc(l);
  let x = n;
  for (let i = l - 1; i >= 0; i--) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  b[0] |= { 1: 0, 2: 0x40, 4: 0x80, 8: 0xc0 }[l]!;
  return b;
}

export const padding = (n: number) => Buffer.alloc(n);
export const ping = () => Buffer.from([0x01]);
export const cryptoFrame = (off: number, data: Buffer) => Buffer.concat([Buffer.from([0x06]), varint(off), varint(data.length), data]);
export const ackFrame = (largest: number, ranges: [number, number][] = [], ecn = false) =>
  Buffer.concat([Buffer.from([ecn ? 0x03 : 0x02]), varint(largest), varint(0), varint(ranges.length), varint(0),
    ...ranges.flatMap(([g, l]) => [varint(g), varint(l)]), ...(ecn ? [varint(0), varint(0), varint(0)] : [])]);
export const closeFrame = (code: number, reason = '') =>
  Buffer.concat([Buffer.from([0x1c]), varint(code), varint(0), varint(reason.length), Buffer.from(reason, 'latin1')]);

// ------------------------------------------------------------ encoder
export interface InitialOpts {
  version?: number;
  dcid: Buffer;
  scid?: Buffer;
  token?: Buffer;
  pn: number;
  /** encoded packet number length, 1..4 (default 4) */
  pnLen?: number;
  /** the frames, unprotected */
  payload: Buffer;
  /** add PADDING so that the packet is this long (default 0: none) */
  padTo?: number;
  /** derive the keys from this DCID instead (a wrong key) */
  keysDcid?: Buffer;
  /** the two reserved bits (default 0) */
  reserved?: number;
  /** skip header protection (for the tests that must fail) */
  noHp?: boolean;
}

/** One protected client Initial packet. */
export function encodeInitial(o: InitialOpts): Buffer {
  const version = o.version ?? V1;
  const pnLen = o.pnLen ?? 4;
  const scid = o.scid ?? Buffer.alloc(0);
  const token = o.token ?? Buffer.alloc(0);
  const k = clientKeys(version, o.keysDcid ?? o.dcid);
  const type = version === V2 ? 1 : 0;
  const hdrLen = (lenField: number) =>
    1 + 4 + 1 + o.dcid.length + 1 + scid.length + varint(token.length).length + token.length + varint(lenField).length + pnLen;
  let payload = o.payload;
  // the sample needs 4 + 16 bytes from the packet number's start
  if (pnLen + payload.length < 4) payload = Buffer.concat([payload, padding(4 - pnLen - payload.length)]);
  if (o.padTo) {
    const total = () => hdrLen(pnLen + payload.length + 16) + payload.length + 16;
    while (total() < o.padTo) payload = Buffer.concat([payload, padding(o.padTo - total())]);
  }
  const lenField = pnLen + payload.length + 16;
  const pnBytes = Buffer.alloc(pnLen);
  for (let i = 0; i < pnLen; i++) pnBytes[pnLen - 1 - i] = (o.pn >> (8 * i)) & 255;
  const first = 0xc0 | (type << 4) | ((o.reserved ?? 0) << 2) | (pnLen - 1);
  const header = Buffer.concat([
    Buffer.from([first]), Buffer.from([(version >>> 24) & 255, (version >> 16) & 255, (version >> 8) & 255, version & 255]),
    Buffer.from([o.dcid.length]), o.dcid, Buffer.from([scid.length]), scid,
    varint(token.length), token, varint(lenField), pnBytes,
  ]);
  const c = createCipheriv('aes-128-gcm', k.key, nonce(k.iv, BigInt(o.pn)));
  c.setAAD(header);
  const ct = Buffer.concat([c.update(payload), c.final(), c.getAuthTag()]);
  const pnOff = header.length - pnLen;
  if (!o.noHp) {
    const mask = hpMask(k.hp, ct.subarray(4 - pnLen, 4 - pnLen + 16));
    header[0] ^= mask[0] & 0x0f;
    for (let i = 0; i < pnLen; i++) header[pnOff + i] ^= mask[1 + i];
  }
  return Buffer.concat([header, ct]);
}

// ------------------------------------------------------------ decoder
export type Result = 'NEED_MORE' | 'OK' | 'NO_SNI' | 'MALFORMED' | 'UNDECRYPTABLE' | 'NOT_INITIAL' | 'UNSUPPORTED_VERSION';

class Fail {
  constructor(readonly result: Result, readonly reason: string) {}
}

function readVarint(b: Buffer, pos: { p: number }): bigint | undefined {
  if (pos.p >= b.length) return undefined;
  const l = 1 << (b[pos.p] >> 6);
  if (l > b.length - pos.p) return undefined;
  let v = BigInt(b[pos.p] & 0x3f);
  for (let i = 1; i < l; i++) v = (v << 8n) | BigInt(b[pos.p + i]);
  pos.p += l;
  return v;
}

interface Hdr {
  version: number;
  dcid: Buffer;
  pnOff: number;
  end: number;
}

function parseHeader(p: Buffer): Hdr {
  if (p.length === 0) throw new Fail('MALFORMED', 'empty datagram');
  if (!(p[0] & 0x80)) throw new Fail('NOT_INITIAL', 'short header');
  if (p.length < 5) throw new Fail('MALFORMED', 'long header cut short');
  const version = p.readUInt32BE(1);
  if (version === 0) throw new Fail('NOT_INITIAL', 'version negotiation');
  if (version !== V1 && version !== V2) throw new Fail('UNSUPPORTED_VERSION', 'version');
  if (((p[0] >> 4) & 3) !== (version === V2 ? 1 : 0)) throw new Fail('NOT_INITIAL', 'not Initial');
  let pos = 5;
  const cid = (what: string) => {
    if (pos >= p.length || p[pos] > 20 || pos + 1 + p[pos] > p.length) throw new Fail('MALFORMED', what);
    const c = p.subarray(pos + 1, pos + 1 + p[pos]);
    pos += 1 + p[pos];
    return c;
  };
  const dcid = cid('DCID');
  cid('SCID');
  const at = { p: pos };
  const tl = readVarint(p, at);
  if (tl === undefined || tl > BigInt(p.length - at.p)) throw new Fail('MALFORMED', 'token');
  at.p += Number(tl);
  const len = readVarint(p, at);
  if (len === undefined || len > BigInt(p.length - at.p)) throw new Fail('MALFORMED', 'length');
  if (len < 20n) throw new Fail('MALFORMED', 'no sample');
  if (len > 65536n) throw new Fail('MALFORMED', 'over 64 KiB');
  return { version, dcid, pnOff: at.p, end: at.p + Number(len) };
}

/** RFC 9000 A.3 */
export function decodePn(largest: bigint, truncated: bigint, nbits: number): bigint {
  const expected = largest + 1n;
  const win = 1n << BigInt(nbits);
  const hwin = win / 2n;
  const cand = (expected & ~(win - 1n)) | truncated;
  if (cand <= expected - hwin && cand < (1n << 62n) - win) return cand + win;
  if (cand > expected + hwin && cand >= win) return cand - win;
  return cand;
}

/** The ClientHello's result, by the data plane's reference parser. */
export function helloResult(hello: Buffer): { result: Result; name?: string; ech: boolean } {
  const rec = Buffer.concat([Buffer.from([0x16, 3, 3, hello.length >> 8, hello.length & 255]), hello]);
  const r = parseClientHello(rec);
  const ech = r.features.ech;
  if (r.kind === 'name') return r.features.nameOver253 ? { result: 'MALFORMED', ech } : { result: 'OK', name: r.lower, ech };
  if (r.kind === 'no-sni') return { result: 'NO_SNI', ech };
  return { result: 'MALFORMED', ech };
}

/** One flow's decoder: the contract of bpf/cli/quic.h. */
export class RefFlow {
  final: Result = 'NEED_MORE';
  name?: string;
  ech = false;
  initials = 0;
  keys?: Keys;
  version = 0;
  largest = -1n;
  buf = Buffer.alloc(HELLO_MAX);
  have = new Uint8Array(HELLO_MAX);
  maxEnd = 0;
  contiguous = 0;
  helloLen = 0;
  /** every CRYPTO range fed, for the tests: [offset, length] */
  cryptoLog: [number, number][] = [];

  feed(d: Buffer): Result {
    if (this.final !== 'NEED_MORE') return this.final;
    try {
      if (d.length < MIN_DGRAM) {
        parseHeader(d);
        throw new Fail('MALFORMED', 'datagram under 1200 bytes');
      }
      const h1 = this.initial(d);
      for (let off = h1.end; off < d.length && this.final === 'NEED_MORE';) {
        const q = d.subarray(off);
        if (q.length < 6 || !(q[0] & 0x80) || q[5] > 20 || 6 + q[5] > q.length || !q.subarray(6, 6 + q[5]).equals(h1.dcid)) break;
        let h: Hdr;
        try {
          h = this.initial(q);
        } catch (e) {
          if (e instanceof Fail) break;
          throw e;
        }
        off += h.end;
      }
      return this.final;
    } catch (e) {
      if (e instanceof Fail) return e.result;
      throw e;
    }
  }

  private malformed() {
    this.final = 'MALFORMED';
  }

  private initial(p: Buffer): Hdr {
    const h = parseHeader(p);
    if (this.keys && h.version !== this.version) throw new Fail('UNDECRYPTABLE', 'version changed');
    const k = this.keys ?? clientKeys(h.version, h.dcid);
    const mask = hpMask(k.hp, p.subarray(h.pnOff + 4, h.pnOff + 20));
    const first = p[0] ^ (mask[0] & 0x0f);
    const pnLen = (first & 3) + 1;
    const pnb = Buffer.alloc(pnLen);
    let trunc = 0n;
    for (let i = 0; i < pnLen; i++) {
      pnb[i] = p[h.pnOff + i] ^ mask[1 + i];
      trunc = (trunc << 8n) | BigInt(pnb[i]);
    }
    const pn = decodePn(this.largest, trunc, pnLen * 8);
    const ad = Buffer.concat([Buffer.from([first]), p.subarray(1, h.pnOff), pnb]);
    const ct = p.subarray(h.pnOff + pnLen, h.end);
    let plain: Buffer;
    try {
      const dc = createDecipheriv('aes-128-gcm', k.key, nonce(k.iv, pn));
      dc.setAAD(ad);
      dc.setAuthTag(ct.subarray(ct.length - 16));
      plain = Buffer.concat([dc.update(ct.subarray(0, ct.length - 16)), dc.final()]);
    } catch {
      throw new Fail('UNDECRYPTABLE', 'tag');
    }
    if (!this.keys) {
      this.keys = k;
      this.version = h.version;
    }
    if (pn > this.largest) this.largest = pn;
    this.initials++;
    if (first & 0x0c) this.malformed();
    else if (this.frames(plain)) this.helloCheck();
    return h;
  }

  /** false after a final MALFORMED */
  private frames(p: Buffer): boolean {
    if (p.length === 0) return (this.malformed(), false);
    const pos = { p: 0 };
    const vi = () => readVarint(p, pos);
    while (pos.p < p.length) {
      const start = pos.p;
      const type = vi();
      if (type === undefined || pos.p - start !== 1) return (this.malformed(), false);
      if (type === 0x00n || type === 0x01n) continue;
      if (type === 0x02n || type === 0x03n) {
        const f = [vi(), vi(), vi(), vi()];
        if (f.includes(undefined)) return (this.malformed(), false);
        const count = f[2]!;
        if (count > BigInt(Math.floor((p.length - pos.p) / 2))) return (this.malformed(), false);
        for (let i = 0n; i < count; i++) if (vi() === undefined || vi() === undefined) return (this.malformed(), false);
        if (type === 0x03n && [vi(), vi(), vi()].includes(undefined)) return (this.malformed(), false);
        continue;
      }
      if (type === 0x06n) {
        const off = vi();
        const len = vi();
        if (off === undefined || len === undefined || len > BigInt(p.length - pos.p)) return (this.malformed(), false);
        if (off + len > (1n << 62n) - 1n) return (this.malformed(), false);
        if (!this.crypto(off, p.subarray(pos.p, pos.p + Number(len)))) return false;
        pos.p += Number(len);
        continue;
      }
      if (type === 0x1cn) {
        const f = [vi(), vi(), vi()];
        if (f.includes(undefined) || f[2]! > BigInt(p.length - pos.p)) return (this.malformed(), false);
        pos.p += Number(f[2]);
        continue;
      }
      return (this.malformed(), false);
    }
    return true;
  }

  private crypto(off: bigint, d: Buffer): boolean {
    if (d.length === 0) return true;
    if (off + BigInt(d.length) > BigInt(HELLO_MAX)) return (this.malformed(), false);
    const o = Number(off);
    if (this.helloLen && o + d.length > this.helloLen) return (this.malformed(), false);
    this.cryptoLog.push([o, d.length]);
    for (let i = 0; i < d.length; i++) {
      if (this.have[o + i]) {
        if (this.buf[o + i] !== d[i]) return (this.malformed(), false);
      } else {
        this.have[o + i] = 1;
        this.buf[o + i] = d[i];
      }
    }
    this.maxEnd = Math.max(this.maxEnd, o + d.length);
    return true;
  }

  private helloCheck() {
    while (this.contiguous < HELLO_MAX && this.have[this.contiguous]) this.contiguous++;
    if (!this.helloLen && this.contiguous >= 4) {
      if (this.buf[0] !== 1) return this.malformed();
      this.helloLen = 4 + this.buf.readUIntBE(1, 3);
      if (this.helloLen > HELLO_MAX || this.maxEnd > this.helloLen) return this.malformed();
    }
    if (!this.helloLen || this.contiguous < this.helloLen) return;
    const r = helloResult(this.buf.subarray(0, this.helloLen));
    this.final = r.result;
    this.name = r.name;
    this.ech = r.ech;
  }
}

/** What `xdp-sni quic-decode` reports for a flow fed these datagrams: the
 * final result, else NEED_MORE once an Initial was used, else the last
 * datagram's error. */
export function refFlowResult(datagrams: Buffer[]): { result: Result; name?: string; initials: number; flow: RefFlow } {
  const f = new RefFlow();
  let last: Result = 'NEED_MORE';
  for (const d of datagrams) {
    const r = f.feed(d);
    if (f.final !== 'NEED_MORE') last = f.final;
    else if (r === 'NEED_MORE' || !f.keys) last = r;
    else last = 'NEED_MORE';
  }
  return { result: last, name: f.final === 'OK' ? f.name : undefined, initials: f.initials, flow: f };
}

/** The key quic-decode gives a datagram: its first packet's DCID (hex), or '-'. */
export function dcidKey(d: Buffer): string {
  if (d.length < 6 || !(d[0] & 0x80) || d[5] > 20 || 6 + d[5] > d.length) return '-';
  return d.subarray(6, 6 + d[5]).toString('hex');
}

/** The CRYPTO stream of a flow's datagrams (the ClientHello), decrypted. */
export function cryptoStream(datagrams: Buffer[]): Buffer {
  const f = new RefFlow();
  for (const d of datagrams) f.feed(d);
  if (!f.helloLen) throw new Error('no whole ClientHello in these datagrams');
  return Buffer.from(f.buf.subarray(0, f.helloLen));
}
