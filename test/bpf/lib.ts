// Shared helpers for the bpf tests, the netns tests and the bench:
// building bpf/, running `xdp-sni`, reading/writing pcaps, and crafting
// Ethernet/IP/TCP frames and TLS ClientHellos.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bpfDir = join(repoRoot, 'bpf');
export const outDir = process.env.XDP_SNI_OUT ?? join(bpfDir, 'build');
export const tool = join(outDir, 'xdp-sni');
export const sniObj = join(outDir, 'xdp_sni.bpf.o');
export const passObj = join(outDir, 'xdp_pass.bpf.o');
export const fixturesDir = join(repoRoot, 'test', 'fixtures', 'clienthello');

let built: Promise<void> | undefined;
/** Build the object and the tool once per process (make is incremental). */
export function buildBpf(): Promise<void> {
  built ??= (async () => {
    await execa('make', ['-C', bpfDir, `OUT=${outDir}`], { stdio: 'pipe' });
  })();
  return built;
}

export function tempDir(prefix = 'xsni-'): string {
  return mkdtempSync(join(tmpdir(), `${prefix}${process.pid}-`));
}

/** A private bpffs mount for pinned maps, so tests never touch /sys/fs/bpf. */
export async function mountBpffs(): Promise<{ dir: string; pinDir: string; stateDir: string; cleanup: () => Promise<void> }> {
  const dir = tempDir('xsni-bpffs-');
  const fs = join(dir, 'bpffs');
  mkdirSync(fs);
  await execa('mount', ['-t', 'bpf', 'bpf', fs]);
  const stateDir = join(dir, 'state');
  return {
    dir,
    pinDir: join(fs, 'xdp-sni'),
    stateDir,
    cleanup: async () => {
      await execa('umount', [fs], { reject: false });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ToolEnv {
  pinDir: string;
  stateDir: string;
  bpffs?: string;
}

export function toolEnv(e: ToolEnv): Record<string, string> {
  const env: Record<string, string> = {
    XDP_SNI_PIN_DIR: e.pinDir,
    XDP_SNI_STATE_DIR: e.stateDir,
  };
  if (e.bpffs) env.LIBXDP_BPFFS = e.bpffs;
  return env;
}

/** Run xdp-sni; never throws, returns exit code and output. */
export async function runTool(args: string[], env?: Record<string, string>, input?: string) {
  const r = await execa(tool, args, { reject: false, env: { ...process.env, ...(env ?? {}) }, input });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

// ---------------------------------------------------------------- replay
export interface ReplayEvent {
  verdict: string;
  segments: number;
  /** QUIC events only: the daemon reads the whole hello; the data plane stops at the name */
  ech?: boolean;
  rst: boolean;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  family: number;
  /** the client's group (0: default) and the name's category bits */
  group: number;
  cats: number;
  /** where the name was read: a TCP ClientHello or a QUIC Initial (--quic) */
  door?: 'tls' | 'quic';
}
/** --quic: what the daemon's code did with the copies of one packet */
export interface ReplayQuic {
  copies: number;
  result: string;
  decided: boolean;
  verdict?: string;
  wait_ns?: number;
  name?: string;
}
export interface ReplayPacket {
  index: number;
  len: number;
  verdict: 'PASS' | 'DROP' | 'TX' | 'ABORTED' | 'REDIRECT';
  ns?: number;
  timing?: 'kernel' | 'wall' | 'flows';
  sni?: string;
  event?: ReplayEvent;
  out?: string;
  out_len?: number;
  quic?: ReplayQuic;
}
export interface ReplayResult {
  file: string;
  packets: ReplayPacket[];
  count: number;
  mean_ns?: number;
  counters: Record<string, number>;
  /** events the program could not write: the rings' own count */
  ring_lost?: number;
  /** --quic filter|hold: the program's QUIC counters and the daemon code's */
  quic_counters?: Record<string, number>;
  quic_stats?: Record<string, number>;
}

export interface ReplayOpts {
  blocklist?: string[];          // lines of a list file
  blocklistFile?: string;
  mode?: 'monitor' | 'block';
  rst?: boolean;
  /** block mode: what a hello with no readable name gets (the tool's default: block) */
  unreadable?: 'pass' | 'block';
  repeat?: number;
  obj?: string;
  ports?: string;
  exempt?: string;
  noDrain?: boolean;
  /** --repeat timing: the kernel's whole-ns figure, or wall clock of N minus N/10 runs */
  timing?: 'auto' | 'kernel' | 'wall' | 'flows';
  /** QUIC Initials judged by name (filter, hold: by the replay; daemon: by the running daemon) */
  quic?: 'off' | 'filter' | 'hold' | 'daemon';
  env?: Record<string, string>;
}

export async function replay(pcap: string, o: ReplayOpts = {}): Promise<ReplayResult> {
  const args = ['replay', pcap, '--json'];
  let tmp: string | undefined;
  if (o.blocklist) {
    tmp = tempDir('xsni-bl-');
    const f = join(tmp, 'list.txt');
    writeFileSync(f, o.blocklist.join('\n') + '\n');
    args.push('--blocklist', f);
  } else if (o.blocklistFile) {
    args.push('--blocklist', o.blocklistFile);
  }
  if (o.mode) args.push('--mode', o.mode);
  if (o.rst !== undefined) args.push('--rst', o.rst ? 'on' : 'off');
  if (o.unreadable) args.push('--unreadable', o.unreadable);
  if (o.repeat) args.push('--repeat', String(o.repeat));
  if (o.obj) args.push('--obj', o.obj);
  if (o.ports) args.push('--ports', o.ports);
  if (o.exempt) args.push('--exempt', o.exempt);
  if (o.noDrain) args.push('--no-drain');
  if (o.timing) args.push('--timing', o.timing);
  if (o.quic) args.push('--quic', o.quic);
  // no pinned blocklist unless the caller asks for one
  const env = o.env ?? { XDP_SNI_PIN_DIR: '/nonexistent/xdp-sni-test' };
  try {
    const r = await execa(tool, args, { env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
    return JSON.parse(String(r.stdout)) as ReplayResult;
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- pcap
export function readPcap(path: string): Buffer[] {
  const b = readFileSync(path);
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${path}: not a pcap`);
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const frames: Buffer[] = [];
  let off = 24;
  while (off + 16 <= b.length) {
    const caplen = u32(off + 8);
    frames.push(b.subarray(off + 16, off + 16 + caplen));
    off += 16 + caplen;
  }
  return frames;
}

export function writePcap(path: string, frames: Buffer[]): void {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(1, 20);
  parts.push(gh);
  frames.forEach((f, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_700_000_000 + Math.floor(i / 1000), 0);
    h.writeUInt32LE((i % 1000) * 1000, 4);
    h.writeUInt32LE(f.length, 8);
    h.writeUInt32LE(f.length, 12);
    parts.push(h, f);
  });
  writeFileSync(path, Buffer.concat(parts));
}

// ---------------------------------------------------------------- frames
export interface Decoded {
  v6: boolean;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload: Buffer;
}

function ipStr(b: Buffer, v6: boolean): string {
  if (!v6) return [...b].join('.');
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
  return parts.join(':');
}

/** Decode Ethernet (+VLANs) / IPv4|IPv6 / TCP; undefined for anything else. */
export function decode(f: Buffer): Decoded | undefined {
  let off = 14;
  let proto = f.readUInt16BE(12);
  while (proto === 0x8100 || proto === 0x88a8) {
    proto = f.readUInt16BE(off + 2);
    off += 4;
  }
  let v6 = false, src: Buffer, dst: Buffer, l4: number, end: number;
  if (proto === 0x0800) {
    if (f[off + 9] !== 6) return undefined;
    const ihl = (f[off] & 15) * 4;
    src = f.subarray(off + 12, off + 16);
    dst = f.subarray(off + 16, off + 20);
    l4 = off + ihl;
    end = off + f.readUInt16BE(off + 2);
  } else if (proto === 0x86dd) {
    if (f[off + 6] !== 6) return undefined;
    v6 = true;
    src = f.subarray(off + 8, off + 24);
    dst = f.subarray(off + 24, off + 40);
    l4 = off + 40;
    end = l4 + f.readUInt16BE(off + 4);
  } else return undefined;
  const doff = (f[l4 + 12] >> 4) * 4;
  return {
    v6, src: ipStr(src, v6), dst: ipStr(dst, v6),
    sport: f.readUInt16BE(l4), dport: f.readUInt16BE(l4 + 2),
    seq: f.readUInt32BE(l4 + 4), ack: f.readUInt32BE(l4 + 8), flags: f[l4 + 13],
    payload: f.subarray(l4 + doff, Math.min(end, f.length)),
  };
}

/** Client-to-server streams (dport 443): first payload byte's seq and the
 * in-order bytes, per connection, in capture order. */
export function clientStreams(frames: Buffer[], port = 443): { key: string; sport: number; isn: number; data: Buffer }[] {
  const m = new Map<string, { key: string; sport: number; isn: number; data: Buffer }>();
  for (const f of frames) {
    const d = decode(f);
    if (!d || d.dport !== port || d.payload.length === 0) continue;
    const key = `${d.src}:${d.sport}`;
    let s = m.get(key);
    if (!s) {
      s = { key, sport: d.sport, isn: d.seq, data: Buffer.alloc(0) };
      m.set(key, s);
    }
    const rel = (d.seq - s.isn) >>> 0;
    if (rel === s.data.length) s.data = Buffer.concat([s.data, d.payload]);
  }
  return [...m.values()];
}

/** The first TLS record of a stream (the ClientHello record). */
export function firstRecord(stream: Buffer): Buffer {
  const len = stream.readUInt16BE(3);
  return stream.subarray(0, 5 + len);
}

function csum(buf: Buffer, init = 0): number {
  let s = init;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16BE(i);
  if (buf.length & 1) s += buf[buf.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function ipBytes(a: string, v6: boolean): Buffer {
  if (!v6) return Buffer.from(a.split('.').map(Number));
  const [h, t] = a.split('::');
  const hp = h ? h.split(':') : [];
  const tp = t !== undefined && t !== '' ? t.split(':') : [];
  const words = [...hp, ...Array(8 - hp.length - tp.length).fill('0'), ...tp];
  const b = Buffer.alloc(16);
  words.forEach((w, i) => b.writeUInt16BE(parseInt(w, 16), i * 2));
  return b;
}

export interface FrameOpts {
  src?: string;
  dst?: string;
  sport: number;
  dport?: number;
  seq: number;
  ack?: number;
  flags?: number;              // default PSH|ACK
  payload?: Buffer;
  v6?: boolean;
  vlans?: number[];            // VLAN IDs, outermost first (first is 802.1ad if two)
  ipOptions?: number;          // bytes of IPv4 options (NOPs)
  v6ExtHeaders?: number[];     // next-header values of extension headers to insert
  fragOffset?: number;         // IPv4 fragment offset (8-byte units)
  tcpOptions?: number;         // bytes of TCP options (NOPs)
  ttl?: number;                // IPv4 TTL / IPv6 hop limit (default 64)
  srcMac?: string;             // Ethernet source (default 02:00:00:00:00:01)
}

export const TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10;

export function tcpFrame(o: FrameOpts): Buffer {
  const payload = o.payload ?? Buffer.alloc(0);
  const topt = o.tcpOptions ?? 0;
  const tcp = Buffer.alloc(20 + topt);
  tcp.writeUInt16BE(o.sport, 0);
  tcp.writeUInt16BE(o.dport ?? 443, 2);
  tcp.writeUInt32BE(o.seq >>> 0, 4);
  tcp.writeUInt32BE((o.ack ?? 1) >>> 0, 8);
  tcp[12] = ((20 + topt) / 4) << 4;
  tcp[13] = o.flags ?? (TCP_PSH | TCP_ACK);
  tcp.writeUInt16BE(64240, 14);
  tcp.fill(1, 20);
  return ipFrame(o, 6, Buffer.concat([tcp, payload]), 16);
}

/** An Ethernet frame with a UDP datagram (the IP options of FrameOpts apply). */
export function udpFrame(o: Omit<FrameOpts, 'seq' | 'ack' | 'flags' | 'tcpOptions'>): Buffer {
  const payload = o.payload ?? Buffer.alloc(0);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(o.sport, 0);
  udp.writeUInt16BE(o.dport ?? 443, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return ipFrame(o, 17, Buffer.concat([udp, payload]), 6);
}

/** Ethernet, VLAN tags and IPv4/IPv6 around the transport segment L4 of
 * protocol PROTO, whose checksum (at csumOff) is filled in here. */
function ipFrame(o: Omit<FrameOpts, 'seq' | 'sport'>, proto: number, l4: Buffer, csumOff: number): Buffer {
  const v6 = !!o.v6;
  const src = ipBytes(o.src ?? (v6 ? 'fd00::1' : '10.9.0.1'), v6);
  const dst = ipBytes(o.dst ?? (v6 ? 'fd00::2' : '10.9.0.2'), v6);
  const pseudo = v6
    ? Buffer.concat([src, dst, Buffer.from([0, 0, (l4.length >> 8) & 255, l4.length & 255, 0, 0, 0, proto])])
    : Buffer.concat([src, dst, Buffer.from([0, proto, (l4.length >> 8) & 255, l4.length & 255])]);
  l4.writeUInt16BE(~csum(l4, csum(pseudo)) & 0xffff, csumOff);
  let l3: Buffer;
  if (!v6) {
    const opt = o.ipOptions ?? 0;
    const ip = Buffer.alloc(20 + opt);
    ip[0] = 0x40 | ((20 + opt) / 4);
    ip.writeUInt16BE(ip.length + l4.length, 2);
    ip.writeUInt16BE(o.fragOffset ?? 0x4000, 6);
    if (o.fragOffset !== undefined) ip.writeUInt16BE(o.fragOffset & 0x1fff, 6);
    ip[8] = o.ttl ?? 64;
    ip[9] = proto;
    src.copy(ip, 12);
    dst.copy(ip, 16);
    ip.fill(1, 20);
    ip.writeUInt16BE(~csum(ip) & 0xffff, 10);
    l3 = Buffer.concat([ip, l4]);
  } else {
    const ext = o.v6ExtHeaders ?? [];
    const exts: Buffer[] = [];
    ext.forEach((_t, i) => {
      const e = Buffer.alloc(8);
      e[0] = i + 1 < ext.length ? ext[i + 1] : proto;
      exts.push(e);
    });
    const ip = Buffer.alloc(40);
    ip[0] = 0x60;
    const extLen = exts.reduce((a, e) => a + e.length, 0);
    ip.writeUInt16BE(extLen + l4.length, 4);
    ip[6] = ext.length ? ext[0] : proto;
    ip[7] = o.ttl ?? 64;
    src.copy(ip, 8);
    dst.copy(ip, 24);
    l3 = Buffer.concat([ip, ...exts, l4]);
  }
  const vlans = o.vlans ?? [];
  const eth = Buffer.alloc(14 + 4 * vlans.length);
  Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]).copy(eth, 0);
  if (o.srcMac) Buffer.from(o.srcMac.split(':').map((h) => parseInt(h, 16))).copy(eth, 6);
  let off = 12;
  vlans.forEach((id, i) => {
    eth.writeUInt16BE(vlans.length === 2 && i === 0 ? 0x88a8 : 0x8100, off);
    eth.writeUInt16BE(id, off + 2);
    off += 4;
  });
  eth.writeUInt16BE(v6 ? 0x86dd : 0x0800, off);
  return Buffer.concat([eth, l3]);
}

// ---------------------------------------------------------------- TLS
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

export function ext(type: number, data: Buffer, lenOverride?: number): Buffer {
  return Buffer.concat([u16(type), u16(lenOverride ?? data.length), data]);
}

export function sniExt(name: string | Buffer, o: { listLen?: number; nameLen?: number; nameType?: number } = {}): Buffer {
  const n = typeof name === 'string' ? Buffer.from(name, 'latin1') : name;
  const entry = Buffer.concat([Buffer.from([o.nameType ?? 0]), u16(o.nameLen ?? n.length), n]);
  return ext(0, Buffer.concat([u16(o.listLen ?? entry.length), entry]));
}

export interface HelloOpts {
  before?: Buffer[];          // extensions before server_name
  after?: Buffer[];           // extensions after it
  noSni?: boolean;
  sniExtension?: Buffer;      // replace the server_name extension
  hsType?: number;
  recordLen?: number;         // override
  hsLen?: number;             // override
  extsLen?: number;           // override
}

/** A TLS 1.3-style ClientHello record carrying `name`. */
export function clientHello(name: string | Buffer, o: HelloOpts = {}): Buffer {
  const suites = Buffer.from([0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2f]);
  const before = o.before ?? [ext(0x000a, Buffer.from([0, 4, 0, 0x1d, 0, 0x17]))];
  const after = o.after ?? [
    ext(0x002b, Buffer.from([4, 3, 4, 3, 3])),
    ext(0x0033, Buffer.concat([u16(36), u16(0x1d), u16(32), Buffer.alloc(32, 7)])),
  ];
  const sni = o.noSni ? [] : [o.sniExtension ?? sniExt(name)];
  const exts = Buffer.concat([...before, ...sni, ...after]);
  const body = Buffer.concat([
    Buffer.from([3, 3]), Buffer.alloc(32, 0x11), Buffer.from([32]), Buffer.alloc(32, 0x22),
    u16(suites.length), suites, Buffer.from([1, 0]), u16(o.extsLen ?? exts.length), exts,
  ]);
  const hl = o.hsLen ?? body.length;
  const hs = Buffer.concat([Buffer.from([o.hsType ?? 1, (hl >> 16) & 255, (hl >> 8) & 255, hl & 255]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(o.recordLen ?? hs.length), hs]);
}

/** Frames of one connection carrying `record` cut at the given stream
 * offsets (no handshake; the program does not need one). */
export function segmentFrames(record: Buffer, cuts: number[], base: Omit<FrameOpts, 'seq'> & { isn?: number }): Buffer[] {
  const isn = base.isn ?? 1000;
  const points = [0, ...cuts, record.length];
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    out.push(tcpFrame({ ...base, seq: isn + points[i], payload: record.subarray(points[i], points[i + 1]) }));
  }
  return out;
}

/** Expected SNI per fixture, from test/fixtures/clienthello/INDEX.md. */
export function fixtureIndex(): { file: string; sni: string; conns: number }[] {
  const md = readFileSync(join(fixturesDir, 'INDEX.md'), 'utf8');
  const rows: { file: string; sni: string; conns: number }[] = [];
  for (const line of md.split('\n')) {
    const m = /^\| ([\w.-]+\.pcap) \|[^|]*\|[^|]*\| ([^|]+) \| ([^|]+) \|/.exec(line);
    if (m) rows.push({ file: m[1], sni: m[2].trim(), conns: m[3].split('/').length });
  }
  return rows;
}

export function rmrf(p: string): void {
  rmSync(p, { recursive: true, force: true });
}

/** Byte range [start, end) of the server_name extension and of the name
 * itself inside a ClientHello record (parsed in TypeScript, independently
 * of the BPF parser). */
export function sniRange(rec: Buffer): { extStart: number; extEnd: number; nameStart: number; nameEnd: number } {
  let o = 5 + 4 + 34;
  o += 1 + rec[o];
  o += 2 + rec.readUInt16BE(o);
  o += 1 + rec[o];
  const end = o + 2 + rec.readUInt16BE(o);
  o += 2;
  while (o < end) {
    const type = rec.readUInt16BE(o), len = rec.readUInt16BE(o + 2);
    if (type === 0) {
      const nl = rec.readUInt16BE(o + 7);
      return { extStart: o, extEnd: o + 4 + len, nameStart: o + 9, nameEnd: o + 9 + nl };
    }
    o += 4 + len;
  }
  throw new Error('no server_name');
}

/** Deterministic PRNG (mulberry32) for reproducible random inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Group replay packets by client source port (one flow per port). */
export function bySport(frames: Buffer[], r: ReplayResult): Map<number, ReplayPacket[]> {
  const m = new Map<number, ReplayPacket[]>();
  frames.forEach((f, i) => {
    const d = decode(f);
    if (!d) return;
    const k = d.dport === 443 || d.dport === 8443 ? d.sport : d.dport;
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(r.packets[i]);
  });
  return m;
}
