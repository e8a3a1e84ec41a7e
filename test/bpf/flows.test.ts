// Flow state across segments, header variants, ports, exemptions, jumbo
// (multi-buffer) frames.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import {
  buildBpf, replay, writePcap, segmentFrames, tcpFrame, clientHello, ext, tempDir, rmrf, sniRange,
  TCP_SYN, TCP_ACK, decode, type ReplayResult,
} from './lib.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  await buildBpf();
  dir = tempDir('xsni-flows-');
});
afterAll(() => rmrf(dir));

// flow_slot() of xdp_sni.bpf.c for 10.9.0.1 -> 10.9.0.2:443 (tcpFrame's
// defaults): the 32-bit words as the program loads them (little endian)
function slotOf(sport: number, dport = 443): number {
  const s = Buffer.from([10, 9, 0, 1]).readUInt32LE(0);
  const ports = Buffer.from([sport >> 8, sport & 255, dport >> 8, dport & 255]).readUInt32LE(0);
  return Math.imul((s ^ ports) >>> 0, 0x9e3779b1) >>> 20;
}
function sameSlot(sport: number): number {
  for (let p = sport + 1; p < 65536; p++) if (slotOf(p) === slotOf(sport)) return p;
  throw new Error('no colliding port');
}

async function run(frames: Buffer[], blocklist = ['blocked.example'], extra: Parameters<typeof replay>[1] = {}): Promise<ReplayResult> {
  const p = join(dir, `f${n++}.pcap`);
  writePcap(p, frames);
  return replay(p, { blocklist, ...extra });
}

const rec = clientHello('blocked.example', {
  before: [ext(0x0015, Buffer.alloc(600)), ext(0x000a, Buffer.from([0, 2, 0, 0x1d]))],
});
const range = sniRange(rec);
// three segments; the name is in the third
const cuts = [300, range.nameStart + 3];

describe('flow state', () => {
  it('carries the parser across three segments', async () => {
    const r = await run(segmentFrames(rec, cuts, { sport: 1111 }));
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'DROP']);
    expect(r.packets[2].event!.segments).toBe(3);
    expect(r.counters.sni_multiseg).toBe(1);
  });

  it('restarts cleanly on a retransmitted first segment', async () => {
    const f = segmentFrames(rec, cuts, { sport: 1112 });
    const r = await run([f[0], f[1], f[0], f[1], f[2]]);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'PASS', 'DROP']);
    expect(r.packets.filter((p) => p.event).length).toBe(1);
    expect(r.counters.clienthellos).toBe(2);
    expect(r.counters.given_up).toBe(0);
  });

  it('passes an old retransmission of a middle segment without losing the flow', async () => {
    const f = segmentFrames(rec, [200, 400, range.nameStart + 2], { sport: 1113 });
    const r = await run([f[0], f[1], f[2], f[1], f[3]]);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'PASS', 'DROP']);
    expect(r.counters.given_up).toBe(0);
  });

  it('drops a segment that comes ahead of a gap, and reads it when it comes again in order', async () => {
    const f = segmentFrames(rec, cuts, { sport: 1114 });
    // f[2] overtakes f[1]: dropped (held), so the client sends it again
    const r = await run([f[0], f[2], f[1], f[2]]);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'DROP', 'PASS', 'DROP']);
    expect(r.packets[1].event).toBeUndefined();
    expect(r.packets[3].sni).toBe('blocked.example');
    expect(r.counters.reordered).toBe(1);
    expect(r.counters.given_up).toBe(0);
    expect(r.counters.unreadable).toBe(0);
  });

  it('holds reordered later segments until the gap is filled', async () => {
    const f = segmentFrames(rec, [200, 400, range.nameStart + 2], { sport: 1115 });
    const r = await run([f[0], f[2], f[3], f[1], f[2], f[3]]);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'DROP', 'DROP', 'PASS', 'PASS', 'DROP']);
    expect(r.packets.filter((p) => p.event).map((p) => p.sni)).toEqual(['blocked.example']);
    expect(r.counters.reordered).toBe(2);
  });

  it('takes the new bytes of an overlapping retransmission', async () => {
    const f = segmentFrames(rec, [300], { sport: 1117 });
    // the second segment starts 50 bytes early (repeating them) and holds the name
    const overlap = tcpFrame({ sport: 1117, seq: 1000 + 250, payload: rec.subarray(250) });
    const r = await run([f[0], overlap]);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'DROP']);
    expect(r.packets[1].sni).toBe('blocked.example');
    // and one that overlaps both ends of the gap
    const g = segmentFrames(rec, [200, 400], { sport: 1118 });
    const wide = tcpFrame({ sport: 1118, seq: 1000 + 150, payload: rec.subarray(150, range.nameStart + 5) });
    const r2 = await run([g[0], wide, g[2]]);
    expect(r2.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'DROP']);
    expect(r2.packets[2].sni).toBe('blocked.example');
  });

  it('judges the real hello after a fake one: a whole fake, or a fake first segment, buys no pass', async () => {
    const fake = clientHello('allowed.example');
    // a whole fake hello with the same sequence number (one a low TTL or a
    // bad checksum keeps from the server), then the real one
    const f1 = segmentFrames(rec, cuts, { sport: 1119 });
    const fake1 = tcpFrame({ sport: 1119, seq: 1000, payload: fake });
    const r1 = await run([fake1, ...f1]);
    expect(r1.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'DROP']);
    expect(r1.packets.filter((p) => p.event).map((p) => p.sni)).toEqual(['allowed.example', 'blocked.example']);
    // the first part of a fake hello, then the real hello from its start
    const f2 = segmentFrames(rec, cuts, { sport: 1120 });
    const fake2 = tcpFrame({ sport: 1120, seq: 1000, payload: fake.subarray(0, 60) });
    const r2 = await run([fake2, ...f2]);
    expect(r2.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'DROP']);
    expect(r2.packets[3].sni).toBe('blocked.example');
    // a fake hello sent on the same flow after the real one's first segment
    const f3 = segmentFrames(rec, cuts, { sport: 1121 });
    const fake3 = tcpFrame({ sport: 1121, seq: 1000, payload: fake });
    const r3 = await run([f3[0], fake3, ...f3]);
    expect(r3.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'PASS', 'DROP']);
    expect(r3.packets[4].sni).toBe('blocked.example');
  });

  it('a fake with a low TTL sent amid the real segments buys no pass', async () => {
    const fake = clientHello('allowed.example');
    // the real first segment, then a whole fake hello on the same sequence
    // number with a TTL that dies before the server: held, not read
    const f = segmentFrames(rec, cuts, { sport: 1122 });
    const lowFake = tcpFrame({ sport: 1122, seq: 1000, payload: fake, ttl: 2 });
    const r = await run([f[0], lowFake, f[1], f[2]]);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'DROP', 'PASS', 'DROP']);
    expect(r.packets.filter((p) => p.event).map((p) => p.sni)).toEqual(['blocked.example']);
    // a low-TTL fake first part, then the real hello from its start
    const g = segmentFrames(rec, cuts, { sport: 1123 });
    const lowPart = tcpFrame({ sport: 1123, seq: 1000, payload: fake.subarray(0, 60), ttl: 2 });
    const r2 = await run([lowPart, ...g]);
    expect(r2.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'DROP']);
    expect(r2.packets[3].sni).toBe('blocked.example');
    // a low-TTL fake first part, then a real segment that overlaps it:
    // the bytes cannot be trusted, the hello is unreadable
    const h = segmentFrames(rec, [40, 200], { sport: 1124 });
    const lowLong = tcpFrame({ sport: 1124, seq: 1000, payload: fake.subarray(0, 60), ttl: 2 });
    const r3 = await run([lowLong, h[1], h[2]]);
    expect(r3.packets[1].verdict).toBe('DROP');
    expect(r3.packets[1].event?.verdict).toBe('unreadable-block');
  });

  // Two segments cut inside the extension before the name, as Chromium's
  // are: the second is read by next_lane, the fast lane's own call, which
  // must keep every rule of hello_next.
  it('the second segment\'s fast lane: another TTL, or bytes out of order, are not read as the next ones', async () => {
    const fake = clientHello('allowed.example', {
      before: [ext(0x0015, Buffer.alloc(600)), ext(0x000a, Buffer.from([0, 2, 0, 0x1d]))],
    });
    expect(fake.length).toBe(rec.length);
    // the real first segment, a fake second one with a TTL that dies
    // before the server (held like a segment out of order), the real one
    const f = segmentFrames(rec, [300], { sport: 1125 });
    const lowNext = tcpFrame({ sport: 1125, seq: 1300, payload: fake.subarray(300), ttl: 2 });
    const r = await run([f[0], lowNext, f[1]]);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'DROP', 'DROP']);
    expect(r.packets.filter((p) => p.event).map((p) => p.sni)).toEqual(['blocked.example']);
    expect(r.packets[2].event!.verdict).toBe('block');
    expect(r.counters.reordered).toBe(1);
    // a fake first segment with a low TTL, then the real second one: its
    // bytes cannot be trusted to follow, the hello is unreadable
    const g = segmentFrames(rec, [300], { sport: 1126 });
    const lowFirst = tcpFrame({ sport: 1126, seq: 1000, payload: fake.subarray(0, 300), ttl: 2 });
    const r2 = await run([lowFirst, g[1]]);
    expect(r2.packets.map((p) => p.verdict)).toEqual(['PASS', 'DROP']);
    expect(r2.packets[1].event!.verdict).toBe('unreadable-block');
    // the third segment ahead of the second: held, then read in order
    const h = segmentFrames(rec, [300, 500], { sport: 1127 });
    const r3 = await run([h[0], h[2], h[1], h[2]]);
    expect(r3.packets.map((p) => p.verdict)).toEqual(['PASS', 'DROP', 'PASS', 'DROP']);
    expect(r3.packets.filter((p) => p.event).map((p) => [p.sni, p.event!.segments])).toEqual([['blocked.example', 3]]);
    // a segment ahead of a gap, with a decoy server_name where the next
    // extension header would be if it had come in order
    const k = segmentFrames(rec, [300], { sport: 1128 });
    const nextHdr = rec.indexOf(Buffer.from([0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d]));
    const fr = sniRange(fake);
    const decoy = Buffer.from(rec.subarray(310));
    fake.copy(decoy, nextHdr - 300, fr.extStart, fr.extEnd);
    const gap = tcpFrame({ sport: 1128, seq: 1310, payload: decoy });
    const r4 = await run([k[0], gap, k[1]]);
    expect(r4.packets.map((p) => p.verdict)).toEqual(['PASS', 'DROP', 'DROP']);
    expect(r4.packets.filter((p) => p.event).map((p) => p.sni)).toEqual(['blocked.example']);
  });

  it('reads a ClientHello fragmented over several TLS records, whatever their version bytes', async () => {
    const hs = rec.subarray(5);
    const wrap = (parts: Buffer[], versions: number[]) => Buffer.concat(parts.flatMap((b, i) =>
      [Buffer.from([0x16, versions[i] >> 8, versions[i] & 255, b.length >> 8, b.length & 255]), b]));
    const cutsAt = (points: number[]) => [0, ...points, hs.length].slice(1).map((e, i, a) => hs.subarray(i ? a[i - 1] : 0, e));
    const nameIn = range.nameStart - 5;
    const cases: [string, Buffer][] = [
      ['two records, the cut in the name', wrap(cutsAt([nameIn + 4]), [0x0301, 0x0303])],
      ['a record per field', wrap(cutsAt([1, 2, 3, 4, 40, 41, nameIn - 3, nameIn + 1]), Array(9).fill(0x0303))],
      ['odd version bytes', wrap(cutsAt([100]), [0x0000, 0xff7f])],
      ['one record, version 0x0200', wrap([hs], [0x0200])],
    ];
    for (const [what, stream] of cases) {
      for (const segCuts of [[], [7], [stream.length - 30], [3, 50, nameIn + 20]]) {
        const frames = segmentFrames(stream, segCuts.filter((c) => c < stream.length), { sport: 1130 });
        const r = await run(frames);
        const ev = r.packets.filter((p) => p.event);
        expect(ev.map((p) => p.sni), `${what} at ${segCuts}`).toEqual(['blocked.example']);
        expect(r.packets.at(-1)!.verdict, `${what} at ${segCuts}`).toBe('DROP');
      }
    }
  });

  it('a continuation record of another type makes the hello unreadable', async () => {
    const hs = rec.subarray(5);
    const stream = Buffer.concat([
      Buffer.from([0x16, 3, 1, 0, 100]), hs.subarray(0, 100),
      Buffer.from([0x17, 3, 3, (hs.length - 100) >> 8, (hs.length - 100) & 255]), hs.subarray(100),
    ]);
    const r = await run([tcpFrame({ sport: 1131, seq: 1, payload: stream })]);
    expect(r.packets[0].verdict).toBe('DROP');
    expect(r.packets[0].event?.verdict).toBe('unreadable-block');
  });

  it('a hello in more than 64 segments is unreadable', async () => {
    const points = Array.from({ length: 70 }, (_, i) => 1 + i);
    const r = await run(segmentFrames(rec, points, { sport: 1132 }));
    const ev = r.packets.filter((p) => p.event);
    expect(ev.length).toBe(1);
    expect(ev[0].event!.verdict).toBe('unreadable-block');
    expect(r.counters.given_up).toBe(1);
    expect(r.counters.unreadable).toBe(1);
  });

  it('drops retransmissions and later data of a blocked flow, and forgets it on a new SYN', async () => {
    const f = segmentFrames(rec, [], { sport: 1116 });
    const after = tcpFrame({ sport: 1116, seq: 1000 + rec.length, payload: Buffer.from('after') });
    const syn = tcpFrame({ sport: 1116, seq: 5000, flags: TCP_SYN });
    const clean = segmentFrames(clientHello('fine.example'), [], { sport: 1116, isn: 5001 });
    const r = await run([f[0], f[0], after, syn, ...clean]);
    expect(r.packets.map((p) => p.verdict)).toEqual(['DROP', 'DROP', 'DROP', 'PASS', 'PASS']);
    expect(r.counters.dropped_later).toBe(2);
    expect(r.packets[4].sni).toBe('fine.example');
  });

  it('keeps flows on one slot apart: a set holds four half-read hellos, a fifth evicts one, nothing mixes', async () => {
    // five source ports whose 4-tuples hash to the same slot (and record set)
    const ports = [5101];
    while (ports.length < 5) ports.push(sameSlot(ports.at(-1)!));
    const names = ports.map((_, i) => `flow${i}.example`);
    const flows = ports.map((p, i) => {
      const rec = clientHello(names[i], { before: [ext(0x0015, Buffer.alloc(600))] });
      return segmentFrames(rec, [300, sniRange(rec).nameStart + 3], { sport: p });
    });
    const order = [0, 1, 2].flatMap((k) => flows.map((f) => f[k]));
    const r = await run(order, names);
    // every event names its own flow; four flows are read, and the one whose
    // record the fifth took is judged unreadable at its next segment
    // (counted): it does not pass unread
    const events = r.packets.filter((p) => p.event);
    const named = events.filter((p) => p.sni !== '');
    for (const p of named) expect(p.sni).toBe(`flow${ports.indexOf(p.event!.sport)}.example`);
    expect(named.length).toBe(4);
    expect(r.counters.hello_busy).toBe(1);
    const unread = ports.findIndex((p) => !named.some((e) => e.event!.sport === p));
    const lost = events.filter((p) => p.sni === '');
    expect(lost.map((p) => [p.event!.sport, p.event!.verdict, p.verdict])).toEqual([[ports[unread], 'unreadable-block', 'DROP']]);
    expect(r.counters.unreadable).toBe(1);
    // with UNREADABLE=pass its retransmitted hello is read
    const again = await run([...order, ...flows[unread]], names, { unreadable: 'pass' });
    expect(again.packets.at(-1)!.sni).toBe(names[unread]);
    expect(again.packets.at(-1)!.verdict).toBe('DROP');
  });

  it('two half-read hellos on one slot both finish', async () => {
    const a = 5301;
    const b = sameSlot(a);
    const ra = clientHello('alpha.example', { before: [ext(0x0015, Buffer.alloc(600))] });
    const rb = clientHello('beta.example', { before: [ext(0x0015, Buffer.alloc(600))] });
    const fa = segmentFrames(ra, [300, sniRange(ra).nameStart + 3], { sport: a });
    const fb = segmentFrames(rb, [300, sniRange(rb).nameStart + 3], { sport: b });
    const r = await run([fa[0], fb[0], fa[1], fb[1], fa[2], fb[2]], ['alpha.example', 'beta.example']);
    expect(r.packets.map((p) => p.sni ?? '-')).toEqual(['-', '-', '-', '-', 'alpha.example', 'beta.example']);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'PASS', 'DROP', 'DROP']);
    expect(r.counters.hello_busy).toBe(0);
  });

  it('a hello that finishes on a shared slot leaves the mark for the other one in flight', async () => {
    // b takes the slot's mark from a, then finishes: a's next segments
    // must still find a's record (an evasion tool could pick the ports)
    const a = 5401;
    const b = sameSlot(a);
    const ra = clientHello('alpha.example', { before: [ext(0x0015, Buffer.alloc(600))] });
    const rb = clientHello('beta.example', { before: [ext(0x0015, Buffer.alloc(600))] });
    const fa = segmentFrames(ra, [300, sniRange(ra).nameStart + 3], { sport: a });
    const fb = segmentFrames(rb, [300, sniRange(rb).nameStart + 3], { sport: b });
    for (const listed of [['alpha.example', 'beta.example'], ['alpha.example']]) {
      const r = await run([fa[0], fb[0], fb[1], fb[2], fa[1], fa[2]], listed);
      expect(r.packets.map((p) => p.sni ?? '-')).toEqual(['-', '-', '-', 'beta.example', '-', 'alpha.example']);
      expect(r.packets[5].verdict).toBe('DROP');
    }
  });



  it('a blocked flow\'s mark stays its own on a shared slot', async () => {
    const a = 5201;
    const b = sameSlot(a);
    const blocked = segmentFrames(clientHello('blocked.example'), [], { sport: a });
    const fine = segmentFrames(clientHello('fine.example'), [], { sport: b });
    const dataA = tcpFrame({ sport: a, seq: 1000 + 400, payload: Buffer.from('later') });
    const dataB = tcpFrame({ sport: b, seq: 1000 + 400, payload: Buffer.from('later') });
    const r = await run([blocked[0], fine[0], dataB, dataA, blocked[0]]);
    expect(r.packets.map((p) => p.verdict)).toEqual(['DROP', 'PASS', 'PASS', 'DROP', 'DROP']);
    expect(r.packets[1].sni).toBe('fine.example');
    expect(r.counters.dropped_later).toBe(2);
  });

  it('judges every ClientHello on a flow: a decoy hello sent first buys no pass', async () => {
    // an evasion tool sends a hello for an unlisted name that never reaches
    // the server (low TTL or bad checksum), then the real one at the same seq
    const decoy = segmentFrames(clientHello('decoy.example'), [], { sport: 5401 });
    const decoyHalf = segmentFrames(clientHello('decoy.example', { before: [ext(0x0015, Buffer.alloc(600))] }), [300], { sport: 5402 });
    const real1 = segmentFrames(rec, [], { sport: 5401 });
    const real2 = segmentFrames(rec, cuts, { sport: 5402 });
    const r = await run([decoy[0], real1[0], decoyHalf[0], ...real2]);
    expect(r.packets.map((p) => p.sni ?? '-')).toEqual(['decoy.example', 'blocked.example', '-', '-', '-', 'blocked.example']);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'DROP', 'PASS', 'PASS', 'PASS', 'DROP']);
  });

  it('keeps flows apart', async () => {
    const a = segmentFrames(rec, cuts, { sport: 2001 });
    const b = segmentFrames(clientHello('other.example', { before: [ext(0x15, Buffer.alloc(600))] }), cuts, { sport: 2002 });
    const r = await run([a[0], b[0], a[1], b[1], b[2], a[2]]);
    expect(r.packets.map((p) => p.sni ?? '-')).toEqual(['-', '-', '-', '-', 'other.example', 'blocked.example']);
    expect(r.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'DROP']);
  });

  it('handles a 16 KB ClientHello over many segments and as one multi-buffer frame', async () => {
    const big = clientHello('blocked.example', { before: [ext(0x0015, Buffer.alloc(16000))] });
    expect(big.length - 5).toBeLessThanOrEqual(16384);
    const cutsBig: number[] = [];
    for (let o = 1448; o < big.length; o += 1448) cutsBig.push(o);
    const r = await run(segmentFrames(big, cutsBig, { sport: 3001 }));
    expect(r.packets.at(-1)!.verdict).toBe('DROP');
    expect(r.packets.at(-1)!.event!.segments).toBe(cutsBig.length + 1);
    // one jumbo frame: BPF_PROG_TEST_RUN builds a multi-buffer xdp_buff
    const j = await run([tcpFrame({ sport: 3002, seq: 1, payload: big })]);
    expect(j.packets[0].verdict).toBe('DROP');
    expect(j.packets[0].sni).toBe('blocked.example');
  });

  it('finds the SNI after many extensions (past the fast path\'s 32), with ECH after it', async () => {
    const many = Array.from({ length: 70 }, (_, i) => ext(0x7000 + i, Buffer.alloc(i % 5)));
    const hello = clientHello('blocked.example', { before: many, after: [ext(0xfe0d, Buffer.alloc(40))] });
    const r = await run([tcpFrame({ sport: 3010, seq: 1, payload: hello })]);
    expect(r.packets[0].verdict).toBe('DROP');
    expect(r.packets[0].sni).toBe('blocked.example');
    const few = clientHello('blocked.example', { before: many.slice(0, 5), after: [ext(0xfe0d, Buffer.alloc(40))] });
    const r2 = await run([tcpFrame({ sport: 3011, seq: 1, payload: few })]);
    expect(r2.packets[0].verdict).toBe('DROP');
    expect(r2.packets[0].sni).toBe('blocked.example');
    expect(r2.counters.parse_errors).toBe(0);
  });

  it('rejects a record over 16 KB as a parse error', async () => {
    const huge = clientHello('blocked.example', { before: [ext(0x0015, Buffer.alloc(16400))] });
    const r = await run([tcpFrame({ sport: 3003, seq: 1, payload: huge })]);
    expect(r.packets[0].verdict).toBe('PASS');
    expect(r.counters.parse_errors).toBe(1);
  });
});

describe('events', () => {
  it('full event rings lose events, never verdicts, and the loss is counted', async () => {
    const frames = Array.from({ length: 60 }, (_, i) => tcpFrame({ sport: 4500 + i, seq: 1, payload: clientHello('blocked.example') }));
    const ok = await run(frames, ['blocked.example']);
    expect(ok.packets.every((p) => p.verdict === 'DROP' && p.event?.verdict === 'block')).toBe(true);
    expect(ok.counters.events_lost).toBe(0);
    // --no-drain: every ring looks full and is never read
    const r = await run(frames, ['blocked.example'], { noDrain: true });
    expect(r.packets.every((p) => p.verdict === 'DROP' && !p.event)).toBe(true);
    expect(r.counters.blocked).toBe(60);
    expect(r.counters.events_lost).toBe(60);
    expect(r.ring_lost).toBe(60);
    // the same with RST: every server still gets its reset
    const r2 = await run(frames, ['blocked.example'], { noDrain: true, rst: true });
    expect(r2.packets.every((p) => p.verdict === 'PASS' && p.out)).toBe(true);
    expect(r2.counters.rst_server).toBe(60);
  });

  it('full event rings never let a hello in several segments pass: cut between extensions, inside the name, in three', async () => {
    // the cuts: at the server_name extension's header (the next segment
    // resumes the straight-line walk), inside the name (its first bytes wait
    // in the record), and at 300 plus inside the name
    const plans = [[range.extStart], [range.nameStart + 3], [300, range.nameStart + 3]];
    const frames = plans.flatMap((c, i) => segmentFrames(rec, c, { sport: 4600 + i, isn: 9000 }));
    const last = plans.map((c, i) => plans.slice(0, i).reduce((a, p) => a + p.length + 1, 0) + c.length);
    const ok = await run(frames);
    expect(last.map((k) => ok.packets[k].verdict)).toEqual(['DROP', 'DROP', 'DROP']);
    const r = await run(frames, ['blocked.example'], { noDrain: true });
    expect(last.map((k) => r.packets[k].verdict)).toEqual(['DROP', 'DROP', 'DROP']);
    expect(r.packets.filter((p) => p.verdict === 'PASS')).toHaveLength(frames.length - 3);
    expect(r.counters.matched).toBe(3);
    expect(r.counters.events_lost).toBe(3);
  });
});

describe('headers', () => {
  const hello = clientHello('blocked.example');
  const cases: [string, Parameters<typeof tcpFrame>[0]][] = [
    ['IPv4', { sport: 4001, seq: 1 }],
    ['IPv4 with 40 bytes of options (IHL 15)', { sport: 4002, seq: 1, ipOptions: 40 }],
    ['IPv4 with 4 bytes of options', { sport: 4003, seq: 1, ipOptions: 4 }],
    ['TCP with 40 bytes of options', { sport: 4004, seq: 1, tcpOptions: 40 }],
    ['802.1Q', { sport: 4005, seq: 1, vlans: [100] }],
    ['802.1ad + 802.1Q (QinQ)', { sport: 4006, seq: 1, vlans: [200, 100] }],
    ['IPv6', { sport: 4007, seq: 1, v6: true }],
    ['IPv6 + hop-by-hop + dest opts + routing', { sport: 4008, seq: 1, v6: true, v6ExtHeaders: [0, 60, 43] }],
    ['IPv6 + fragment header (first fragment)', { sport: 4009, seq: 1, v6: true, v6ExtHeaders: [44] }],
    ['IPv6 over QinQ', { sport: 4010, seq: 1, v6: true, vlans: [5, 6] }],
  ];
  for (const [name, o] of cases) {
    it(`finds and blocks the SNI: ${name}`, async () => {
      const r = await run([tcpFrame({ ...o, payload: hello })]);
      expect(r.packets[0].sni).toBe('blocked.example');
      expect(r.packets[0].verdict).toBe('DROP');
    });
  }

  it('skips IPv4 non-first fragments without parsing', async () => {
    const r = await run([tcpFrame({ sport: 4011, seq: 1, payload: hello, fragOffset: 0x2000 | 185 })]);
    expect(r.packets[0].verdict).toBe('PASS');
    expect(r.counters.watched).toBe(0);
  });

  it('watches only the configured ports', async () => {
    const f = [tcpFrame({ sport: 4012, dport: 8443, seq: 1, payload: hello })];
    const r1 = await run(f);
    expect(r1.packets[0].verdict).toBe('PASS');
    expect(r1.counters.clienthellos).toBe(0);
    const r2 = await run(f, ['blocked.example'], { ports: '443,8443' });
    expect(r2.packets[0].verdict).toBe('DROP');
    const r3 = await run([tcpFrame({ sport: 4013, dport: 443, seq: 1, payload: hello })], ['blocked.example'], { ports: '8443' });
    expect(r3.packets[0].verdict).toBe('PASS');
  });

  it('never blocks an exempt source (IPv4 and IPv6 prefixes)', async () => {
    const f4 = [tcpFrame({ sport: 4014, seq: 1, payload: hello, src: '10.9.0.77' })];
    const r = await run(f4, ['blocked.example'], { exempt: '10.9.0.0/24' });
    expect(r.packets[0].verdict).toBe('PASS');
    expect(r.packets[0].event!.verdict).toBe('exempt');
    expect(r.counters.exempted).toBe(1);
    const other = await run(f4, ['blocked.example'], { exempt: '10.9.1.0/24' });
    expect(other.packets[0].verdict).toBe('DROP');
    const f6 = [tcpFrame({ sport: 4015, seq: 1, payload: hello, v6: true, src: 'fd00:1::5' })];
    const r6 = await run(f6, ['blocked.example'], { exempt: 'fd00:1::/32' });
    expect(r6.packets[0].verdict).toBe('PASS');
    expect(r6.counters.exempted).toBe(1);
  });

  it('sends the RSTs for IPv6 and keeps VLAN tags', async () => {
    const f = tcpFrame({ sport: 4016, seq: 77, ack: 99, payload: hello, v6: true, vlans: [100] });
    const r = await run([f, f], ['blocked.example'], { rst: true });
    // the hello: on to the server as a RST
    expect(r.packets[0].verdict).toBe('PASS');
    const fwd = Buffer.from(r.packets[0].out!, 'hex');
    expect(fwd.readUInt16BE(12)).toBe(0x8100);
    const df = decode(fwd)!;
    expect([df.v6, df.sport, df.dport, df.seq, df.flags, df.payload.length]).toEqual([true, 4016, 443, 77, 0x14, 0]);
    // its retransmission: a RST back to the client
    expect(r.packets[1].verdict).toBe('TX');
    const out = Buffer.from(r.packets[1].out!, 'hex');
    expect(out.readUInt16BE(12)).toBe(0x8100);
    const d = decode(out)!;
    expect(d.v6).toBe(true);
    expect(d.sport).toBe(443);
    expect(d.dport).toBe(4016);
    expect(d.seq).toBe(99);
    expect(d.ack).toBe(77 + hello.length);
    expect(d.flags).toBe(0x14);
  });

  it('ignores pure ACKs and server-to-client packets', async () => {
    const r = await run([
      tcpFrame({ sport: 4017, seq: 1, flags: TCP_ACK }),
      tcpFrame({ sport: 443, dport: 4017, seq: 1, payload: hello }),
    ]);
    expect(r.packets.every((p) => p.verdict === 'PASS')).toBe(true);
    expect(r.counters.watched).toBe(0);
    // a segment without payload leaves on the fast path, which writes nothing
    expect(r.counters.packets).toBe(0);
  });
});
