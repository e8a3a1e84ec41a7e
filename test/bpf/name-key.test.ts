// The name key (xdp_sni.h) on the program's three paths, against the keys
// the tool writes: names of every length around the 8-byte word edges.
//   - a list with no "with subdomains" entry: one_hello hashes whole words;
//   - with one: one_hello reads byte by byte, a parent's key at each '.';
//   - a hello split before its name: decide() and its bpf_loop steps.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { buildBpf, replay, writePcap, tcpFrame, clientHello, segmentFrames, sniRange, tempDir, rmrf, type ReplayResult } from './lib.js';

let dir: string;
beforeAll(async () => {
  await buildBpf();
  dir = tempDir('xsni-key-');
});
afterAll(() => rmrf(dir));

/** a name of exactly n bytes: letters in mixed case, a '.' every 8 bytes
 * (never first or last) */
function nameOf(n: number, seed: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = String.fromCharCode(97 + ((seed * 7 + i * 5) % 26));
    s += i > 0 && i < n - 1 && (i + seed) % 8 === 7 ? '.' : i % 3 === 0 ? c.toUpperCase() : c;
  }
  return s;
}
const lengths = [...Array.from({ length: 40 }, (_, i) => i + 1), 63, 64, 65, 127, 128, 129, 247, 248, 249, 252, 253];

async function run(names: string[], list: string[], split: boolean): Promise<ReplayResult> {
  const frames: Buffer[] = [];
  names.forEach((n, i) => {
    const hello = clientHello(n);
    if (split) frames.push(...segmentFrames(hello, [sniRange(hello).nameStart - 3], { sport: 30000 + i }));
    else frames.push(tcpFrame({ sport: 30000 + i, seq: 1, payload: hello }));
  });
  const p = join(dir, `k${Math.random().toString(36).slice(2)}.pcap`);
  writePcap(p, frames);
  return replay(p, { blocklist: list });
}

/** verdicts by name, from each flow's event */
function verdicts(r: ReplayResult): string[] {
  return r.packets.filter((p) => p.event).map((p) => `${p.sni} ${p.event!.verdict}`);
}

describe('the name key on every path', () => {
  const names = lengths.map((n) => nameOf(n, n));
  // one byte changed at the start, in the middle and at the end: never a match
  const near = names.flatMap((n) => [0, n.length >> 1, n.length - 1].map((k) => n.slice(0, k) + (n[k] === 'z' || n[k] === 'Z' ? 'y' : 'z') + n.slice(k + 1)));

  for (const split of [false, true]) {
    it(`exact entries only, ${split ? 'split before the name (decide)' : 'one packet (whole words)'}: every listed name blocks, a byte changed passes`, async () => {
      const r = await run([...names, ...near], names, split);
      const want = [...names.map((n) => `${n.toLowerCase()} block`), ...near.map((n) => `${n.toLowerCase()} pass`)];
      // a near miss may repeat a listed name only when the byte it changed
      // was already that letter in another case: there is none here
      expect(verdicts(r)).toEqual(want);
    });

    it(`parents with subdomains, ${split ? 'split before the name (decide, bpf_loop)' : 'one packet (byte by byte)'}: a parent of every length blocks its subdomains`, async () => {
      const parents = lengths.filter((n) => n <= 240).map((n) => nameOf(n, n + 3).toLowerCase());
      const subs = parents.map((p, i) => `${nameOf(1 + (i % 11), i)}.${p}`.toUpperCase());
      const others = parents.map((p) => `w.x${p}`);
      const r = await run([...subs, ...others], [...parents.map((p) => `${p} subdomains`), 'unrelated.example'], split);
      // what a parent lists, by string (the generated names share suffixes)
      const listed = (n: string) => parents.some((p) => n === p || n.endsWith(`.${p}`));
      const want = [...subs, ...others].map((n) => n.toLowerCase()).map((n) => `${n} ${listed(n) ? 'block' : 'pass'}`);
      expect(want.filter((w) => w.endsWith('block')).length).toBeGreaterThanOrEqual(subs.length);
      expect(want.filter((w) => w.endsWith('pass')).length).toBeGreaterThan(others.length / 2);
      expect(verdicts(r)).toEqual(want);
    });
  }
});
