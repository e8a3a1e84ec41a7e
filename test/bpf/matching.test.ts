// Matching table: exact names, subdomains, lookalikes, case, trailing dots,
// 253-byte names and punycode.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { buildBpf, replay, writePcap, tcpFrame, clientHello, tempDir, rmrf, type ReplayResult } from './lib.js';

let dir: string;
beforeAll(async () => {
  await buildBpf();
  dir = tempDir('xsni-match-');
});
afterAll(() => rmrf(dir));

// a 253-byte name: 3 x 63-byte labels + 61-byte label + dots
const l63 = (c: string) => c.repeat(63);
const long253 = `${l63('a')}.${l63('b')}.${l63('c')}.${'d'.repeat(61)}`;
const long253b = `${l63('a')}.${l63('b')}.${l63('c')}.${'d'.repeat(60)}e`;

const list = [
  'example.com subdomains',
  'exact.test',
  '*.wild.test',
  'xn--bcher-kva.example',
  'Mixed.Case.Test.',
  long253,
];

// [SNI on the wire, expected event verdict, expected normalised SNI]
const table: [string, 'block' | 'pass', string?][] = [
  ['example.com', 'block'],
  ['www.example.com', 'block'],
  ['a.b.example.com', 'block'],
  ['notexample.com', 'pass'],
  ['example.com.evil.net', 'pass'],
  ['xexample.com', 'pass'],
  ['com', 'pass'],
  ['example.co', 'pass'],
  ['WWW.EXAMPLE.COM', 'block', 'www.example.com'],
  ['www.ExAmPlE.cOm', 'block', 'www.example.com'],
  ['www.example.com.', 'block', 'www.example.com'],
  ['exact.test', 'block'],
  ['EXACT.TEST.', 'block', 'exact.test'],
  ['www.exact.test', 'pass'],
  ['xexact.test', 'pass'],
  ['exact.test.com', 'pass'],
  ['wild.test', 'block'],
  ['deep.x.wild.test', 'block'],
  ['notwild.test', 'pass'],
  ['xn--bcher-kva.example', 'block'],
  ['XN--BCHER-KVA.EXAMPLE', 'block', 'xn--bcher-kva.example'],
  ['www.xn--bcher-kva.example', 'pass'],
  ['mixed.case.test', 'block'],
  ['MIXED.case.TEST.', 'block', 'mixed.case.test'],
  [long253, 'block'],
  [long253.toUpperCase() + '.', 'block', long253],
  [long253b, 'pass'],
  ['sub.' + long253.slice(4), 'pass'],
];

describe('matching table', () => {
  let res: ReplayResult;
  beforeAll(async () => {
    const frames = table.map(([sni], i) => tcpFrame({ sport: 20000 + i, seq: 1, payload: clientHello(sni) }));
    frames.push(tcpFrame({ sport: 21000, seq: 1, payload: clientHello(Buffer.from('bücher.example', 'utf8')) }));
    frames.push(tcpFrame({ sport: 21001, seq: 1, payload: clientHello('x'.repeat(254)) }));
    const p = join(dir, 'table.pcap');
    writePcap(p, frames);
    res = await replay(p, { blocklist: list });
  });

  table.forEach(([sni, verdict, norm], i) => {
    it(`${sni.length > 40 ? sni.slice(0, 20) + '…(' + sni.length + ' bytes)' : sni} → ${verdict}`, () => {
      const p = res.packets[i];
      expect(p.event).toBeDefined();
      expect(p.event!.verdict).toBe(verdict);
      expect(p.verdict).toBe(verdict === 'block' ? 'DROP' : 'PASS');
      expect(p.sni).toBe(norm ?? sni);
    });
  });

  it('raw UTF-8 on the wire never matches the punycode entry', () => {
    const p = res.packets[table.length];
    expect(p.verdict).toBe('PASS');
    expect(p.event!.verdict).toBe('pass');
  });

  it('a 254-byte name (no trailing dot) is no DNS name: a parse error, unreadable (blocked), not a match', () => {
    expect(res.packets[table.length + 1].verdict).toBe('DROP');
    expect(res.packets[table.length + 1].event?.verdict).toBe('unreadable-block');
    expect(res.packets[table.length + 1].sni).toBe('');
    expect(res.counters.parse_errors).toBe(1);
    expect(res.counters.unreadable).toBe(1);
  });

  it('counts matched and blocked (the unreadable 254-byte name among the blocked)', () => {
    const blocks = table.filter((t) => t[1] === 'block').length;
    expect(res.counters.matched).toBe(blocks);
    expect(res.counters.blocked).toBe(blocks + 1);
  });

  it('the same verdicts in monitor mode are logged but pass', async () => {
    const frames = table.map(([sni], i) => tcpFrame({ sport: 22000 + i, seq: 1, payload: clientHello(sni) }));
    const p = join(dir, 'table-monitor.pcap');
    writePcap(p, frames);
    const m = await replay(p, { blocklist: list, mode: 'monitor' });
    table.forEach(([, verdict], i) => {
      expect(m.packets[i].verdict).toBe('PASS');
      expect(m.packets[i].event!.verdict).toBe(verdict === 'block' ? 'monitor' : 'pass');
    });
  });
});
