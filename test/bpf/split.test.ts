// Split sweeps: a real Chromium and a real Firefox ClientHello cut into two
// TCP segments at every byte offset, into three at a sample of offsets, and
// into many at small MSS. The SNI must be found at every split.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import {
  buildBpf, replay, readPcap, clientStreams, firstRecord, fixturesDir, writePcap, segmentFrames,
  tempDir, rmrf, sniRange, bySport, prng,
} from './lib.js';

let dir: string;
beforeAll(async () => {
  await buildBpf();
  dir = tempDir('xsni-split-');
});
afterAll(() => rmrf(dir));

const sources = [
  { name: 'chromium', file: 'chromium-www-sni-seg2.pcap' },
  { name: 'chromium-run1', file: 'chromium-www-run1.pcap' },
  { name: 'firefox', file: 'firefox-www-run1.pcap' },
];

function helloOf(file: string): Buffer {
  const s = clientStreams(readPcap(join(fixturesDir, file)));
  return firstRecord(s.find((x) => x.data[0] === 0x16)!.data);
}

async function sweep(tag: string, rec: Buffer, cutsList: number[][]) {
  const frames: Buffer[] = [];
  const ports: number[] = [];
  cutsList.forEach((cuts, i) => {
    const sport = 10000 + i;
    ports.push(sport);
    frames.push(...segmentFrames(rec, cuts, { sport, isn: 0xfffff000 + i * 7 })); // seq wraps for some
  });
  const pcap = join(dir, `${tag}.pcap`);
  writePcap(pcap, frames);
  const r = await replay(pcap, { blocklist: ['www.example.com'] });
  return { r, flows: bySport(frames, r), ports };
}

describe('split sweeps', () => {
  for (const src of sources) {
    describe(src.name, () => {
      const rec = helloOf(src.file);
      const sni = sniRange(rec);

      it(`record is a real multi-KB hello (${src.file})`, () => {
        expect(rec.length).toBeGreaterThan(1800);
        expect(rec.subarray(sni.nameStart, sni.nameEnd).toString()).toBe('www.example.com');
      });

      it('two segments, cut at every byte offset', async () => {
        const cuts = Array.from({ length: rec.length - 1 }, (_, i) => [i + 1]);
        const { r, flows, ports } = await sweep(`${src.name}-2`, rec, cuts);
        const bad: string[] = [];
        ports.forEach((p, i) => {
          const pk = flows.get(p)!;
          const cut = cuts[i][0];
          const evs = pk.filter((x) => x.event);
          const segs = cut >= sni.nameEnd ? 1 : 2;
          if (evs.length !== 1 || evs[0].sni !== 'www.example.com' || evs[0].event!.segments !== segs ||
              evs[0].verdict !== 'DROP' || pk[1].verdict !== 'DROP' || (segs === 2 && pk[0].verdict !== 'PASS'))
            bad.push(`cut ${cut}: ${JSON.stringify(pk)}`);
        });
        expect(bad.slice(0, 3)).toEqual([]);
        expect(r.counters.sni_found).toBe(cuts.length);
        expect(r.counters.blocked).toBe(cuts.length);
        expect(r.counters.parse_errors + r.counters.given_up).toBe(0);
      });

      it('three segments at a sample of offset pairs, dense around the SNI', async () => {
        const pairs: number[][] = [];
        for (let a = 1; a < rec.length - 1; a += 41)
          for (let b = a + 1; b < rec.length; b += 53) pairs.push([a, b]);
        for (let a = sni.extStart - 6; a <= sni.nameEnd + 2; a++)
          for (let b = a + 1; b <= Math.min(a + 30, rec.length - 1); b++) pairs.push([a, b]);
        const rnd = prng(42);
        for (let i = 0; i < 300; i++) {
          const a = 1 + Math.floor(rnd() * (rec.length - 2));
          const b = a + 1 + Math.floor(rnd() * (rec.length - a - 1));
          pairs.push([a, b]);
        }
        const { r, flows, ports } = await sweep(`${src.name}-3`, rec, pairs);
        const bad: string[] = [];
        ports.forEach((p, i) => {
          const evs = flows.get(p)!.filter((x) => x.event);
          const [a, b] = pairs[i];
          const segs = a >= sni.nameEnd ? 1 : b >= sni.nameEnd ? 2 : 3;
          if (evs.length !== 1 || evs[0].sni !== 'www.example.com' || evs[0].event!.segments !== segs || evs[0].verdict !== 'DROP')
            bad.push(`cuts ${a},${b}`);
        });
        expect(bad.slice(0, 5)).toEqual([]);
        expect(r.counters.sni_found).toBe(pairs.length);
      });

      it('many segments at small MSS (536, 200, 100, 64 bytes)', async () => {
        const lists = [536, 200, 100, 64].map((mss) => {
          const c: number[] = [];
          for (let o = mss; o < rec.length; o += mss) c.push(o);
          return c;
        });
        const { r, flows, ports } = await sweep(`${src.name}-mss`, rec, lists);
        ports.forEach((p, i) => {
          const evs = flows.get(p)!.filter((x) => x.event);
          expect(evs.length, `mss list ${i}`).toBe(1);
          expect(evs[0].sni).toBe('www.example.com');
          expect(evs[0].event!.segments).toBe(lists[i].filter((c) => c < sni.nameEnd).length + 1);
        });
        expect(r.counters.given_up).toBe(0);
      });
    });
  }
});
