// Malformed input: none may crash, none may be blocked wrongly, and each
// must be counted.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import {
  decode,
  buildBpf, replay, writePcap, tcpFrame, clientHello, ext, sniExt, tempDir, rmrf, sniRange, prng, bySport,
  type ReplayResult,
} from './lib.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  await buildBpf();
  dir = tempDir('xsni-malformed-');
});
afterAll(() => rmrf(dir));

const NAME = 'blocked.example';
async function run(frames: Buffer[]): Promise<ReplayResult> {
  const p = join(dir, `m${n++}.pcap`);
  writePcap(p, frames);
  return replay(p, { blocklist: [NAME, 'other.example'] });
}
const one = (payload: Buffer, sport = 5000) => tcpFrame({ sport, seq: 1, payload });

describe('malformed ClientHellos', () => {
  const rec = clientHello(NAME);
  const r = sniRange(rec);

  it('truncated at every offset (then a gap): passes unless the name is complete, and counts each', async () => {
    const frames: Buffer[] = [];
    for (let k = 1; k < rec.length; k++) {
      frames.push(tcpFrame({ sport: 6000 + k, seq: 1, payload: rec.subarray(0, k) }));
      frames.push(tcpFrame({ sport: 6000 + k, seq: 1 + k + 100, payload: Buffer.from('late data') }));
    }
    const res = await run(frames);
    const flows = bySport(frames, res);
    for (let k = 1; k < rec.length; k++) {
      const pk = flows.get(6000 + k)!;
      if (k >= r.nameEnd) {
        expect(pk[0].verdict, `k=${k}`).toBe('DROP');
        expect(pk[0].sni).toBe(NAME);
      } else {
        expect(pk.map((p) => p.verdict), `k=${k}`).toEqual(['PASS', 'PASS']);
        expect(pk[0].event).toBeUndefined();
      }
    }
    expect(res.counters.given_up).toBe(r.nameEnd - 1);
    expect(res.counters.blocked).toBe(rec.length - r.nameEnd);
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

  const errorCases: [string, Buffer][] = [
    ['record length over 16 KB', clientHello(NAME, { recordLen: 0x4001 })],
    ['record length under a handshake header', clientHello(NAME, { recordLen: 3 })],
    ['handshake length larger than the record', clientHello(NAME, { hsLen: 0x4000 })],
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
    it(`${name}: passes and counts a parse error`, async () => {
      const res = await run([one(payload)]);
      expect(res.packets[0].verdict).toBe('PASS');
      expect(res.packets[0].event).toBeUndefined();
      expect(res.counters.parse_errors).toBe(1);
    });
  }

  it('an SNI extension listed twice: counted; the first name decides, the second never blocks', async () => {
    const twiceFirstOk = clientHello('fine.example', { after: [sniExt(NAME), ext(0x2b, Buffer.from([2, 3, 4]))] });
    const res = await run([one(twiceFirstOk)]);
    expect(res.packets[0].verdict).toBe('PASS');
    expect(res.packets[0].sni).toBe('fine.example');
    expect(res.counters.parse_errors).toBe(1);
  });

  it('non-ClientHello handshakes are counted and passed', async () => {
    const frames = [2, 4, 11, 16, 20].map((t, i) => one(clientHello(NAME, { hsType: t }), 5100 + i));
    const res = await run(frames);
    expect(res.packets.every((p) => p.verdict === 'PASS')).toBe(true);
    expect(res.counters.not_clienthello).toBe(5);
    expect(res.counters.sni_found).toBe(0);
  });

  it('ClientHellos without a host_name are counted and passed', async () => {
    const frames = [
      one(clientHello(NAME, { noSni: true }), 5200),
      one(clientHello(NAME, { sniExtension: sniExt(NAME, { nameType: 7 }) }), 5201),
    ];
    const res = await run(frames);
    expect(res.packets.every((p) => p.verdict === 'PASS')).toBe(true);
    expect(res.counters.no_sni).toBe(2);
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

  it('random bytes (with and without a handshake record header) never crash or block, and are counted', async () => {
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
    for (const p of res.packets) {
      if (p.verdict !== 'PASS') {
        // a mutated hello may still carry an intact, listed name: that is a correct block
        expect(p.sni).toBe(NAME);
      }
    }
    const c = res.counters;
    // past the flow filter: every segment that starts a handshake record
    // (half of the random ones, all the mutated hellos unless the first
    // byte was hit) and every segment of a flow with state
    const handshakes = frames.filter((f) => decode(f)!.payload[0] === 0x16).length;
    expect(c.watched).toBe(handshakes);
    expect(c.packets).toBeGreaterThanOrEqual(handshakes);
    expect(c.packets).toBeLessThan(frames.length);
    // every packet that started a handshake record ends up in exactly one outcome
    const outcomes = c.sni_found + c.parse_errors + c.not_clienthello + c.no_sni + c.given_up;
    expect(outcomes).toBeGreaterThanOrEqual(600);
  });
});
