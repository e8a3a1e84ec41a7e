// The domain table from the program's side. The tool puts a key at its
// first slot in its bucket, else at the next free one round the bucket
// (xsni_dom_first, bpf/cli/domtable.c), and the program's lookup goes
// round the bucket from that slot. In a half-full table (1,000,000 names,
// where many buckets are crowded and cuckoo kicks move keys), a sample of
// the listed names must all be found, wherever they landed: a lookup that
// skipped the last slot of the round missed 2 of this sample (watched).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBpf, mountBpffs, toolEnv, runTool, replay, writePcap, tcpFrame, clientHello, rmrf, tempDir } from './lib.js';

let b: Awaited<ReturnType<typeof mountBpffs>>;
let env: Record<string, string>;
let dir: string;
const N = 1_000_000;
const name = (i: number) => `n${i}.big.test`;

beforeAll(async () => {
  await buildBpf();
  b = await mountBpffs();
  env = toolEnv(b);
  dir = tempDir('xsni-table-');
  expect((await runTool(['init'], env)).code).toBe(0);
  const list = join(dir, 'million.txt');
  writeFileSync(list, Array.from({ length: N }, (_, i) => name(i)).join('\n') + '\n');
  const r = await runTool(['import', list], env);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await b?.cleanup();
  if (dir) rmrf(dir);
});

describe('the domain table, half full', () => {
  it('1,024 of 1,000,000 listed names are each blocked; 256 unlisted ones pass', async () => {
    const listed = Array.from({ length: 1024 }, (_, k) => name(k * 977));
    const unlisted = Array.from({ length: 256 }, (_, k) => name(N + k));
    const frames = [...listed, ...unlisted].map((n, k) => tcpFrame({ sport: 2000 + k, seq: 1000, payload: clientHello(n) }));
    const pcap = join(dir, 'sample.pcap');
    writePcap(pcap, frames);
    const r = await replay(pcap, { env, mode: 'block', rst: false });
    const verdicts = r.packets.map((p) => p.verdict);
    const missed = listed.filter((_, k) => verdicts[k] !== 'DROP');
    expect(missed).toEqual([]);
    expect(verdicts.slice(listed.length).filter((v) => v !== 'PASS')).toEqual([]);
    expect(r.counters.blocked).toBe(listed.length);
  }, 120_000);
});
