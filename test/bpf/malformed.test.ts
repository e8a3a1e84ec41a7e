// Malformed input: none may crash, none may be blocked wrongly, and each
// must be counted. A ClientHello that yields no name is "unreadable": in
// block mode it is blocked (UNREADABLE=block, the default) or passed
// (UNREADABLE=pass), and logged either way; anything that is not a
// ClientHello passes.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import {
  decode,
  buildBpf, replay, writePcap, tcpFrame, clientHello, ext, sniExt, tempDir, rmrf, sniRange, prng, bySport,
  type ReplayResult, type ReplayOpts,
} from './lib.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  await buildBpf();
  dir = tempDir('xsni-malformed-');
});
afterAll(() => rmrf(dir));

const NAME = 'blocked.example';
/** out-of-order segments of a hello held (dropped) before it is unreadable:
 * XSNI_HOLD_MAX in bpf/xdp_sni.h */
const HOLD_MAX = 8;
async function run(frames: Buffer[], o: Partial<ReplayOpts> = {}): Promise<ReplayResult> {
  const p = join(dir, `m${n++}.pcap`);
  writePcap(p, frames);
  return replay(p, { blocklist: [NAME, 'other.example'], ...o });
}
const unreadableEvents = (res: ReplayResult, verdict: string) =>
  res.packets.filter((p) => p.event?.verdict === verdict && p.sni === '').length;
const one = (payload: Buffer, sport = 5000) => tcpFrame({ sport, seq: 1, payload });

describe('malformed ClientHellos', () => {
  const rec = clientHello(NAME);
  const r = sniRange(rec);

  it('truncated at every offset, then data past a gap: held while the name is incomplete, then unreadable', async () => {
    // the bytes after the cut never come; the client's later data (past the
    // gap) is dropped HOLD_MAX times, then the hello is judged unreadable
    const late = HOLD_MAX + 1;
    const frames: Buffer[] = [];
    for (let k = 1; k < rec.length; k++) {
      frames.push(tcpFrame({ sport: 6000 + k, seq: 1, payload: rec.subarray(0, k) }));
      for (let j = 0; j < late; j++)
        frames.push(tcpFrame({ sport: 6000 + k, seq: 1 + k + 100 + 10 * j, payload: Buffer.from('late data') }));
    }
    for (const unreadable of ['block', 'pass'] as const) {
      const res = await run(frames, { unreadable });
      const flows = bySport(frames, res);
      for (let k = 1; k < rec.length; k++) {
        const pk = flows.get(6000 + k)!;
        if (k >= r.nameEnd) {
          expect(pk[0].verdict, `k=${k}`).toBe('DROP');
          expect(pk[0].sni).toBe(NAME);
          expect(pk.slice(1).every((p) => p.verdict === 'DROP' && !p.event), `k=${k}`).toBe(true);
        } else {
          const want = ['PASS', ...Array(HOLD_MAX).fill('DROP'), unreadable === 'block' ? 'DROP' : 'PASS'];
          expect(pk.map((p) => p.verdict), `k=${k}`).toEqual(want);
          expect(pk.slice(0, -1).every((p) => !p.event), `k=${k}`).toBe(true);
          expect(pk[late].event?.verdict, `k=${k}`).toBe(`unreadable-${unreadable}`);
          expect(pk[late].sni).toBe('');
        }
      }
      const cut = r.nameEnd - 1;        // flows cut before the name's end
      expect(res.counters.reordered).toBe(cut * HOLD_MAX);
      expect(res.counters.unreadable).toBe(cut);
      expect(unreadableEvents(res, `unreadable-${unreadable}`)).toBe(cut);
      expect(res.counters.given_up).toBe(0);
      expect(res.counters.blocked).toBe(rec.length - r.nameEnd + (unreadable === 'block' ? cut : 0));
    }
  });

  it('monitor mode never holds a segment: a gap makes the hello unreadable at once, passed and logged', async () => {
    const frames = [
      tcpFrame({ sport: 6500, seq: 1, payload: rec.subarray(0, 20) }),
      tcpFrame({ sport: 6500, seq: 1 + 40, payload: rec.subarray(40) }),
    ];
    const res = await run(frames, { mode: 'monitor' });
    expect(res.packets.map((p) => p.verdict)).toEqual(['PASS', 'PASS']);
    expect(res.packets[1].event?.verdict).toBe('unreadable-pass');
    expect(res.counters.reordered).toBe(0);
    expect(res.counters.unreadable).toBe(1);
  });

  it('frames cut short by the capture (IP length larger than the frame) at every offset', async () => {
    const full = one(rec, 5001);
    const frames: Buffer[] = [];
    for (let k = 14; k < full.length; k++) frames.push(tcpFrame({ sport: 7000 + k, seq: 1, payload: rec }).subarray(0, k));
    const res = await run(frames);
    const payloadStart = full.length - rec.length;
    res.packets.forEach((p, i) => {
      const k = 14 + i;
      if (k - payloadStart >= r.nameEnd) expect(p.verdict, `k=${k}`).toBe('DROP');
      else expect(p.verdict, `k=${k}`).toBe('PASS');
    });
    expect(res.packets.length).toBe(full.length - 14);
  });

  // not a ClientHello record: passes, a parse error
  const recordErrors: [string, Buffer][] = [
    ['record length over 16 KB', clientHello(NAME, { recordLen: 0x4001 })],
    ['record length under a handshake header, and no record after it', clientHello(NAME, { recordLen: 3 })],
  ];
  for (const [name, payload] of recordErrors) {
    it(`${name}: passes and counts a parse error`, async () => {
      const res = await run([one(payload)]);
      expect(res.packets[0].verdict).toBe('PASS');
      expect(res.packets[0].event).toBeUndefined();
      expect(res.counters.parse_errors).toBe(1);
      expect(res.counters.unreadable).toBe(0);
    });
  }

  // a ClientHello that yields no name: unreadable
  const errorCases: [string, Buffer][] = [
    ['extensions length larger than the handshake', clientHello(NAME, { extsLen: 0x3000 })],
    ['a 64 KB extension before the SNI', clientHello(NAME, { before: [ext(0x0015, Buffer.alloc(40), 0xffff)] })],
    ['server_name extension longer than the extensions', clientHello(NAME, { sniExtension: ext(0, sniExt(NAME).subarray(4), 0x2000) })],
    ['server_name list longer than the extension', clientHello(NAME, { sniExtension: sniExt(NAME, { listLen: 0x400 }) })],
    ['host_name longer than the list', clientHello(NAME, { sniExtension: sniExt(NAME, { nameLen: 0x300 }) })],
    ['zero-length host_name', clientHello('', {})],
    ['host_name of 300 bytes', clientHello('a'.repeat(300))],
    ['session id length 33', (() => { const b = clientHello(NAME); b[5 + 4 + 34] = 33; return b; })()],
    ['cipher suites running past the handshake', (() => { const b = clientHello(NAME); b.writeUInt16BE(0xfff0, 5 + 4 + 34 + 33); return b; })()],
    ['odd cipher suites length', (() => { const b = clientHello(NAME); b.writeUInt16BE(7, 5 + 4 + 34 + 33); return b; })()],
  ];
  for (const [name, payload] of errorCases) {
    it(`${name}: a parse error, unreadable: blocked, or passed with UNREADABLE=pass, and logged`, async () => {
      const res = await run([one(payload)]);
      expect(res.packets[0].verdict).toBe('DROP');
      expect(res.packets[0].event?.verdict).toBe('unreadable-block');
      expect(res.packets[0].sni).toBe('');
      expect(res.counters.parse_errors).toBe(1);
      expect(res.counters.unreadable).toBe(1);
      expect(res.counters.blocked).toBe(1);
      const pass = await run([one(payload)], { unreadable: 'pass' });
      expect(pass.packets[0].verdict).toBe('PASS');
      expect(pass.packets[0].event?.verdict).toBe('unreadable-pass');
      expect(pass.counters.unreadable).toBe(1);
      expect(pass.counters.blocked).toBe(0);
      const mon = await run([one(payload)], { mode: 'monitor' });
      expect(mon.packets[0].verdict).toBe('PASS');
      expect(mon.packets[0].event?.verdict).toBe('unreadable-pass');
    });
  }

  it('a handshake longer than its record: read on, and the name in this record decides', async () => {
    // the rest would come in the next record; the name comes first
    const res = await run([one(clientHello(NAME, { hsLen: 0x2000 }))]);
    expect(res.packets[0].verdict).toBe('DROP');
    expect(res.packets[0].sni).toBe(NAME);
    expect(res.counters.parse_errors).toBe(0);
    expect(res.counters.clienthellos).toBe(1);
  });

  it('an unreadable hello from an exempt source passes', async () => {
    const res = await run([one(clientHello('a'.repeat(300)))], { exempt: '10.0.0.0/8' });
    expect(res.packets[0].verdict).toBe('PASS');
    expect(res.packets[0].event?.verdict).toBe('unreadable-pass');
    expect(res.counters.exempted).toBe(1);
  });

  // The walk stops at the name: a second server_name (which TLS servers
  // refuse: no extension may appear twice) or a malformed extension after
  // the name is never read, so it neither decides nor counts.
  it('an SNI extension listed twice: the first name decides, the second never blocks', async () => {
    const twiceFirstOk = clientHello('fine.example', { after: [sniExt(NAME), ext(0x2b, Buffer.from([2, 3, 4]))] });
    const res = await run([one(twiceFirstOk)]);
    expect(res.packets[0].verdict).toBe('PASS');
    expect(res.packets[0].sni).toBe('fine.example');
    expect(res.counters.parse_errors).toBe(0);
    const twiceFirstListed = clientHello(NAME, { after: [sniExt('fine.example')] });
    const r2 = await run([one(twiceFirstListed)]);
    expect(r2.packets[0].verdict).toBe('DROP');
    expect(r2.packets[0].sni).toBe(NAME);
  });

  it('a malformed extension after the name: the name is read and decides', async () => {
    const bad = clientHello(NAME, { after: [ext(0x2b, Buffer.from([2, 3, 4]), 0x7000)] });
    const res = await run([one(bad)]);
    expect(res.packets[0].verdict).toBe('DROP');
    expect(res.packets[0].sni).toBe(NAME);
    expect(res.counters.parse_errors).toBe(0);
  });

  it('non-ClientHello handshakes are counted and passed', async () => {
    const frames = [2, 4, 11, 16, 20].map((t, i) => one(clientHello(NAME, { hsType: t }), 5100 + i));
    const res = await run(frames);
    expect(res.packets.every((p) => p.verdict === 'PASS')).toBe(true);
    expect(res.counters.not_clienthello).toBe(5);
    expect(res.counters.sni_found).toBe(0);
  });

  it('ClientHellos without a host_name are counted and unreadable', async () => {
    const frames = [
      one(clientHello(NAME, { noSni: true }), 5200),
      one(clientHello(NAME, { sniExtension: sniExt(NAME, { nameType: 7 }) }), 5201),
    ];
    const res = await run(frames);
    expect(res.packets.map((p) => p.verdict)).toEqual(['DROP', 'DROP']);
    expect(unreadableEvents(res, 'unreadable-block')).toBe(2);
    expect(res.counters.no_sni).toBe(2);
    expect(res.counters.unreadable).toBe(2);
    const pass = await run(frames, { unreadable: 'pass' });
    expect(pass.packets.every((p) => p.verdict === 'PASS')).toBe(true);
    expect(unreadableEvents(pass, 'unreadable-pass')).toBe(2);
  });

  it('other TLS records and plain data are ignored', async () => {
    const appData = Buffer.concat([Buffer.from([0x17, 3, 3, 0, 40]), Buffer.alloc(40, 9)]);
    const http = Buffer.from('GET / HTTP/1.1\r\nHost: blocked.example\r\n\r\n');
    const res = await run([one(appData, 5300), one(http, 5301)]);
    expect(res.packets.every((p) => p.verdict === 'PASS')).toBe(true);
    // the flow filter passes them with one load: not even counted
    expect(res.counters.packets + res.counters.watched).toBe(0);
    expect(res.counters.clienthellos + res.counters.parse_errors).toBe(0);
  });

  it('random bytes (with and without a handshake record header) never crash, block only listed or unreadable hellos, and are counted', async () => {
    const rnd = prng(7);
    const frames: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const len = 1 + Math.floor(rnd() * 1400);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(rnd() * 256);
      if (i % 2 === 0 && len > 6) {
        b[0] = 0x16; b[1] = 3; b[2] = 1;
        if (i % 4 === 0) b[5] = 1;
      }
      frames.push(one(b, 8000 + i));
      // a follow-up segment so pending flows are resolved (gap or continuation)
      frames.push(tcpFrame({ sport: 8000 + i, seq: 1 + len + 1, payload: Buffer.from('x') }));
    }
    // random mutations of a real hello
    for (let i = 0; i < 400; i++) {
      const b = Buffer.from(rec);
      for (let k = 0; k < 3; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      frames.push(one(b, 9000 + i));
    }
    const res = await run(frames);
    expect(res.packets.length).toBe(frames.length);
    let held = 0;
    for (const p of res.packets) {
      if (p.verdict !== 'PASS') {
        // a mutated hello may still carry an intact, listed name: that is
        // a correct block; a hello with no readable name is unreadable; a
        // follow-up past a gap in a hello is held, one on a blocked flow dropped
        if (!p.event) held++;
        else if (p.event.verdict !== 'unreadable-block') expect(p.sni).toBe(NAME);
      }
    }
    expect(held).toBe(res.counters.reordered + res.counters.dropped_later);
    const c = res.counters;
    // past the flow filter: every segment that starts a handshake record
    // (half of the random ones, all the mutated hellos unless the first
    // byte was hit) and every segment of a flow with state
    const handshakes = frames.filter((f) => decode(f)!.payload[0] === 0x16).length;
    expect(c.watched).toBe(handshakes);
    expect(c.packets).toBeGreaterThanOrEqual(handshakes);
    expect(c.packets).toBeLessThan(frames.length);
    // every packet that started a handshake record ends up in exactly one
    // outcome (a name read is never also a parse error: the walk stops there)
    const outcomes = c.sni_found + c.parse_errors + c.not_clienthello + c.no_sni + c.given_up + c.reordered;
    expect(outcomes).toBe(handshakes);
  });
});
